import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { AuditEvent } from '../../audit/model.js';
import type { Task } from '../../mandate/model.js';
import { kyselyStore } from '../kysely-store.js';
import type { Change, ChangeFeed, Store } from '../ports.js';
import type { Database } from '../tables.js';

/** The embedded default: one SQLite file in WAL mode (`:memory:` for tests). */
export async function openSqliteStore(file: string): Promise<Store> {
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
  return withPreparedHotPath(store, sqlite);
}

/**
 * The two writes on every decision, the exact call count and the audit record,
 * as prepared statements in one transaction. The embedded store has a single
 * writer (this process), so the count is exact in memory; it is written in the
 * same transaction as the next audit batch, which the decision awaits before it
 * returns. One WAL commit per decision instead of two, and no Kysely query
 * building on the hot path. The store contract suite runs against this.
 */
function withPreparedHotPath(store: Store, sqlite: SQLite.Database): Store {
  const readCount = sqlite.prepare<[string], { call_count: number; status: string }>('SELECT call_count, status FROM tasks WHERE id = ?');
  const writeCount = sqlite.prepare('UPDATE tasks SET call_count = ? WHERE id = ?');
  const insertEvent = sqlite.prepare(
    'INSERT INTO audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  /** Live count and state of tasks that took calls in this process. */
  const counts = new Map<string, { count: number; active: boolean }>();
  const dirty = new Set<string>();
  const writeDirty = () => {
    for (const id of dirty) writeCount.run(counts.get(id)!.count, id);
    dirty.clear();
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
    tasks: {
      ...store.tasks,
      get: async (id) => {
        const t = await store.tasks.get(id);
        return t && overlay(t);
      },
      list: async (q) => (await store.tasks.list(q)).map(overlay),
      incrementCalls: async (id, maxCalls) => {
        let live = counts.get(id);
        if (!live) {
          const row = readCount.get(id);
          if (!row) return undefined;
          live = { count: Number(row.call_count), active: row.status === 'active' };
          counts.set(id, live);
        }
        if (!live.active || (maxCalls !== null && live.count >= maxCalls)) return undefined;
        live.count += 1;
        dirty.add(id);
        return live.count;
      },
      end: async (id, status, atMs, reason) => {
        const ended = await store.tasks.end(id, status, atMs, reason);
        const live = counts.get(id);
        if (live) live.active = false;
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
