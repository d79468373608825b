import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { AuditEvent } from '../../audit/index.js';
import type { Task } from '../../mandate/index.js';
import { kyselyStore, type Change, type ChangeFeed, type Database, type Store } from '../index.js';

export interface SqliteStoreOptions {
  /** Live call counts kept in memory beyond which written ones are dropped, least recently used first (re-read from the row when needed). */
  maxLiveCounts?: number;
  /** The time tasks expire by (the control plane's clock; the system clock when absent), for dropping the written counts of expired tasks. */
  nowMs?: () => number;
}

export interface SqliteStore extends Store {
  /** Tasks whose call count is held in memory. */
  liveCounts(): number;
}

/** The embedded default: one SQLite file in WAL mode (`:memory:` for tests). */
export async function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a crash can lose the last commits but never corrupts the file.
  sqlite.pragma('synchronous = NORMAL');
  // Short: better-sqlite3 waits synchronously, and a database locked by another process must be refused fast, not stall every decision.
  sqlite.pragma('busy_timeout = 100');
  // Checkpoints copy the WAL into the database with an fsync; doing that every 4 MB stalls the hot path every few hundred writes.
  sqlite.pragma('wal_autocheckpoint = 16384');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const store = await kyselyStore(db, 'sqlite', localChangeFeed());
  return withPreparedHotPath(store, sqlite, options.maxLiveCounts ?? 100_000, options.nowMs ?? Date.now);
}

/**
 * The two writes on every decision, the exact call count and the audit record,
 * as prepared statements in one transaction. The embedded store has a single
 * writer (this process), so the count is exact in memory; it is written in the
 * same transaction as the next audit batch, which the decision awaits before it
 * returns. One WAL commit per decision instead of two, and no Kysely query
 * building on the hot path. The store contract suite runs against this.
 *
 * INVARIANT: a count not yet written (`dirty`) is never dropped from memory. A
 * written one may be, at any time: the row holds it, and it is read back on the
 * task's next call. Written counts are dropped when the task ends or expires,
 * and beyond `maxLiveCounts`, least recently used first.
 */
function withPreparedHotPath(store: Store, sqlite: SQLite.Database, maxLiveCounts: number, nowMs: () => number): SqliteStore {
  const readCount = sqlite.prepare<[string], { call_count: number; status: string; expires_at_ms: number }>('SELECT call_count, status, expires_at_ms FROM tasks WHERE id = ?');
  const writeCount = sqlite.prepare('UPDATE tasks SET call_count = ? WHERE id = ?');
  const insertEvent = sqlite.prepare(
    'INSERT INTO audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  /** Live count of active tasks that took calls in this process, least recently used first. */
  const counts = new Map<string, { count: number; active: boolean; expiresAtMs: number }>();
  const dirty = new Set<string>();
  const writeDirty = () => {
    for (const id of dirty) {
      const live = counts.get(id)!;
      writeCount.run(live.count, id);
      if (!live.active) counts.delete(id);
    }
    dirty.clear();
  };
  /** Drops written counts from the front (least recently used) while over capacity, ended or expired; a few per call. */
  const trim = () => {
    let looked = 0;
    const now = nowMs();
    for (const [id, live] of counts) {
      if (looked++ >= 8) return;
      if (dirty.has(id)) continue;
      if (counts.size > maxLiveCounts || !live.active || live.expiresAtMs <= now) counts.delete(id);
      else return;
    }
  };
  const appendAll = sqlite.transaction((events: readonly AuditEvent[]) => {
    for (const e of events) insertEvent.run(e.segment, e.seq, e.id, e.type, e.atMs, e.taskId, e.agentId, JSON.stringify(e.data), e.prevHash, e.hash);
    writeDirty();
  });
  const flushCounts = sqlite.transaction(writeDirty);
  const overlay = (t: Task): Task => {
    const live = counts.get(t.id);
    return live === undefined ? t : { ...t, callCount: live.count };
  };
  return {
    ...store,
    liveCounts: () => counts.size,
    tasks: {
      ...store.tasks,
      get: async (id) => {
        const t = await store.tasks.get(id);
        return t && overlay(t);
      },
      list: async (q) => (await store.tasks.list(q)).map(overlay),
      incrementCalls: async (id, maxCalls) => {
        let live = counts.get(id);
        if (live) {
          counts.delete(id); // most recently used: to the back
          counts.set(id, live);
        } else {
          const row = readCount.get(id);
          // An ended task takes no calls, and nothing of it is kept.
          if (!row || row.status !== 'active') return undefined;
          live = { count: Number(row.call_count), active: true, expiresAtMs: Number(row.expires_at_ms) };
          counts.set(id, live);
        }
        if (!live.active || (maxCalls !== null && live.count >= maxCalls)) return undefined;
        live.count += 1;
        dirty.add(id);
        // After dirty.add: the count just taken must not be the one dropped.
        trim();
        return live.count;
      },
      end: async (id, status, atMs, reason) => {
        const ended = await store.tasks.end(id, status, atMs, reason);
        const live = counts.get(id);
        if (live) {
          live.active = false;
          // A count not yet written stays until the next audit batch writes it.
          if (!dirty.has(id)) counts.delete(id);
        }
        return ended;
      },
    },
    audit: {
      ...store.audit,
      append: async (events) => {
        appendAll(events);
      },
    },
    close: async () => {
      flushCounts();
      await store.close();
    },
  };
}

/** One process owns an embedded store: changes only need to reach this process's subscribers. */
function localChangeFeed(): ChangeFeed {
  const listeners: ((c: Change) => void)[] = [];
  return {
    publish: async (c) => {
      for (const l of listeners) l(c);
    },
    subscribe: (l) => void listeners.push(l),
    close: async () => void listeners.splice(0),
  };
}
