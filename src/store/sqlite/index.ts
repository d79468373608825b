import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { AuditEvent } from '../../audit/model.js';
import { kyselyStore } from '../kysely-store.js';
import type { Store } from '../ports.js';
import type { Database } from '../tables.js';

/** The embedded default: one SQLite file in WAL mode (`:memory:` for tests). */
export async function openSqliteStore(file: string): Promise<Store> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a crash can lose the last commits but never corrupts the file.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  // Checkpoints copy the WAL into the database with an fsync; doing that every 4 MB stalls the hot path every few hundred writes.
  sqlite.pragma('wal_autocheckpoint = 16384');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const store = await kyselyStore(db, 'sqlite');
  return withPreparedHotPath(store, sqlite);
}

/**
 * The two writes on every decision (the exact call count and the audit record)
 * as prepared statements: building a Kysely query per call costs more than the
 * SQLite write itself. Same tables and semantics as the Kysely versions; the
 * store contract suite runs against these.
 */
function withPreparedHotPath(store: Store, sqlite: SQLite.Database): Store {
  const increment = sqlite.prepare<[string, number | null, number | null], { call_count: number }>(
    "UPDATE tasks SET call_count = call_count + 1 WHERE id = ? AND status = 'active' AND (? IS NULL OR call_count < ?) RETURNING call_count",
  );
  const insertEvent = sqlite.prepare(
    'INSERT INTO audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const appendAll = sqlite.transaction((events: readonly AuditEvent[]) => {
    for (const e of events) insertEvent.run(e.segment, e.seq, e.id, e.type, e.atMs, e.taskId, e.agentId, JSON.stringify(e.data), e.prevHash, e.hash);
  });
  return {
    ...store,
    tasks: {
      ...store.tasks,
      incrementCalls: async (id, maxCalls) => {
        const row = increment.get(id, maxCalls, maxCalls);
        return row === undefined ? undefined : Number(row.call_count);
      },
    },
    audit: {
      ...store.audit,
      append: async (events) => {
        if (events.length > 0) appendAll(events);
      },
    },
  };
}
