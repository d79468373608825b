import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { manualClock, sequenceRandom } from '../core/index.js';
import { fileAuditSpool, memoryAuditSpool, openSqliteStore } from '../store/index.js';
import { AuditLog, GENESIS_HASH, hashEvent, verifyChain, type AuditEvent, type AuditRepo } from './index.js';

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
  it('pipelined: the batch behind one in flight is chained and staged at once, and committed only once that one is stored', async () => {
    const store = await openSqliteStore(':memory:');
    const g = gated(store.audit);
    const log = await AuditLog.open(g.repo, 'main', manualClock(), sequenceRandom());
    // A burst at an idle store: its first half is written at once, the second staged behind it.
    const burst = Array.from({ length: 64 }, (_, n) => log.record({ type: 'decision', data: { n } }));
    await turns();
    assert.deepEqual(g.writes.map((w) => [w.staged, w.events[0]!.seq, w.events.length]), [[false, 1, 32], [true, 33, 32]]);
    assert.equal(g.writes[1]!.events[0]!.prevHash, g.writes[0]!.events[31]!.hash);
    const late = log.record({ type: 'decision', data: { n: 64 } });
    g.writes[1]!.settle();
    await turns();
    assert.equal(g.commits.length, 0, 'staged, but not committed before the batch ahead of it is stored');
    assert.equal(g.writes.length, 2, 'nothing more is chained while a batch waits behind the one written');
    g.writes[0]!.settle();
    await turns();
    assert.equal(log.head.seq, 32, 'the head is what is stored, not what is chained');
    assert.deepEqual(g.commits.map((c) => c.events[0]!.seq), [33]);
    assert.deepEqual(g.writes.map((w) => [w.staged, w.events[0]!.seq]).slice(2), [[true, 65]], 'the next batch is staged behind the commit');
    g.commits[0]!.settle();
    g.writes[2]!.settle();
    await turns();
    g.commits[1]!.settle();
    assert.deepEqual(new Set(await Promise.all([...burst, late])), new Set(['stored']));
    assert.deepEqual(g.abandoned, []);
    assert.deepEqual((await store.audit.list({ segment: 'main', limit: 100 })).map((e) => e.data.n), range(0, 64));
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('pipelined: a failed write fails the batch staged behind it, never committed, and later records chain from what is stored', async () => {
    const store = await openSqliteStore(':memory:');
    const g = gated(store.audit);
    const faults: unknown[] = [];
    const log = await AuditLog.open(g.repo, 'main', manualClock(), sequenceRandom(), { onStoreFault: (e) => faults.push(e) });
    const first = log.record({ type: 'decision', data: { n: 0 } });
    await turns();
    g.writes[0]!.settle();
    await first;
    const burst = Array.from({ length: 64 }, (_, n) => log.record({ type: 'decision', data: { n: n + 1 } }).then(String, (e: Error) => e.message));
    await turns();
    assert.deepEqual(g.writes.slice(1).map((w) => [w.staged, w.events[0]!.seq]), [[false, 2], [true, 34]]);
    g.writes[2]!.settle();
    g.writes[1]!.settle(new Error('disk full'));
    assert.deepEqual(await Promise.all(burst), Array.from({ length: 64 }, () => 'disk full'), 'never acknowledged: neither the failed batch nor the one behind it');
    await turns();
    assert.deepEqual([g.commits.length, g.abandoned], [0, [34]], 'the staged batch is rolled back, never committed');
    assert.equal(faults.length, 1);
    const after = log.record({ type: 'decision', data: { n: 65 } });
    await turns();
    assert.deepEqual(g.writes.slice(3).map((w) => [w.staged, w.events[0]!.seq, w.events[0]!.prevHash]), [[false, 2, g.writes[0]!.events[0]!.hash]], 'chained on the stored head, no gap');
    g.writes[3]!.settle();
    assert.equal(await after, 'stored');
    assert.deepEqual((await store.audit.list({ segment: 'main' })).map((e) => [e.seq, e.data.n]), [[1, 0], [2, 65]]);
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('pipelined: a staged batch the store refuses fails alone, after the batch ahead of it is stored', async () => {
    const store = await openSqliteStore(':memory:');
    const g = gated(store.audit);
    const log = await AuditLog.open(g.repo, 'main', manualClock(), sequenceRandom());
    const burst = Array.from({ length: 64 }, (_, n) => log.record({ type: 'decision', data: { n } }).then(String, (e: Error) => e.message));
    await turns();
    g.writes[1]!.settle(new Error('duplicate key'));
    g.writes[0]!.settle();
    const outcomes = await Promise.all(burst);
    assert.deepEqual([outcomes.slice(0, 32), outcomes.slice(32)], [Array.from({ length: 32 }, () => 'stored'), Array.from({ length: 32 }, () => 'duplicate key')]);
    assert.equal(g.commits.length, 0);
    assert.deepEqual((await store.audit.list({ segment: 'main', limit: 100 })).map((e) => e.seq), range(1, 32));
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });

  it('pipelined with a spool: a failed write and the batch staged behind it are spooled in order, and replayed so', async () => {
    const store = await openSqliteStore(':memory:');
    const g = gated(store.audit);
    const log = await AuditLog.open(g.repo, 'main', manualClock(), sequenceRandom(), { spool: memoryAuditSpool() });
    const burst = Array.from({ length: 64 }, (_, n) => log.record({ type: 'decision', data: { n } }));
    await turns();
    g.writes[1]!.settle();
    g.writes[0]!.settle(new Error('disk full'));
    assert.deepEqual(new Set(await Promise.all(burst)), new Set(['spooled']));
    await turns();
    assert.deepEqual([g.commits.length, g.abandoned], [0, [33]]);
    const replayed = log.replay();
    await turns();
    g.writes[2]!.settle();
    assert.equal(await replayed, true);
    assert.deepEqual((await store.audit.list({ segment: 'main', limit: 100 })).map((e) => e.data.n), range(0, 63));
    assert.equal((await verifyChain(store.audit)).ok, true);
    await store.close();
  });
});

interface Gate {
  events: readonly AuditEvent[];
  settle: (err?: Error) => void;
}

/**
 * A store that can stage, whose every step waits until the test settles it: appends and
 * stages (`writes`, in the order asked), then commits. A settled write or commit is stored.
 */
function gated(audit: AuditRepo): { repo: AuditRepo; writes: (Gate & { staged: boolean })[]; commits: Gate[]; abandoned: number[] } {
  const writes: (Gate & { staged: boolean })[] = [];
  const commits: Gate[] = [];
  const abandoned: number[] = [];
  const step = <T>(list: Gate[], events: readonly AuditEvent[], done: () => Promise<T>, extra: object = {}) =>
    new Promise<T>((resolve, reject) => void list.push({ events, settle: (err) => (err ? reject(err) : done().then(resolve, reject)), ...extra }));
  const repo: AuditRepo = {
    ...audit,
    append: (events) => step(writes, events, () => audit.append(events), { staged: false }),
    stage: (events) =>
      step(writes, events, async () => ({ commit: () => step(commits, events, () => audit.append(events)), abandon: async () => void abandoned.push(events[0]!.seq) }), { staged: true }),
  };
  return { repo, writes, commits, abandoned };
}

/** Lets the log's turns run: its setImmediate, then what follows. */
async function turns(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
