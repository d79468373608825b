import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { kyselyStore, type Database, type Store } from '../index.js';
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
  return kyselyStore(db, postgresDialect, postgresChangeFeed(pool, parsed.toString(), schema, `mandate-listen:${process.pid}`, queryTimeoutMs));
}
