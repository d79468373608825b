import { sql, type Kysely } from 'kysely';
import { z } from 'zod';

export type Dialect = 'sqlite' | 'postgres';

/**
 * One schema change. Versions are numbered from 1 without gaps; a shipped
 * migration is never edited, a later change is a new migration at the end.
 */
export interface Migration {
  version: number;
  name: string;
  /** Runs inside the migration's transaction; `db` is bound to that transaction. */
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
  /**
   * Whether a database from before versioning (no `schema_version`) already has
   * this change. Only the migrations shipped before versioning need it.
   */
  presentBeforeVersioning?(db: Kysely<any>, dialect: Dialect): Promise<boolean>;
}

/*
 * INVARIANT: every migration tolerates what releases before versioning left behind.
 * Those releases ran `CREATE TABLE IF NOT EXISTS` for today's tables at every
 * start, so a database created by an old release and later opened by a newer one
 * already has the newer tables, while the tables it created first keep their old
 * shape. Tables and indexes are therefore created `if not exists`, and the changes
 * to existing tables (migrations 3 and 7) look before they alter.
 */

/** The first shipped schema (43fbae3). */
async function initial(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('settings')
    .ifNotExists()
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('signing_keys')
    .ifNotExists()
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('retired_at_ms', 'bigint')
    .addColumn('drop_at_ms', 'bigint')
    .execute();
  await db.schema
    .createTable('agents')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('spiffe_id', 'text', (c) => c.notNull().unique())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('attestation', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('disabled_at_ms', 'bigint')
    .execute();
  await db.schema
    .createTable('join_tokens')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('used_at_ms', 'bigint')
    .execute();
  await db.schema
    .createTable('tasks')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('agent_name', 'text', (c) => c.notNull())
    .addColumn('spiffe_id', 'text', (c) => c.notNull())
    .addColumn('mandate', 'text', (c) => c.notNull())
    .addColumn('principal', 'text')
    .addColumn('parent_task_id', 'text')
    .addColumn('delegation_depth', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('credential_id', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('ended_at_ms', 'bigint')
    .addColumn('end_reason', 'text')
    .addColumn('call_count', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tasks_agent').ifNotExists().on('tasks').columns(['agent_id', 'created_at_ms']).execute();
  await db.schema
    .createTable('revocations')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revocations_expiry').ifNotExists().on('revocations').column('expires_at_ms').execute();
  await createAuditEvents(db, 'audit_events', { uniqueId: true });
  await createAuditIndexes(db);
}

async function createAuditEvents(db: Kysely<any>, table: string, opts: { uniqueId: boolean }): Promise<void> {
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('segment', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('id', 'text', (c) => (opts.uniqueId ? c.notNull().unique() : c.notNull()))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('task_id', 'text')
    .addColumn('agent_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_events_pk', ['segment', 'seq'])
    .execute();
}

async function createAuditIndexes(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('audit_task').ifNotExists().on('audit_events').columns(['task_id', 'at_ms']).execute();
  await db.schema.createIndex('audit_type').ifNotExists().on('audit_events').columns(['type', 'at_ms']).execute();
}

/** Brokered secrets (f943c1d). */
async function secrets(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('secrets')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('iv', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('secrets_pk', ['name', 'version'])
    .execute();
}

/**
 * Audit event ids lose their unique index (528e332): ids are random and (segment,
 * seq) is the key, so the index was one B-tree more to write per decision.
 * SQLite cannot drop a column constraint, so the table is rebuilt there.
 */
async function auditIdNotUnique(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const unique = await uniqueAuditIdConstraints(db, dialect);
  if (unique.length === 0) return;
  if (dialect === 'postgres') {
    for (const name of unique) await sql`ALTER TABLE audit_events DROP CONSTRAINT ${sql.id(name)}`.execute(db);
    return;
  }
  await createAuditEvents(db, 'audit_events_next', { uniqueId: false });
  await sql`INSERT INTO audit_events_next (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash)
    SELECT segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash FROM audit_events`.execute(db);
  await db.schema.dropTable('audit_events').execute();
  await db.schema.alterTable('audit_events_next').renameTo('audit_events').execute();
  await createAuditIndexes(db);
}

/** Approvals and approvers (969b0a0). */
async function approvals(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('approvals')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('agent_name', 'text', (c) => c.notNull())
    .addColumn('principal', 'text')
    .addColumn('tool', 'text', (c) => c.notNull())
    .addColumn('args', 'text', (c) => c.notNull())
    .addColumn('args_hash', 'text', (c) => c.notNull())
    .addColumn('policies', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('approvers', 'text', (c) => c.notNull())
    .addColumn('separation_of_duties', 'integer', (c) => c.notNull())
    .addColumn('uses_left', 'integer', (c) => c.notNull())
    .addColumn('window_seconds', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at_ms', 'bigint')
    .addColumn('valid_until_ms', 'bigint')
    .addColumn('reason', 'text')
    .addColumn('notify', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('approvals_action').ifNotExists().on('approvals').columns(['task_id', 'tool', 'args_hash', 'created_at_ms']).execute();
  await db.schema.createIndex('approvals_status').ifNotExists().on('approvals').columns(['status', 'expires_at_ms']).execute();
  await db.schema
    .createTable('approvers')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .execute();
}

/** Per-task behaviour for the monitor, labels as a JSON array (66cd648). */
async function taskBehaviour(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('task_behaviour')
    .ifNotExists()
    .addColumn('task_id', 'text', (c) => c.primaryKey())
    .addColumn('labels', 'text', (c) => c.notNull())
    .addColumn('tools_called', 'text', (c) => c.notNull())
    .addColumn('signals', 'text', (c) => c.notNull())
    .addColumn('suspended_by', 'text')
    .addColumn('step_up_by', 'text')
    .addColumn('score', 'integer', (c) => c.notNull())
    .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
    .execute();
}

/** Tool metadata registered through the API (a406f24). */
async function tools(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tools')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
    .execute();
}

const LabelsJson = z.array(z.string());

/**
 * Task labels become rows, only ever added (7c7f4da): each task's JSON array moves
 * into `task_labels` and the column goes. Databases created before this change
 * failed every behaviour write with `NOT NULL constraint failed: task_behaviour.labels`.
 */
async function taskLabelRows(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('task_labels')
    .ifNotExists()
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_labels_pk', ['task_id', 'label'])
    .execute();
  if (!(await columnsOf(db, dialect, 'task_behaviour')).includes('labels')) return;
  const rows: { task_id: string; labels: string }[] = await db.selectFrom('task_behaviour').select(['task_id', 'labels']).execute();
  for (const r of rows) {
    const parsed = LabelsJson.safeParse(safeJson(r.labels));
    if (!parsed.success) throw new TypeError(`store: corrupt behaviour labels row for task \`${r.task_id}\`: ${r.labels}`);
    if (parsed.data.length === 0) continue;
    await db
      .insertInto('task_labels')
      .values([...new Set(parsed.data)].map((label) => ({ task_id: r.task_id, label })))
      .onConflict((oc) => oc.columns(['task_id', 'label']).doNothing())
      .execute();
  }
  await db.schema.alterTable('task_behaviour').dropColumn('labels').execute();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Policy sets versioned in the store (2082c39). */
async function policySets(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('policy_sets')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('files', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
}

/** Values a task has seen, as salted hashes with the trust of where they were seen; rows only ever added. */
async function taskValues(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('task_values')
    .ifNotExists()
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('value_hash', 'text', (c) => c.notNull())
    .addColumn('trust', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_values_pk', ['task_id', 'value_hash', 'trust'])
    .execute();
}

/**
 * Delegation and proof of possession: the chain of tasks a task was delegated from
 * (JSON, its parent first), the key an agent attested with (its RFC 7638
 * thumbprint), and the DPoP proofs seen, shared by every replica so none is replayed.
 */
async function delegationAndPossession(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (!(await columnsOf(db, dialect, 'tasks')).includes('delegation_chain')) await db.schema.alterTable('tasks').addColumn('delegation_chain', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  if (!(await columnsOf(db, dialect, 'agents')).includes('dpop_jkt')) await db.schema.alterTable('agents').addColumn('dpop_jkt', 'text').execute();
  await db.schema
    .createTable('dpop_proofs')
    .ifNotExists()
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dpop_proofs_expiry').ifNotExists().on('dpop_proofs').column('expires_at_ms').execute();
}

/** The `tighten` drift response: which signal put the task's untrusted and unseen targets off limits. */
async function tightenedBy(db: Kysely<any>, dialect: Dialect): Promise<void> {
  // Every migration tolerates a schema that already has its change.
  if ((await columnsOf(db, dialect, 'task_behaviour')).includes('tightened_by')) return;
  await db.schema.alterTable('task_behaviour').addColumn('tightened_by', 'text').execute();
}

/**
 * Indexes for reading the trail back (`GET /v1/audit`, task trails, export): events in
 * (time, segment, seq) order, which is the cursor's order; by agent; and tasks by
 * principal and by parent. The filters on `data` fields (outcome, reason, tool) narrow
 * what these select and get no index of their own: every index on `audit_events` is
 * one more B-tree written per decision.
 */
async function auditQueryIndexes(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('audit_time').ifNotExists().on('audit_events').columns(['at_ms', 'segment', 'seq']).execute();
  await db.schema.createIndex('audit_agent').ifNotExists().on('audit_events').columns(['agent_id', 'at_ms']).execute();
  await db.schema.createIndex('tasks_principal').ifNotExists().on('tasks').columns(['principal', 'created_at_ms']).execute();
  await db.schema.createIndex('tasks_parent').ifNotExists().on('tasks').column('parent_task_id').execute();
}

/**
 * A decision found by its id (`GET /v1/decisions/{id}`): each decision record's place
 * (segment, seq) by decision id, written in the same transaction as the record. A
 * table rather than a column of `audit_events`: only decisions write an entry, and
 * every earlier schema stays a subset of today's. Decisions recorded before this
 * change are filled in here.
 */
async function decisionsById(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('audit_decisions')
    .ifNotExists()
    .addColumn('decision_id', 'text', (c) => c.primaryKey())
    .addColumn('segment', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  const decisionId = dialect === 'sqlite' ? sql`data ->> '$.decisionId'` : sql`data::jsonb ->> 'decisionId'`;
  await sql`INSERT INTO audit_decisions (decision_id, segment, seq)
    SELECT ${decisionId}, segment, seq FROM audit_events WHERE type = 'decision' AND ${decisionId} IS NOT NULL
    ON CONFLICT (decision_id) DO NOTHING`.execute(db);
}

/**
 * Indexes for the console's lists, so a page of 10,000 tasks is read, not sorted: tasks
 * newest first (all, or of one status), an agent's live tasks counted, approvals newest
 * first. Each is written when a task is granted or ended, or a request made; none on the
 * call path (the call count is in none of them).
 */
async function consoleListIndexes(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('tasks_created').ifNotExists().on('tasks').columns(['created_at_ms', 'id']).execute();
  await db.schema.createIndex('tasks_status').ifNotExists().on('tasks').columns(['status', 'created_at_ms', 'id']).execute();
  await db.schema.createIndex('tasks_agent_status').ifNotExists().on('tasks').columns(['agent_id', 'status', 'expires_at_ms']).execute();
  await db.schema.createIndex('approvals_created').ifNotExists().on('approvals').columns(['created_at_ms', 'id']).execute();
}

/**
 * People signed in to the operator console: a hash of each session id (never the id),
 * who the person is and the roles their groups gave them, kept in the store so every
 * replica sees a session and a sign-out on one replica ends it on all.
 */
async function consoleSessions(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .ifNotExists()
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('email', 'text')
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('console_sessions_expiry').ifNotExists().on('console_sessions').column('expires_at_ms').execute();
}

const INITIAL_TABLES = ['settings', 'signing_keys', 'agents', 'join_tokens', 'tasks', 'revocations', 'audit_events'];

/** Every schema change, in order. Append only. Versions only grow; one may be missing while a parallel change holds it. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    up: initial,
    presentBeforeVersioning: async (db, d) => (await Promise.all(INITIAL_TABLES.map((t) => hasTable(db, d, t)))).every(Boolean),
  },
  { version: 2, name: 'secrets', up: secrets, presentBeforeVersioning: (db, d) => hasTable(db, d, 'secrets') },
  {
    version: 3,
    name: 'audit event ids not unique',
    up: auditIdNotUnique,
    presentBeforeVersioning: async (db, d) => (await uniqueAuditIdConstraints(db, d)).length === 0,
  },
  {
    version: 4,
    name: 'approvals and approvers',
    up: approvals,
    presentBeforeVersioning: async (db, d) => (await hasTable(db, d, 'approvals')) && (await hasTable(db, d, 'approvers')),
  },
  { version: 5, name: 'task behaviour', up: taskBehaviour, presentBeforeVersioning: (db, d) => hasTable(db, d, 'task_behaviour') },
  { version: 6, name: 'tools', up: tools, presentBeforeVersioning: (db, d) => hasTable(db, d, 'tools') },
  {
    version: 7,
    name: 'task labels as rows',
    up: taskLabelRows,
    // A release from before 7c7f4da created `task_behaviour` with `labels`; later releases added `task_labels` beside it.
    presentBeforeVersioning: async (db, d) => (await hasTable(db, d, 'task_labels')) && !(await columnsOf(db, d, 'task_behaviour')).includes('labels'),
  },
  { version: 8, name: 'policy sets', up: policySets, presentBeforeVersioning: (db, d) => hasTable(db, d, 'policy_sets') },
  { version: 9, name: 'task values (argument provenance)', up: taskValues, presentBeforeVersioning: (db, d) => hasTable(db, d, 'task_values') },
  { version: 10, name: 'tighten response', up: tightenedBy, presentBeforeVersioning: async (db, d) => (await columnsOf(db, d, 'task_behaviour')).includes('tightened_by') },
  { version: 11, name: 'audit query indexes', up: auditQueryIndexes, presentBeforeVersioning: (db, d) => hasIndex(db, d, 'audit_time') },
  { version: 12, name: 'delegation chain, attested keys, DPoP proofs', up: delegationAndPossession, presentBeforeVersioning: async (db, d) => (await hasTable(db, d, 'dpop_proofs')) && (await columnsOf(db, d, 'tasks')).includes('delegation_chain') && (await columnsOf(db, d, 'agents')).includes('dpop_jkt') },
  { version: 13, name: 'console sessions', up: consoleSessions, presentBeforeVersioning: (db, d) => hasTable(db, d, 'console_sessions') },
  { version: 14, name: 'console list indexes', up: consoleListIndexes, presentBeforeVersioning: (db, d) => hasIndex(db, d, 'approvals_created') },
  { version: 15, name: 'decisions by id', up: decisionsById, presentBeforeVersioning: (db, d) => hasTable(db, d, 'audit_decisions') },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;

export async function hasTable(db: Kysely<any>, dialect: Dialect, table: string): Promise<boolean> {
  const r =
    dialect === 'sqlite'
      ? await sql`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ${table}`.execute(db)
      : await sql`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ${table}`.execute(db);
  return r.rows.length > 0;
}

export async function hasIndex(db: Kysely<any>, dialect: Dialect, index: string): Promise<boolean> {
  const r =
    dialect === 'sqlite'
      ? await sql`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ${index}`.execute(db)
      : await sql`SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ${index}`.execute(db);
  return r.rows.length > 0;
}

export async function columnsOf(db: Kysely<any>, dialect: Dialect, table: string): Promise<string[]> {
  const r =
    dialect === 'sqlite'
      ? await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db)
      : await sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table}`.execute(db);
  return r.rows.map((c) => c.name);
}

/** The unique constraints (PostgreSQL) or indexes (SQLite) on `audit_events.id` alone, which the first releases created. */
async function uniqueAuditIdConstraints(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const r =
    dialect === 'sqlite'
      ? await sql<{ name: string }>`
          SELECT l.name FROM pragma_index_list('audit_events') AS l
          WHERE l."unique" = 1 AND (SELECT group_concat(name) FROM pragma_index_info(l.name)) = 'id'`.execute(db)
      : await sql<{ name: string }>`
          SELECT c.conname AS name FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey)
          WHERE n.nspname = current_schema() AND t.relname = 'audit_events' AND c.contype = 'u'
            AND a.attname = 'id' AND array_length(c.conkey, 1) = 1`.execute(db);
  return r.rows.map((c) => c.name);
}
