import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { kyselyStore, type Database, type Store } from '../index.js';
import type { AuditEvent, AuditRepo } from '../../audit/index.js';
import { canonicalJson } from '../../core/index.js';
import { postgresChangeFeed } from './change-feed.js';
import { postgresDialect } from './dialect.js';
import { guardedPool } from './guarded-pool.js';

const INT8_OID = 20;

/**
 * The multi-replica store. `?schema=name` in the URL selects (and creates) a
 * PostgreSQL schema, so several deployments or test runs can share one database.
 */
export async function openPostgresStore(url: string, opts: { queryTimeoutMs?: number } = {}): Promise<Store> {
  const queryTimeoutMs = opts.queryTimeoutMs ?? 5000;
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new TypeError(`store.url: schema \`${schema}\` must be a lowercase identifier`);
  }
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: 10,
    // A connection that cannot be made in this time fails, rather than queueing decisions behind it.
    connectionTimeoutMillis: queryTimeoutMs,
    keepAlive: true,
    // Operators (and the fault tests) find this replica's connections by name.
    application_name: `mandate:${process.pid}`,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // Millisecond timestamps are BIGINT; they fit a JS number exactly until year 287396.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guardedPool(pool, queryTimeoutMs) }) });
  if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  const store = await kyselyStore(db, postgresDialect, postgresChangeFeed(pool, parsed.toString(), schema, `mandate-listen:${process.pid}`, queryTimeoutMs));
  return { ...store, audit: { ...store.audit, append: appendByColumns(db) } };
}

/**
 * Audit batches as one INSERT of ten arrays (`unnest`): a multi-row VALUES list
 * binds ten parameters a row, which PostgreSQL parses and plans for every batch;
 * arrays are ten parameters whatever the size.
 */
function appendByColumns(db: Kysely<Database>): AuditRepo['append'] {
  return async (events) => {
    if (events.length === 0) return;
    const column = <T>(pick: (e: AuditEvent) => T) => events.map(pick);
    await sql`INSERT INTO audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash)
      SELECT * FROM unnest(${column((e) => e.segment)}::text[], ${column((e) => e.seq)}::bigint[], ${column((e) => e.id)}::text[], ${column((e) => e.type)}::text[],
        ${column((e) => e.atMs)}::bigint[], ${column((e) => e.taskId)}::text[], ${column((e) => e.agentId)}::text[], ${column((e) => e.dataText ?? canonicalJson(e.data))}::text[],
        ${column((e) => e.prevHash)}::text[], ${column((e) => e.hash)}::text[])`.execute(db);
  };
}
