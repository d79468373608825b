import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { manualClock, sequenceRandom } from '../core/index.js';
import { fileAuditSpool, memoryAuditSpool, openSqliteStore } from '../store/index.js';
import { AuditLog, GENESIS_HASH, hashEvent, verifyChain } from './index.js';

describe('audit log', () => {
  it('chains events from genesis, group-commits concurrent records and verifies', async () => {
    const store = await openSqliteStore(':memory:');
    const log = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom());
    await Promise.all(Array.from({ length: 25 }, (_, i) => log.record({ type: 'decision', data: { i } })));
    const events = await store.audit.list({ segment: 'main', limit: 100 });
    assert.deepEqual(events.map((e) => e.seq), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal(events[0]?.prevHash, GENESIS_HASH);
    events.slice(1).forEach((e, i) => assert.equal(e.prevHash, events[i]?.hash));
    const report = await verifyChain(store.audit);
    assert.deepEqual({ ok: report.ok, events: report.segments[0]?.events }, { ok: true, events: 25 });

    // A reopened log continues the same chain.
    const reopened = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom('re'));
    await reopened.record({ type: 'policy.loaded', data: {} });
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('reports the first broken link: edited data, a deleted event, a re-hashed forgery', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-audit-'));
    const file = join(dir, 'm.db');
    const store = await openSqliteStore(file);
    const log = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom());
    for (let i = 0; i < 5; i++) await log.record({ type: 'decision', data: { outcome: 'deny', i } });
    const raw = new SQLite(file);
    const tamper = async (sqlText: string, expected: { seq: number; reason: string } | null) => {
      raw.exec(sqlText);
      const r = await verifyChain(store.audit);
      assert.deepEqual(r.broken && { seq: r.broken.seq, reason: r.broken.reason }, expected, sqlText);
    };
    const original = raw.prepare("SELECT data FROM audit_events WHERE seq = 3").get() as { data: string };
    await tamper(`UPDATE audit_events SET data = '{"outcome":"allow","i":2}' WHERE seq = 3`, { seq: 3, reason: 'hash_mismatch' });
    await tamper(`UPDATE audit_events SET data = '${original.data}' WHERE seq = 3`, null);
    // A forger who recomputes the edited event's hash still breaks the next link.
    const e3 = (await store.audit.list({ segment: 'main', afterSeq: 2, limit: 1 }))[0]!;
    const forged = { ...e3, data: { outcome: 'allow', i: 2 } };
    await tamper(`UPDATE audit_events SET data = '${JSON.stringify(forged.data)}', hash = '${hashEvent(forged)}' WHERE seq = 3`, { seq: 4, reason: 'prev_hash_mismatch' });
    await tamper(`UPDATE audit_events SET data = '${original.data}', hash = '${e3.hash}' WHERE seq = 3`, null);
    await tamper('DELETE FROM audit_events WHERE seq = 2', { seq: 2, reason: 'seq_gap' });
    raw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a failed write rejects its callers and the chain stays verifiable', async () => {
    const store = await openSqliteStore(':memory:');
    let fail = true;
    const flaky = { ...store.audit, append: async (events: Parameters<typeof store.audit.append>[0]) => (fail ? Promise.reject(new Error('disk full')) : store.audit.append(events)) };
    const log = await AuditLog.open(flaky, 'main', manualClock(), sequenceRandom());
    await assert.rejects(log.record({ type: 'decision', data: { n: 1 } }), /disk full/);
    fail = false;
    await log.record({ type: 'decision', data: { n: 2 } });
    const events = await store.audit.list({ segment: 'main' });
    assert.deepEqual(events.map((e) => [e.seq, e.data.n]), [[1, 2]]);
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('with a spool: a failed write is spooled, later records queue behind it, and replay stores them in order', async () => {
    const store = await openSqliteStore(':memory:');
    let fail = false;
    const faults: unknown[] = [];
    const flaky = { ...store.audit, append: async (events: Parameters<typeof store.audit.append>[0]) => (fail ? Promise.reject(new Error('disk full')) : store.audit.append(events)) };
    const log = await AuditLog.open(flaky, 'main', manualClock(), sequenceRandom(), { spool: memoryAuditSpool(), onStoreFault: (e) => faults.push(e) });
    assert.equal(await log.record({ type: 'decision', data: { n: 1 } }), 'stored');
    fail = true;
    assert.deepEqual(await Promise.all([2, 3].map((n) => log.record({ type: 'decision', data: { n } }))), ['spooled', 'spooled']);
    assert.equal(log.spooling, true);
    assert.equal(faults.length, 1);
    fail = false;
    // Still spooling: nothing may overtake what waits in the spool.
    assert.equal(await log.record({ type: 'decision', data: { n: 4 } }), 'spooled');
    assert.equal(await log.replay(), true);
    assert.equal(await log.record({ type: 'decision', data: { n: 5 } }), 'stored');
    const events = await store.audit.list({ segment: 'main' });
    assert.deepEqual(events.map((e) => [e.seq, e.data.n]), [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('a write that timed out but landed is not stored twice by the replay', async () => {
    const store = await openSqliteStore(':memory:');
    let slow = false;
    let landed: Promise<void> | undefined;
    const hanging = {
      ...store.audit,
      append: (events: Parameters<typeof store.audit.append>[0]) => {
        if (!slow) return store.audit.append(events);
        // Lands in the store, but only after the caller stopped waiting (a black-holed answer).
        landed = new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => store.audit.append(events));
        return landed;
      },
    };
    const log = await AuditLog.open(hanging, 'main', manualClock(), sequenceRandom(), { spool: memoryAuditSpool(), appendTimeoutMs: 10 });
    await log.record({ type: 'decision', data: { n: 1 } });
    slow = true;
    assert.equal(await log.record({ type: 'decision', data: { n: 2 } }), 'spooled');
    await landed;
    slow = false;
    assert.equal(await log.replay(), true);
    const events = await store.audit.list({ segment: 'main' });
    assert.deepEqual(events.map((e) => e.data.n), [1, 2]);
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('a spool left by a crash is replayed when the log opens; a torn last line (never acknowledged) is dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-spool-'));
    const store = await openSqliteStore(':memory:');
    const file = join(dir, 'spool.jsonl');
    const failing = { ...store.audit, append: async () => Promise.reject(new Error('read-only file system')) };
    const before = await AuditLog.open(failing, 'main', manualClock(), sequenceRandom('a'), { spool: fileAuditSpool(file) });
    for (const n of [1, 2, 3]) assert.equal(await before.record({ type: 'decision', data: { n } }), 'spooled');
    appendFileSync(file, '{"id":"evt_torn","atMs":1,"ty');
    const after = await AuditLog.open(store.audit, 'main', manualClock(), sequenceRandom('b'), { spool: fileAuditSpool(file) });
    assert.equal(after.spooling, false);
    assert.equal(readFileSync(file, 'utf8'), '');
    assert.deepEqual((await store.audit.list({ segment: 'main' })).map((e) => e.data.n), [1, 2, 3]);
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
