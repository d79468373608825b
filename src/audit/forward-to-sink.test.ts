import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock, sequenceRandom } from '../core/index.js';
import { openSqliteStore, type Store } from '../store/index.js';
import { AuditForwarder, AuditLog, ownSegments, type AuditDestination, type AuditEvent, type SinkCursor } from './index.js';

function settingsCursor(store: Store): SinkCursor {
  return {
    delivered: async (segment) => Number((await store.settings.get(`cursor:${segment}`)) ?? 0),
    setDelivered: (segment, seq) => store.settings.set(`cursor:${segment}`, String(seq)),
  };
}

/** A destination that refuses every `failEvery`-th delivery, keeping what it took. */
function flakyDestination(failEvery: number): AuditDestination & { got: AuditEvent[]; attempts: number } {
  const d = {
    name: 'memory',
    got: [] as AuditEvent[],
    attempts: 0,
    async deliver(events: readonly AuditEvent[]) {
      d.attempts += 1;
      if (failEvery > 0 && d.attempts % failEvery === 0) throw new Error('HTTP 503');
      d.got.push(...events);
    },
  };
  return d;
}

function forwarder(store: Store, destination: AuditDestination, segments: string[]): AuditForwarder {
  return AuditForwarder.start({ repo: store.audit, cursor: settingsCursor(store), destination, segments, batchEvents: 4, backoffMs: 5, maxBackoffMs: 20, pollMs: 10 });
}

describe('forwarding the trail to a sink', () => {
  it('delivers every event in seq order despite failures, and resumes from the stored cursor', async () => {
    const store = await openSqliteStore(':memory:');
    const log = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom());
    for (let i = 0; i < 10; i++) await log.record({ type: 'decision', data: { i } });
    const first = flakyDestination(2);
    let f = forwarder(store, first, ['main']);
    log.whenStored(() => f.nudge());
    await f.caughtUp();
    assert.deepEqual(first.got.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(first.attempts > 3, 'failed deliveries were retried');
    await f.stop();

    // Recorded while nothing delivers, then a new forwarder (a restart) on the same store.
    for (let i = 10; i < 13; i++) await log.record({ type: 'decision', data: { i } });
    const second = flakyDestination(0);
    f = forwarder(store, second, ['main']);
    await f.caughtUp();
    assert.deepEqual(second.got.map((e) => e.seq), [11, 12, 13], 'only what was not delivered before');
    await f.stop();
    await store.close();
  });

  it('stops while the sink keeps failing, without marking anything delivered', async () => {
    const store = await openSqliteStore(':memory:');
    const log = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom());
    await log.record({ type: 'decision', data: {} });
    const down = flakyDestination(1);
    const f = forwarder(store, down, ['main']);
    while (down.attempts < 3) await new Promise((r) => setTimeout(r, 5));
    await f.stop(50);
    assert.equal(await settingsCursor(store).delivered('main'), 0);
    await store.close();
  });

  it('a writer delivers its own segment and its restarts, oldest first, not another writer\'s', () => {
    assert.deepEqual(ownSegments(['main', 'main.2', 'main:r2', 'main:r10', 'main:rx', 'other'], 'main', 'main:r10'), ['main', 'main:r2', 'main:r10']);
    assert.deepEqual(ownSegments([], 'main', 'main'), ['main']);
  });
});
