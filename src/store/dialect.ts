import type { Kysely, RawBuilder } from 'kysely';
import type { Dialect } from './migrations.js';
import type { Database } from './tables.js';

/** What the repositories need to know of the database underneath the shared query layer. */
export interface StoreDialect {
  readonly kind: Dialect;
  /** A unique-key violation, in this dialect's words. */
  isUniqueViolation(err: unknown): boolean;
  /** The text of a top-level field of a JSON text column (`data->>'tool'`), null when absent. */
  jsonText(column: string, field: string): RawBuilder<string | null>;
  /**
   * The text an audit event's hash covers (`hashEvent`), put together from its row
   * so that verifying a chain reads one string an event: the stored data as it is,
   * every other field a JSON value escaped as `JSON.stringify` escapes it, so none
   * can run into the next. NULL when a field is not of the type it is written with
   * (a row edited by hand): the verifier then reads the fields.
   */
  readonly auditHashedText: RawBuilder<string | null>;
}

/** A repository over the shared query layer: one per aggregate, each implementing its context's port. */
export type RepoFactory<Repo> = (db: Kysely<Database>, dialect: StoreDialect) => Repo;

/** The error's driver code, when it has one (pg: SQLSTATE; better-sqlite3: `SQLITE_…`). */
export const errorCode = (err: unknown): unknown => (err as { code?: unknown })?.code;
