import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { kyselyStore, type Database, type Store } from '../index.js';
import { decisionIdOf, type AuditRepo } from '../../audit/index.js';
import { canonicalJson } from '../../core/index.js';
import { postgresChangeFeed } from './change-feed.js';
import { postgresDialect } from './dialect.js';
import { copyField } from './copy-in.js';
import { guardedPool, type GuardedPool } from './guarded-pool.js';

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
  const guarded = guardedPool(pool, queryTimeoutMs);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) });
  if (schema) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  const store = await kyselyStore(db, postgresDialect, postgresChangeFeed(pool, parsed.toString(), schema, `mandate-listen:${process.pid}`, queryTimeoutMs));
  return { ...store, audit: { ...store.audit, append: appendByCopy(guarded) } };
}

const AUDIT_COPY = 'COPY audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash) FROM STDIN';

// A decision id seen twice keeps its first place: a lookup table never refuses an audit record.
const AUDIT_DECISIONS_INSERT = 'INSERT INTO audit_decisions (decision_id, segment, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT (decision_id) DO NOTHING';

/**
 * Audit batches as one `COPY FROM STDIN`, a single statement and so one transaction:
 * the rows are plain tab-separated text, which costs far less to write here and to
 * read there than ten array parameters (escaped element by element on both sides),
 * and the server inserts them in bulk.
 */
function appendByCopy(pool: GuardedPool): AuditRepo['append'] {
  return async (events) => {
    if (events.length === 0) return;
    const rows = events.map(
      (e) =>
        `${copyField(e.segment)}\t${e.seq}\t${copyField(e.id)}\t${copyField(e.type)}\t${e.atMs}\t${copyField(e.taskId)}\t${copyField(e.agentId)}\t${copyField(e.dataText ?? canonicalJson(e.data))}\t${copyField(e.prevHash)}\t${copyField(e.hash)}\n`,
    );
    const decisions = events.flatMap((e) => {
      const decisionId = decisionIdOf(e);
      return decisionId === null ? [] : [[decisionId, e.segment, e.seq] as const];
    });
    // In the COPY's transaction: a record and its place by decision id are stored together, or neither.
    const then = decisions.length === 0 ? undefined : { text: AUDIT_DECISIONS_INSERT, values: [decisions.map((d) => d[0]), decisions.map((d) => d[1]), decisions.map((d) => d[2])] };
    // One flat string, encoded once: cheaper than growing it row by row.
    const copied = await pool.copyIn(AUDIT_COPY, Buffer.from(rows.join('')), then);
    if (copied !== events.length) throw new Error(`audit append: ${copied} of ${events.length} events copied`);
  };
}
