import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { GENESIS_HASH, hashEvent, verifyChain, type AuditEvent } from '../audit/index.js';
import { ConfigError, type AgentId, type EventId, type TaskId } from '../core/index.js';
import { MandateSchema } from '../mandate/index.js';
import { ROOT, dropPostgresSchema, postgresUrl } from '../../test/helpers.js';
import { LATEST_VERSION, type Dialect } from './migrate.js';
import { openPostgresStore, openSqliteStore, type Store } from './index.js';

/** The DDL of every shipped schema, extracted once from git history (test/fixtures/schemas/README.md). */
const FIXTURE_DIR = `${ROOT}test/fixtures/schemas/`;
const FIXTURES = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.sql'))
  .map((file) => ({ version: Number(file.split('-')[0]), commit: file.slice(file.indexOf('-') + 1, -'.sql'.length), ddl: readFileSync(FIXTURE_DIR + file, 'utf8') }))
  .sort((a, b) => a.version - b.version);
const TODAY = FIXTURES.at(-1)!;

/** A database of one dialect, reached both raw (to build old schemas) and through the store. */
interface Target {
  dialect: Dialect;
  raw(): Kysely<any>;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function sqliteTarget(): Target {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-upgrade-'));
  const file = join(dir, 'm.db');
  return {
    dialect: 'sqlite',
    raw: () => new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(file) }) }),
    open: () => openSqliteStore(file),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresTarget(base: string): Target {
  const schema = `upg_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const sep = base.includes('?') ? '&' : '?';
  return {
    dialect: 'postgres',
    raw: () => new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: base, max: 1, options: `-c search_path=${schema}` }) }) }),
    open: () => openPostgresStore(`${base}${sep}schema=${schema}`),
    cleanup: () => dropPostgresSchema(base, schema),
  };
}

const pgUrl = postgresUrl();
const dialects: [Dialect, () => Target][] = [['sqlite', sqliteTarget]];
if (pgUrl) dialects.push(['postgres', () => postgresTarget(pgUrl)]);
else it('PostgreSQL upgrades (set MANDATE_TEST_POSTGRES_URL to run)', { skip: 'no MANDATE_TEST_POSTGRES_URL outside CI' }, () => undefined);

async function withRaw<T>(t: Target, fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
  const db = t.raw();
  try {
    if (t.dialect === 'postgres') {
      const schema = (await sql<{ s: string }>`SELECT current_setting('search_path') AS s`.execute(db)).rows[0]!.s;
      await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
    }
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/** Runs a fixture's DDL, as the release that shipped it did at start-up. */
async function runDdl(db: Kysely<any>, ddl: string): Promise<void> {
  const statements = ddl
    .split('\n')
    .filter((l) => !l.startsWith('--'))
    .join('\n')
    .split(';\n')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of statements) await sql.raw(s).execute(db);
}

const AGENT = 'agt_upgradeagent01' as AgentId;
const TASK = 'tsk_upgradetask001' as TaskId;
const SEGMENT = 'replica-a';
const T0 = 1_700_000_000_000;

/** The mandate JSON as releases of that schema wrote it: `egress` arrived with the monitor (schema 5). */
function oldMandate(version: number): Record<string, unknown> {
  return {
    purpose: 'summarise the quarterly report',
    tools: [
      { name: 'files.read', args: { path: { prefix: '/srv/reports/', optional: false } } },
      { name: 'mail.send', args: {} },
    ],
    dataClasses: ['internal'],
    ...(version >= 5 ? { egress: [] } : {}),
    limits: { maxCalls: 20 },
    ttlSeconds: 900,
    onBehalfOf: 'alice',
  };
}

function chain(n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const type = seq === 1 ? 'task.granted' : 'decision';
    const data = seq === 1 ? { purpose: 'summarise the quarterly report' } : { tool: 'files.read', outcome: 'allow', argNames: ['path'] };
    const body = { segment: SEGMENT, seq, id: `evt_upgrade${String(seq).padStart(6, '0')}` as EventId, type, atMs: T0 + seq, taskId: TASK, agentId: AGENT, data, prevHash } as Omit<AuditEvent, 'hash'>;
    const hash = hashEvent(body);
    events.push({ ...body, hash });
    prevHash = hash;
  }
  return events;
}

/**
 * The version recognised in a database created at schema n and then started by a
 * release from before versioning: the tables it created keep their shape (the
 * unique audit id of 1 and 2, the labels column of 5 and 6, `task_behaviour` without
 * `tightened_by` from 5 to 9, `tasks` without `delegation_chain` up to 11), the rest is today's.
 */
const FOUND_AFTER_TODAYS_DDL: Record<number, number> = { 1: 2, 2: 2, 3: 11, 4: 11, 5: 6, 6: 6, 7: 9, 8: 9, 9: 9, 10: 11, 11: 11, 12: 15, 13: 15, 14: 15 };

/** Rows a deployment on that schema would have written, through the columns it had. */
async function fill(db: Kysely<any>, version: number): Promise<void> {
  await db.insertInto('settings').values({ key: 'admin_token_sha256', value: 'ab'.repeat(32) }).execute();
  await db
    .insertInto('signing_keys')
    .values({ kid: 'key-1', alg: 'ES256', private_jwk: JSON.stringify({ kty: 'EC', d: 'x' }), public_jwk: JSON.stringify({ kty: 'EC', x: 'x', y: 'y' }), created_at_ms: T0, retired_at_ms: null, drop_at_ms: null })
    .execute();
  await db
    .insertInto('agents')
    .values({ id: AGENT, name: 'reporter', spiffe_id: 'spiffe://example.org/agent/reporter', groups: JSON.stringify(['agents']), attestation: JSON.stringify({ joinToken: true, oidc: [] }), created_at_ms: T0, disabled_at_ms: null })
    .execute();
  await db
    .insertInto('tasks')
    .values({
      id: TASK,
      agent_id: AGENT,
      agent_name: 'reporter',
      spiffe_id: 'spiffe://example.org/agent/reporter',
      mandate: JSON.stringify(oldMandate(version)),
      principal: 'alice',
      parent_task_id: null,
      delegation_depth: 0,
      status: 'active',
      credential_id: 'crd_upgradecred01',
      created_at_ms: T0,
      expires_at_ms: T0 + 900_000,
      ended_at_ms: null,
      end_reason: null,
      call_count: 2,
    })
    .execute();
  await db.insertInto('revocations').values({ id: 'rev_upgrade00001', kind: 'credential', subject: 'crd_old', reason: 'rotated', created_at_ms: T0, expires_at_ms: 4_000_000_000_000 }).execute();
  for (const e of chain(3)) {
    await db
      .insertInto('audit_events')
      .values({ segment: e.segment, seq: e.seq, id: e.id, type: e.type, at_ms: e.atMs, task_id: e.taskId, agent_id: e.agentId, data: JSON.stringify(e.data), prev_hash: e.prevHash, hash: e.hash })
      .execute();
  }
  if (version >= 2) {
    await db.insertInto('secrets').values({ name: 'mail_token', version: 1, ciphertext: 'Y2lwaGVy', iv: 'aXY=', tag: 'dGFn', created_at_ms: T0 }).execute();
  }
  if (version >= 4) {
    await db
      .insertInto('approvals')
      .values({
        id: 'apr_upgrade00001',
        task_id: TASK,
        agent_id: AGENT,
        agent_name: 'reporter',
        principal: 'alice',
        tool: 'mail.send',
        args: JSON.stringify({ to: 'bob@example.org' }),
        args_hash: 'cd'.repeat(32),
        policies: JSON.stringify(['step-up-send']),
        purpose: 'summarise the quarterly report',
        approvers: JSON.stringify(['security']),
        separation_of_duties: 1,
        uses_left: 1,
        window_seconds: null,
        status: 'approved',
        created_at_ms: T0 + 10,
        expires_at_ms: T0 + 600_000,
        decided_by: 'carol',
        decided_at_ms: T0 + 20,
        valid_until_ms: T0 + 600_000,
        reason: 'expected',
        notify: 'sent',
      })
      .execute();
    await db.insertInto('approvers').values({ id: 'carol', groups: JSON.stringify(['security']), token_hash: 'ef'.repeat(32), created_at_ms: T0 }).execute();
  }
  if (version >= 5) {
    const behaviour = { task_id: TASK, tools_called: JSON.stringify(['files.read']), signals: JSON.stringify([]), suspended_by: null, step_up_by: null, score: 0, updated_at_ms: T0 + 30 };
    if (version < 7) await db.insertInto('task_behaviour').values({ ...behaviour, labels: JSON.stringify(['confidential', 'untrusted']) }).execute();
    else {
      await db.insertInto('task_behaviour').values(behaviour).execute();
      await db.insertInto('task_labels').values(['confidential', 'untrusted'].map((label) => ({ task_id: TASK, label }))).execute();
    }
  }
  if (version >= 6) {
    await db.insertInto('tools').values({ name: 'crm.lookup', spec: JSON.stringify({ name: 'crm.lookup', kind: 'read', risk: 'medium', labels: ['pii'], description: 'customer record' }), updated_at_ms: T0 }).execute();
  }
  if (version >= 8) {
    await db.insertInto('policy_sets').values({ version: 1, files: JSON.stringify([{ name: 'base.cedar', text: 'permit(principal, action, resource);' }]), hash: '12'.repeat(32), created_at_ms: T0, created_by: 'admin' }).execute();
  }
}

/** Checks what the old release stored reads back through today's store, then writes as a drift signal does. */
async function checkSurvived(store: Store, version: number): Promise<void> {
  const task = await store.tasks.get(TASK);
  assert.ok(task, 'the task survives');
  assert.deepEqual(task.mandate, MandateSchema.parse(oldMandate(version)));
  assert.equal(task.callCount, 2);
  assert.equal((await store.agents.get(AGENT))?.name, 'reporter');
  assert.equal((await store.keys.list()).length, 1);
  assert.equal(await store.settings.get('admin_token_sha256'), 'ab'.repeat(32));
  assert.deepEqual((await store.revocations.listActive(T0)).map((r) => r.id), ['rev_upgrade00001']);

  const report = await verifyChain(store.audit);
  assert.equal(report.ok, true, `the audit chain verifies: ${JSON.stringify(report.broken)}`);
  assert.deepEqual(report.segments.map((s) => [s.segment, s.events]), [[SEGMENT, 3]]);
  // The chain goes on from the old head.
  const head = (await store.audit.last(SEGMENT))!;
  const next = { segment: SEGMENT, seq: 4, id: 'evt_upgrade000004' as EventId, type: 'monitor.signal' as const, atMs: T0 + 40, taskId: TASK, agentId: null, data: { signal: 'plan_deviation' }, prevHash: head.hash };
  await store.audit.append([{ ...next, hash: hashEvent(next) }]);
  assert.equal((await verifyChain(store.audit)).ok, true);

  if (version >= 2) assert.equal((await store.secrets.latest('mail_token'))?.version, 1);
  if (version >= 4) {
    const approval = await store.approvals.get('apr_upgrade00001');
    assert.equal(approval?.status, 'approved');
    assert.deepEqual(approval?.args, { to: 'bob@example.org' });
    assert.deepEqual((await store.approvers.list()).map((a) => a.id), ['carol']);
  }
  const before = await store.behaviour.get(TASK);
  if (version >= 5) {
    assert.deepEqual(before?.labels, ['confidential', 'untrusted'], 'labels moved into task_labels');
    assert.deepEqual(before?.toolsCalled, ['files.read']);
  } else assert.equal(before, undefined);
  if (version >= 6) assert.deepEqual((await store.tools.list()).map((t) => t.name), ['crm.lookup']);
  if (version >= 8) assert.equal(await store.policies.latestVersion(), 1);

  // The write that failed with `NOT NULL constraint failed: task_behaviour.labels` on databases from before 7c7f4da.
  await store.behaviour.save(
    TASK,
    { labels: [...(before?.labels ?? []), 'pii'], toolsCalled: ['files.read', 'mail.send'], signals: ['plan_deviation'], suspendedBy: null, stepUpBy: 'plan_deviation', score: 3 },
    T0 + 50,
  );
  const after = await store.behaviour.get(TASK);
  assert.deepEqual(after?.labels, version >= 5 ? ['confidential', 'pii', 'untrusted'] : ['pii']);
  assert.equal(after?.stepUpBy, 'plan_deviation');
}

async function versions(t: Target): Promise<number[]> {
  return withRaw(t, async (db) => (await db.selectFrom('schema_version').select('version').orderBy('version').execute()).map((r) => Number(r.version)));
}

/** Tables, columns (in order, with type, nullability and key) and indexes, with the names each dialect makes up left out. */
async function describeSchema(t: Target): Promise<string[]> {
  return withRaw(t, async (db) => {
    const out: string[] = [];
    if (t.dialect === 'sqlite') {
      const tables = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version' ORDER BY name`.execute(db);
      for (const { name } of tables.rows) {
        const cols = await sql<{ name: string; type: string; notnull: number; pk: number }>`SELECT name, type, "notnull", pk FROM pragma_table_info(${name}) ORDER BY cid`.execute(db);
        out.push(`${name}(${cols.rows.map((c) => `${c.name} ${c.type.toLowerCase()}${c.notnull ? ' not null' : ''}${c.pk ? ` pk${c.pk}` : ''}`).join(', ')})`);
        const indexes = await sql<{ name: string; unique: number; origin: string; cols: string }>`
          SELECT l.name, l."unique", l.origin, (SELECT group_concat(name) FROM pragma_index_info(l.name)) AS cols
          FROM pragma_index_list(${name}) AS l`.execute(db);
        out.push(...indexes.rows.map((i) => `  ${i.origin === 'c' ? i.name : i.origin} ${i.unique ? 'unique ' : ''}on ${name}(${i.cols})`).sort());
      }
    } else {
      const tables = await sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_name <> 'schema_version' ORDER BY table_name`.execute(db);
      for (const { name } of tables.rows) {
        const cols = await sql<{ name: string; type: string; nullable: string }>`
          SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = ${name} ORDER BY ordinal_position`.execute(db);
        out.push(`${name}(${cols.rows.map((c) => `${c.name} ${c.type}${c.nullable === 'NO' ? ' not null' : ''}`).join(', ')})`);
        const indexes = await sql<{ def: string }>`
          SELECT regexp_replace(indexdef, ' ON \\S+\\.', ' ON ') AS def FROM pg_indexes
          WHERE schemaname = current_schema() AND tablename = ${name}`.execute(db);
        out.push(...indexes.rows.map((i) => `  ${i.def}`).sort());
      }
    }
    return out;
  });
}

for (const [dialect, makeTarget] of dialects) {
  describe(`schema upgrades: ${dialect}`, () => {
    const targets: Target[] = [];
    const target = () => {
      const t = makeTarget();
      targets.push(t);
      return t;
    };
    after(async () => {
      for (const t of targets) await t.cleanup();
    });

    let todaySchema: string[];
    it(`today's schema is the last fixture (${TODAY.commit}), and a fresh database runs every migration to it`, async () => {
      const reference = target();
      await withRaw(reference, (db) => runDdl(db, TODAY.ddl));
      todaySchema = await describeSchema(reference);
      assert.ok(todaySchema.some((l) => l.startsWith('task_labels(')));

      const fresh = target();
      const store = await fresh.open();
      await store.close();
      assert.deepEqual(await versions(fresh), FIXTURES.map((f) => f.version));
      assert.equal(TODAY.version, LATEST_VERSION);
      assert.deepEqual(await describeSchema(fresh), todaySchema);
    });

    for (const fixture of FIXTURES) {
      // `then-today`: created by that release, then started by a later release from before versioning, whose
      // `create table if not exists` added the new tables but left the old ones as they were (the 7c7f4da failure).
      for (const history of fixture.version < TODAY.version ? (['as shipped', 'then started by a release before versioning'] as const) : (['as shipped'] as const)) {
        it(`schema ${fixture.version} (${fixture.commit}) ${history}: data survives, the schema is today's, re-opening is a no-op`, async () => {
          const t = target();
          await withRaw(t, async (db) => {
            await runDdl(db, fixture.ddl);
            await fill(db, fixture.version);
            if (history !== 'as shipped') await runDdl(db, TODAY.ddl);
          });
          let store = await t.open();
          try {
            await checkSurvived(store, fixture.version);
          } finally {
            await store.close();
          }
          const recorded = await versions(t);
          assert.equal(recorded.at(-1), LATEST_VERSION);
          assert.equal(recorded[0], history === 'as shipped' ? fixture.version : FOUND_AFTER_TODAYS_DDL[fixture.version], 'the schema found is recorded first');
          assert.deepEqual(await describeSchema(t), todaySchema);

          const appliedBefore = await withRaw(t, (db) => db.selectFrom('schema_version').selectAll().orderBy('version').execute());
          store = await t.open();
          assert.equal((await store.behaviour.get(TASK))?.stepUpBy, 'plan_deviation');
          await store.close();
          assert.deepEqual(await withRaw(t, (db) => db.selectFrom('schema_version').selectAll().orderBy('version').execute()), appliedBefore, 're-opening changes nothing');
        });
      }
    }

    it('refuses a schema newer than this release, naming both versions, and leaves it alone', async () => {
      const t = target();
      await (await t.open()).close();
      await withRaw(t, (db) => db.insertInto('schema_version').values({ version: LATEST_VERSION + 1, applied_at_ms: T0 }).execute());
      await assert.rejects(
        t.open(),
        (err: unknown) =>
          err instanceof ConfigError && err.message === `store: the database schema is version ${LATEST_VERSION + 1} but this release knows up to version ${LATEST_VERSION}; upgrade mandate`,
      );
      assert.equal((await versions(t)).at(-1), LATEST_VERSION + 1);
    });

    if (dialect === 'postgres') {
      it('replicas starting at once: one migrates, the other waits and finds it done', async () => {
        const t = target();
        await withRaw(t, async () => undefined); // the schema exists, as it does for replicas of one deployment
        const stores = await Promise.all([t.open(), t.open(), t.open()]);
        for (const s of stores) await s.close();
        assert.deepEqual(await versions(t), FIXTURES.map((f) => f.version));
      });
    }
  });
}
