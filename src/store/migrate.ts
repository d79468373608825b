import { sql, type Kysely } from 'kysely';
import { ConfigError } from '../core/index.js';
import { LATEST_VERSION, MIGRATIONS, hasTable, type Dialect } from './migrations.js';

export { LATEST_VERSION, type Dialect } from './migrations.js';

/**
 * Brings the schema to the latest version: one transaction per migration, each
 * recorded in `schema_version`. A database from before versioning is recognised
 * by its tables and columns and recorded at that version first. Returns the version.
 * Throws a ConfigError when the database is newer than this release.
 */
export async function migrate(db: Kysely<any>, dialect: Dialect): Promise<number> {
  for (;;) {
    const version = await inMigrationTransaction(db, dialect, async (tx) => {
      let current = await readVersion(tx, dialect);
      if (current === undefined) {
        current = await detectVersionBeforeVersioning(tx, dialect);
        await tx.schema
          .createTable('schema_version')
          .addColumn('version', 'integer', (c) => c.primaryKey())
          .addColumn('applied_at_ms', 'bigint', (c) => c.notNull())
          .execute();
        if (current > 0) await record(tx, current);
      }
      if (current > LATEST_VERSION) {
        throw new ConfigError(`store: the database schema is version ${current} but this release knows up to version ${LATEST_VERSION}; upgrade mandate`);
      }
      if (current === LATEST_VERSION) return current;
      const next = MIGRATIONS.find((m) => m.version > current!)!;
      await next.up(tx, dialect);
      await record(tx, next.version);
      return next.version;
    });
    if (version >= LATEST_VERSION) return version;
  }
}

/** The recorded schema version, or undefined when the database predates versioning (or is empty). */
async function readVersion(db: Kysely<any>, dialect: Dialect): Promise<number | undefined> {
  if (!(await hasTable(db, dialect, 'schema_version'))) return undefined;
  const r = await db
    .selectFrom('schema_version')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
}

async function record(db: Kysely<any>, version: number): Promise<void> {
  await db.insertInto('schema_version').values({ version, applied_at_ms: Date.now() }).execute();
}

/**
 * Releases before versioning created every table they knew `if not exists` at each
 * start, so the version is the longest run of shipped changes already present
 * (0 for an empty database).
 */
async function detectVersionBeforeVersioning(db: Kysely<any>, dialect: Dialect): Promise<number> {
  let version = 0;
  for (const m of MIGRATIONS) {
    if (!m.presentBeforeVersioning || !(await m.presentBeforeVersioning(db, dialect))) break;
    version = m.version;
  }
  return version;
}

/**
 * A transaction that replicas starting at once take one at a time. PostgreSQL: a
 * transaction-scoped advisory lock keyed on the schema, so replicas of other
 * deployments in other schemas do not wait. SQLite: BEGIN IMMEDIATE takes the
 * write lock before the version is read.
 */
async function inMigrationTransaction<T>(db: Kysely<any>, dialect: Dialect, fn: (tx: Kysely<any>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN').execute(conn);
    try {
      if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtext('mandate.migrate:' || current_schema()))`.execute(conn);
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (err) {
      await sql`ROLLBACK`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}
