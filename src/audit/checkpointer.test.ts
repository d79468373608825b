import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock, sequenceRandom } from '../core/index.js';
import { openSqliteStore } from '../store/index.js';
import { AuditCheckpointer, AuditLog, type WitnessedCheckpoint } from './index.js';

test('a checkpoint is made while records keep arriving: it covers what is stored, not what is queued', async () => {
  const store = await openSqliteStore(':memory:');
  const log = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom());
  const witnessed: WitnessedCheckpoint[] = [];
  const checkpointer = await AuditCheckpointer.start({
    log,
    repo: store.audit,
    clock: manualClock(),
    sign: async () => ({ jws: 'x.y.z', jwk: {} }),
    witnesses: [{ name: 'memory', append: async (c) => void witnessed.push(c), read: async () => witnessed }],
    everyEvents: 1_000_000,
    everyMs: 3_600_000,
  });
  try {
    for (let i = 0; i < 50; i++) await log.record({ type: 'decision', data: { i } });
    // A steady stream: a new record queued every time one is stored, so the queue never drains.
    let recording = true;
    let recorded = 0;
    const stream = (async () => {
      const pending: Promise<unknown>[] = [];
      while (recording && recorded < 100_000) {
        pending.push(log.record({ type: 'decision', data: { n: recorded++ } }));
        if (pending.length >= 64) await pending.shift();
      }
      await Promise.all(pending);
    })();
    await checkpointer.checkpoint();
    recording = false;
    await stream;
    assert.equal(witnessed.length, 1, 'the checkpoint was made and witnessed while records arrived');
    assert.ok(witnessed[0]!.seq >= 50 && witnessed[0]!.seq < 50 + recorded, `it covers what was stored then (seq ${witnessed[0]!.seq} of ${50 + recorded})`);
  } finally {
    checkpointer.abandon();
    await log.flush();
    await store.close();
  }
});
