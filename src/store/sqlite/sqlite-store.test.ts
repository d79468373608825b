import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { GENESIS_HASH, type AuditEvent } from '../../audit/index.js';
import type { EventId, TaskId } from '../../core/index.js';
import { startCheckpointer } from './checkpointer.js';
import { openSqliteStore } from './index.js';
import { taskFixture } from '../../../test/fixtures/task.js';

function taskRow(id: TaskId, expiresAtMs = 10 ** 13) {
  return taskFixture(id, { createdAtMs: 1, expiresAtMs });
}

let seq = 0;
const batch = (taskId: TaskId): AuditEvent[] => [{ segment: 's', seq: ++seq, id: `evt_${String(seq).padStart(12, '0')}` as EventId, type: 'decision', atMs: 1, taskId, agentId: null, data: {}, prevHash: GENESIS_HASH, hash: 'h' }];

describe('embedded store: call counts kept in memory, written with the audit batch', () => {
  it('an ended task’s count leaves memory once written; a count not yet written is never dropped', async () => {
    const store = await openSqliteStore(':memory:');
    const a = 'tsk_endedcountaa' as TaskId;
    const b = 'tsk_endedcountbb' as TaskId;
    await store.tasks.insert(taskRow(a));
    await store.tasks.insert(taskRow(b));
    assert.equal(await store.tasks.incrementCalls(a, null), 1);
    await store.audit.append(batch(a));
    assert.equal(await store.tasks.incrementCalls(b, null), 1); // not written yet
    assert.equal(store.liveCounts(), 2);
    await store.tasks.end(a, 'completed', 2, 'done');
    assert.equal(store.liveCounts(), 1, 'a written count of an ended task is dropped at once');
    await store.tasks.end(b, 'completed', 2, 'done');
    assert.equal(store.liveCounts(), 1, 'the unwritten count stays until the audit batch writes it');
    await store.audit.append(batch(b));
    assert.equal(store.liveCounts(), 0);
    assert.deepEqual([(await store.tasks.get(a))?.callCount, (await store.tasks.get(b))?.callCount], [1, 1]);
    assert.equal(await store.tasks.incrementCalls(b, null), undefined);
    assert.equal(store.liveCounts(), 0, 'a call on an ended task keeps nothing');
    await store.close();
  });

  it('beyond its capacity, written counts are dropped least recently used first and read back exactly', async () => {
    const store = await openSqliteStore(':memory:', { maxLiveCounts: 10 });
    const ids = Array.from({ length: 50 }, (_, i) => `tsk_capacity${String(i).padStart(4, '0')}` as TaskId);
    for (const id of ids) await store.tasks.insert(taskRow(id));
    for (let round = 1; round <= 3; round++) {
      for (const id of ids) {
        assert.equal(await store.tasks.incrementCalls(id, null), round);
        await store.audit.append(batch(id));
      }
      assert.ok(store.liveCounts() <= 11, `${store.liveCounts()} counts in memory`);
    }
    await store.close();
  });

  it('the written counts of expired tasks are dropped', async () => {
    let now = 1000;
    const store = await openSqliteStore(':memory:', { nowMs: () => now });
    const old = 'tsk_expiresoon01' as TaskId;
    const other = 'tsk_expireslater' as TaskId;
    await store.tasks.insert(taskRow(old, 2000));
    await store.tasks.insert(taskRow(other, 10 ** 13));
    await store.tasks.incrementCalls(old, null);
    await store.audit.append(batch(old));
    now = 2000;
    await store.tasks.incrementCalls(other, null);
    assert.equal(store.liveCounts(), 1);
    await store.close();
  });

  it('counts survive a restart, whether written by an audit batch or at close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-sqlite-'));
    const file = join(dir, 'm.db');
    const id = 'tsk_countsurvive1' as TaskId;
    let store = await openSqliteStore(file);
    await store.tasks.insert(taskRow(id));
    assert.equal(await store.tasks.incrementCalls(id, 5), 1);
    assert.equal(await store.tasks.incrementCalls(id, 5), 2);
    assert.equal((await store.tasks.get(id))?.callCount, 2, 'reads see the live count');
    await store.audit.append([{ segment: 's', seq: 1, id: 'evt_000000000001' as EventId, type: 'decision', atMs: 1, taskId: id, agentId: null, data: {}, prevHash: GENESIS_HASH, hash: 'h' }]);
    assert.equal(await store.tasks.incrementCalls(id, 5), 3);
    await store.close(); // the third count has no audit batch after it: close writes it
    store = await openSqliteStore(file);
    assert.equal((await store.tasks.get(id))?.callCount, 3);
    assert.equal(await store.tasks.incrementCalls(id, 3), undefined, 'the limit holds across the restart');
    await store.tasks.end(id, 'completed', 2, 'done');
    assert.equal(await store.tasks.incrementCalls(id, null), undefined, 'an ended task takes no calls');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('embedded store: WAL checkpoints off the event loop', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('the worker copies the WAL into the database while the writer is below its own checkpoint; close removes the WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-sqlite-'));
    const file = join(dir, 'm.db');
    let store = await openSqliteStore(file);
    const id = 'tsk_checkpointed1' as TaskId;
    await store.tasks.insert(taskRow(id));
    const before = statSync(file).size;
    // About 2 MB of audit records: far below the writer's wal_autocheckpoint, so only the worker copies them.
    const big = 'x'.repeat(2000);
    for (let n = 1; n <= 1000; n++) {
      await store.audit.append([{ segment: 's', seq: n, id: `evt_${String(n).padStart(12, '0')}` as EventId, type: 'decision', atMs: n, taskId: id, agentId: null, data: { big }, prevHash: GENESIS_HASH, hash: 'h' }]);
    }
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 1_500_000 && Date.now() < deadline) await sleep(50);
    assert.ok(statSync(file).size >= before + 1_500_000, `the database file grew from ${before} to ${statSync(file).size} bytes`);
    await store.close();
    assert.equal(existsSync(`${file}-wal`), false, 'the writer closes last and removes the WAL');
    store = await openSqliteStore(file);
    assert.equal((await store.audit.list({ segment: 's', afterSeq: 0, limit: 2000, order: 'asc' })).length, 1000);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the WAL starts over while the writer keeps committing, without the writer crossing wal_autocheckpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-sqlite-'));
    const file = join(dir, 'w.db');
    const writer = new SQLite(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = NORMAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT)');
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    const checkpointer = startCheckpointer(writer, file, { intervalMs: 20, restartFrames: 50 });
    // 3,000 commits of a page or more each, 20 at a time, yielding only so the worker's requests are heard.
    const page = 'y'.repeat(3000);
    let commits = 0;
    while (commits < 3000) {
      for (let i = 0; i < 20; i++, commits++) insert.run(page);
      await sleep(2);
    }
    await checkpointer.close();
    // Frames now in the WAL: without its starting over, one or more a commit.
    const log = (writer.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]?.log ?? Infinity;
    assert.ok(log < commits / 2, `${log} frames in the WAL after ${commits} commits`);
    assert.equal((writer.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, commits);
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
