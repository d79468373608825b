import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { kyselyStore, type Change, type ChangeFeed, type Database, type Store } from '../index.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { sqliteDialect } from './dialect.js';
import { preparedHotPath, sharedHotPath } from './hot-path.js';

export interface SqliteStoreOptions {
  /** Live call counts kept in memory beyond which written ones are dropped, least recently used first (re-read from the row when needed). */
  maxLiveCounts?: number;
  /** The time tasks expire by (the control plane's clock; the system clock when absent), for dropping the written counts of expired tasks. */
  nowMs?: () => number;
  /**
   * Other processes write this file too (the workers of one `mandate serve`):
   * call counts are counted in the file, not in memory; changes travel over
   * `changes`; and WAL checkpoints are left to the process that started the
   * workers (`startCheckpointer` without a writer).
   */
  shared?: { changes: ChangeFeed };
}

export interface SqliteStore extends Store {
  /** Tasks whose call count is held in memory. */
  liveCounts(): number;
}

/** A checkpoint on the worker every second; the writer finishes one, and the WAL starts over, every 32 MB (8,192 pages). */
const CHECKPOINTS = { intervalMs: 1000, restartFrames: 8192 };

/** The embedded default: one SQLite file in WAL mode (`:memory:` for tests). */
export async function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a crash can lose the last commits but never corrupts the file.
  sqlite.pragma('synchronous = NORMAL');
  // Short: better-sqlite3 waits synchronously, and a database locked by another process must be refused fast, not stall every decision.
  sqlite.pragma('busy_timeout = 100');
  // Checkpoints run on a worker thread (checkpointer.ts). The writer's own, synchronous on the event loop, only bounds the
  // WAL (64 MB) should the worker fall behind.
  sqlite.pragma('wal_autocheckpoint = 16384');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const store = await kyselyStore(db, sqliteDialect, options.shared?.changes ?? localChangeFeed());
  // Built once the schema is current: its statements are prepared against the tables.
  const hot = options.shared
    ? sharedHotPath(sqlite, store.tasks)
    : preparedHotPath(sqlite, store.tasks, { maxLiveCounts: options.maxLiveCounts ?? 100_000, nowMs: options.nowMs ?? Date.now });
  const checkpointer = file === ':memory:' || options.shared ? undefined : startCheckpointer(sqlite, file, CHECKPOINTS);
  return {
    ...store,
    tasks: hot.tasks,
    audit: { ...store.audit, append: hot.append, scan: hot.scan, links: hot.links },
    liveCounts: hot.liveCounts,
    close: async () => {
      hot.flush();
      await checkpointer?.close();
      await store.close();
    },
  };
}

/** Checkpoints for a file that several processes write (`shared` stores); the process that started them runs this. */
export function checkpointSharedFile(file: string): Checkpointer {
  return startCheckpointer(undefined, file, CHECKPOINTS);
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
