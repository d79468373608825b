import { sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { Approval, ApprovalStatus } from '../approvals/index.js';
import type { Signal } from '../monitor/index.js';
import type { AuditEvent, AuditEventType, AuditQuery } from '../audit/index.js';
import type { Revocation, RevocationKind } from '../credentials/index.js';
import { CodedError, ToolSpecSchema, type AgentId, type CredentialId, type EventId, type JoinTokenId, type TaskId } from '../core/index.js';
import type { Agent, JoinTokenRecord, SigningKeyRecord } from '../identity/index.js';
import { MandateSchema, type Task, type TaskQuery, type TaskStatus } from '../mandate/index.js';
import { migrate } from './migrate.js';
import type { ChangeFeed, Store } from './ports.js';
import type { Database } from './tables.js';

/** A unique-key violation, in either dialect's words. */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

// Rows come from outside the process: JSON columns are parsed with schemas before the domain sees them.
const AttestationJson = z.object({
  joinToken: z.boolean(),
  oidc: z.array(z.object({ issuer: z.string(), claims: z.record(z.string(), z.string()) })),
});
const StringArrayJson = z.array(z.string());
const JwkJson = z.record(z.string(), z.unknown());
const DataJson = z.record(z.string(), z.unknown());
const PolicyFilesJson = z.array(z.object({ name: z.string(), text: z.string() }));

function parseJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new TypeError(`store: corrupt ${what} row: ${parsed.error.message}`);
  return parsed.data;
}

const toAgent = (r: Selectable<Database['agents']>): Agent => ({
  id: r.id as AgentId,
  name: r.name,
  spiffeId: r.spiffe_id,
  groups: parseJson(StringArrayJson, r.groups, 'agent groups'),
  attestation: parseJson(AttestationJson, r.attestation, 'agent attestation'),
  createdAtMs: Number(r.created_at_ms),
  disabledAtMs: r.disabled_at_ms === null ? null : Number(r.disabled_at_ms),
});

const toTask = (r: Selectable<Database['tasks']>): Task => ({
  id: r.id as TaskId,
  agentId: r.agent_id as AgentId,
  agentName: r.agent_name,
  spiffeId: r.spiffe_id,
  mandate: parseJson(MandateSchema, r.mandate, 'task mandate'),
  principal: r.principal,
  parentTaskId: r.parent_task_id as TaskId | null,
  delegationDepth: Number(r.delegation_depth),
  status: r.status as TaskStatus,
  credentialId: r.credential_id as CredentialId,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  endedAtMs: r.ended_at_ms === null ? null : Number(r.ended_at_ms),
  endReason: r.end_reason,
  callCount: Number(r.call_count),
});

const toJoinToken = (r: Selectable<Database['join_tokens']>): JoinTokenRecord => ({
  id: r.id as JoinTokenId,
  tokenHash: r.token_hash,
  agentId: r.agent_id as AgentId,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  usedAtMs: r.used_at_ms === null ? null : Number(r.used_at_ms),
});

const toApproval = (r: Selectable<Database['approvals']>): Approval => ({
  id: r.id,
  taskId: r.task_id as TaskId,
  agentId: r.agent_id as AgentId,
  agentName: r.agent_name,
  principal: r.principal,
  tool: r.tool,
  args: parseJson(DataJson, r.args, 'approval args'),
  argsHash: r.args_hash,
  policies: parseJson(StringArrayJson, r.policies, 'approval policies'),
  purpose: r.purpose,
  approvers: parseJson(StringArrayJson, r.approvers, 'approval approvers'),
  separationOfDuties: Number(r.separation_of_duties) === 1,
  usesLeft: Number(r.uses_left),
  windowSeconds: r.window_seconds === null ? null : Number(r.window_seconds),
  status: r.status as ApprovalStatus,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  decidedBy: r.decided_by,
  decidedAtMs: r.decided_at_ms === null ? null : Number(r.decided_at_ms),
  reason: r.reason,
  notify: r.notify as Approval['notify'],
});

/** The approval's task is active: not ended, not past its expiry (and still there). */
const hasActiveTask = (eb: ExpressionBuilder<Database, 'approvals'>, nowMs: number) =>
  eb.exists(eb.selectFrom('tasks').select('tasks.id').whereRef('tasks.id', '=', 'approvals.task_id').where('tasks.status', '=', 'active').where('tasks.expires_at_ms', '>', nowMs));

const toAuditEvent = (r: Selectable<Database['audit_events']>): AuditEvent => ({
  segment: r.segment,
  seq: Number(r.seq),
  id: r.id as EventId,
  type: r.type as AuditEventType,
  atMs: Number(r.at_ms),
  taskId: r.task_id as TaskId | null,
  agentId: r.agent_id as AgentId | null,
  data: parseJson(DataJson, r.data, 'audit data'),
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** The one query layer: every repository over Kysely, whatever the dialect underneath. */
export async function kyselyStore(db: Kysely<Database>, kind: Store['kind'], changes: ChangeFeed): Promise<Store> {
  try {
    await migrate(db, kind);
  } catch (err) {
    // A refused or failed migration must not leave the pool or the listener holding the process open.
    await changes.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    throw err;
  }
  return {
    kind,
    keys: {
      async list() {
        const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at_ms', 'asc').execute();
        return rows.map(
          (r): SigningKeyRecord => ({
            kid: r.kid,
            alg: 'ES256',
            privateJwk: parseJson(JwkJson, r.private_jwk, 'signing key'),
            publicJwk: parseJson(JwkJson, r.public_jwk, 'signing key'),
            createdAtMs: Number(r.created_at_ms),
            retiredAtMs: r.retired_at_ms === null ? null : Number(r.retired_at_ms),
            dropAtMs: r.drop_at_ms === null ? null : Number(r.drop_at_ms),
          }),
        );
      },
      async insert(k) {
        await db
          .insertInto('signing_keys')
          .values({
            kid: k.kid,
            alg: k.alg,
            private_jwk: JSON.stringify(k.privateJwk),
            public_jwk: JSON.stringify(k.publicJwk),
            created_at_ms: k.createdAtMs,
            retired_at_ms: k.retiredAtMs,
            drop_at_ms: k.dropAtMs,
          })
          .execute();
      },
      async retire(kid, retiredAtMs, dropAtMs) {
        await db
          .updateTable('signing_keys')
          .set({ retired_at_ms: retiredAtMs, drop_at_ms: dropAtMs })
          .where('kid', '=', kid)
          .where('retired_at_ms', 'is', null)
          .execute();
      },
    },
    agents: {
      async insert(a) {
        try {
          await db
            .insertInto('agents')
            .values({
              id: a.id,
              name: a.name,
              spiffe_id: a.spiffeId,
              groups: JSON.stringify(a.groups),
              attestation: JSON.stringify(a.attestation),
              created_at_ms: a.createdAtMs,
              disabled_at_ms: a.disabledAtMs,
            })
            .execute();
        } catch (err) {
          if (isUniqueViolation(err)) throw new CodedError('identity.agent_exists', `agent \`${a.name}\` is already registered`);
          throw err;
        }
      },
      async get(id) {
        const r = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
        return r && toAgent(r);
      },
      async getByName(name) {
        const r = await db.selectFrom('agents').selectAll().where('name', '=', name).executeTakeFirst();
        return r && toAgent(r);
      },
      async list() {
        const rows = await db.selectFrom('agents').selectAll().orderBy('name').execute();
        return rows.map(toAgent);
      },
      async disable(id, atMs) {
        await db.updateTable('agents').set({ disabled_at_ms: atMs }).where('id', '=', id).where('disabled_at_ms', 'is', null).execute();
      },
    },
    joinTokens: {
      async insert(t) {
        await db
          .insertInto('join_tokens')
          .values({
            id: t.id,
            token_hash: t.tokenHash,
            agent_id: t.agentId,
            created_at_ms: t.createdAtMs,
            expires_at_ms: t.expiresAtMs,
            used_at_ms: t.usedAtMs,
          })
          .execute();
      },
      async consume(tokenHash, nowMs) {
        // One conditional UPDATE: two attestations racing with the same token cannot both win.
        const r = await db
          .updateTable('join_tokens')
          .set({ used_at_ms: nowMs })
          .where('token_hash', '=', tokenHash)
          .where('used_at_ms', 'is', null)
          .where('expires_at_ms', '>', nowMs)
          .returningAll()
          .executeTakeFirst();
        return r && toJoinToken(r);
      },
    },
    tasks: {
      async insert(t) {
        await db
          .insertInto('tasks')
          .values({
            id: t.id,
            agent_id: t.agentId,
            agent_name: t.agentName,
            spiffe_id: t.spiffeId,
            mandate: JSON.stringify(t.mandate),
            principal: t.principal,
            parent_task_id: t.parentTaskId,
            delegation_depth: t.delegationDepth,
            status: t.status,
            credential_id: t.credentialId,
            created_at_ms: t.createdAtMs,
            expires_at_ms: t.expiresAtMs,
            ended_at_ms: t.endedAtMs,
            end_reason: t.endReason,
            call_count: t.callCount,
          })
          .execute();
      },
      async get(id) {
        const r = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
        return r && toTask(r);
      },
      async list(q: TaskQuery) {
        let query = db.selectFrom('tasks').selectAll();
        if (q.agentId) query = query.where('agent_id', '=', q.agentId);
        if (q.status) query = query.where('status', '=', q.status);
        if (q.principal) query = query.where('principal', '=', q.principal);
        if (q.parentTaskId) query = query.where('parent_task_id', '=', q.parentTaskId);
        const rows = await query
          .orderBy('created_at_ms', 'desc')
          .orderBy('id', 'desc')
          .limit(q.limit ?? 100)
          .execute();
        return rows.map(toTask);
      },
      async incrementCalls(id, maxCalls) {
        let query = db
          .updateTable('tasks')
          .set((eb) => ({ call_count: eb('call_count', '+', 1) }))
          .where('id', '=', id)
          .where('status', '=', 'active');
        if (maxCalls !== null) query = query.where('call_count', '<', maxCalls);
        const r = await query.returning('call_count').executeTakeFirst();
        return r === undefined ? undefined : Number(r.call_count);
      },
      async end(id, status, atMs, reason) {
        const r = await db
          .updateTable('tasks')
          .set({ status, ended_at_ms: atMs, end_reason: reason })
          .where('id', '=', id)
          .where('status', '=', 'active')
          .executeTakeFirst();
        return Number(r.numUpdatedRows) === 1;
      },
    },
    revocations: {
      async insert(r) {
        await db
          .insertInto('revocations')
          .values({
            id: r.id,
            kind: r.kind,
            subject: r.subject,
            reason: r.reason,
            created_at_ms: r.createdAtMs,
            expires_at_ms: r.expiresAtMs,
          })
          .execute();
      },
      async listActive(nowMs) {
        const rows = await db.selectFrom('revocations').selectAll().where('expires_at_ms', '>', nowMs).execute();
        return rows.map(
          (r): Revocation => ({
            id: r.id,
            kind: r.kind as RevocationKind,
            subject: r.subject,
            reason: r.reason,
            createdAtMs: Number(r.created_at_ms),
            expiresAtMs: Number(r.expires_at_ms),
          }),
        );
      },
    },
    audit: {
      async append(events) {
        if (events.length === 0) return;
        await db
          .insertInto('audit_events')
          .values(
            events.map((e) => ({
              segment: e.segment,
              seq: e.seq,
              id: e.id,
              type: e.type,
              at_ms: e.atMs,
              task_id: e.taskId,
              agent_id: e.agentId,
              data: JSON.stringify(e.data),
              prev_hash: e.prevHash,
              hash: e.hash,
            })),
          )
          .execute();
      },
      async last(segment) {
        const r = await db.selectFrom('audit_events').selectAll().where('segment', '=', segment).orderBy('seq', 'desc').limit(1).executeTakeFirst();
        return r && toAuditEvent(r);
      },
      async list(q: AuditQuery) {
        let query = db.selectFrom('audit_events').selectAll();
        if (q.type) query = query.where('type', '=', q.type);
        if (q.taskId) query = query.where('task_id', '=', q.taskId);
        if (q.segment) query = query.where('segment', '=', q.segment);
        if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq);
        const order = q.order ?? 'asc';
        // Within a segment seq is the order of record; across segments, time is.
        if (!q.segment) query = query.orderBy('at_ms', order).orderBy('segment', order);
        const rows = await query
          .orderBy('seq', order)
          .limit(q.limit ?? 100)
          .execute();
        return rows.map(toAuditEvent);
      },
      async segments() {
        const rows = await db.selectFrom('audit_events').select('segment').distinct().orderBy('segment').execute();
        return rows.map((r) => r.segment);
      },
    },
    settings: {
      async get(key) {
        const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
        return r?.value;
      },
      async setIfAbsent(key, value) {
        await db
          .insertInto('settings')
          .values({ key, value })
          .onConflict((oc) => oc.column('key').doNothing())
          .execute();
        const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
        return r.value;
      },
    },
    approvals: {
      async insert(a) {
        await db
          .insertInto('approvals')
          .values({
            id: a.id,
            task_id: a.taskId,
            agent_id: a.agentId,
            agent_name: a.agentName,
            principal: a.principal,
            tool: a.tool,
            args: JSON.stringify(a.args),
            args_hash: a.argsHash,
            policies: JSON.stringify(a.policies),
            purpose: a.purpose,
            approvers: JSON.stringify(a.approvers),
            separation_of_duties: a.separationOfDuties ? 1 : 0,
            uses_left: a.usesLeft,
            window_seconds: a.windowSeconds,
            status: a.status,
            created_at_ms: a.createdAtMs,
            expires_at_ms: a.expiresAtMs,
            decided_by: a.decidedBy,
            decided_at_ms: a.decidedAtMs,
            valid_until_ms: null,
            reason: a.reason,
            notify: a.notify,
          })
          .execute();
      },
      async get(id) {
        const r = await db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirst();
        return r && toApproval(r);
      },
      async list(q) {
        let query = db.selectFrom('approvals').selectAll();
        if (q.status) query = query.where('status', '=', q.status);
        if (q.taskId) query = query.where('task_id', '=', q.taskId);
        const rows = await query.orderBy('created_at_ms', 'desc').orderBy('id', 'desc').limit(q.limit ?? 100).execute();
        return rows.map(toApproval);
      },
      async latestFor(taskId, tool, argsHash) {
        const r = await db
          .selectFrom('approvals')
          .selectAll()
          .where('task_id', '=', taskId)
          .where('tool', '=', tool)
          .where('args_hash', '=', argsHash)
          .orderBy('created_at_ms', 'desc')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        return r && toApproval(r);
      },
      async consume(taskId, tool, argsHash, nowMs) {
        // One conditional UPDATE of the oldest usable approval: two calls racing for the last use cannot both win.
        const r = await db
          .updateTable('approvals')
          .set((eb) => ({ uses_left: eb('uses_left', '-', 1), status: eb.case().when('uses_left', '=', 1).then('consumed').else('approved').end() }))
          .where('id', '=', (eb) =>
            eb
              .selectFrom('approvals')
              .select('id')
              .where('task_id', '=', taskId)
              .where('tool', '=', tool)
              .where('args_hash', '=', argsHash)
              .where('status', '=', 'approved')
              .where('uses_left', '>', 0)
              .where((w) => w.or([w('valid_until_ms', 'is', null), w('valid_until_ms', '>', nowMs)]))
              .orderBy('decided_at_ms', 'asc')
              .limit(1),
          )
          .where('status', '=', 'approved')
          .where('uses_left', '>', 0)
          .returningAll()
          .executeTakeFirst();
        return r && toApproval(r);
      },
      async decide(id, status, by, reason, nowMs) {
        const r = await db
          .updateTable('approvals')
          .set((eb) => ({
            status,
            decided_by: by,
            decided_at_ms: nowMs,
            reason,
            // An approval is usable until the request would have expired, or for its window after approval.
            valid_until_ms: eb.case().when('window_seconds', 'is', null).then(eb.ref('expires_at_ms')).else(eb(eb.val(nowMs), '+', eb('window_seconds', '*', 1000))).end(),
          }))
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .where('expires_at_ms', '>', nowMs)
          // INVARIANT: a request is decided only while its task is active, whatever another replica did a moment ago.
          .where((eb) => hasActiveTask(eb, nowMs))
          .returningAll()
          .executeTakeFirst();
        return r && toApproval(r);
      },
      async expire(nowMs) {
        const rows = await db.updateTable('approvals').set({ status: 'expired' }).where('status', '=', 'pending').where('expires_at_ms', '<=', nowMs).returningAll().execute();
        return rows.map(toApproval);
      },
      async cancelOrphaned(nowMs) {
        const rows = await db
          .updateTable('approvals')
          .set({ status: 'cancelled', decided_at_ms: nowMs, reason: 'the task is no longer active' })
          .where('status', '=', 'pending')
          .where((eb) => eb.not(hasActiveTask(eb, nowMs)))
          .returningAll()
          .execute();
        return rows.map(toApproval);
      },
      async setNotify(id, notify) {
        await db.updateTable('approvals').set({ notify }).where('id', '=', id).execute();
      },
    },
    policies: {
      async insert(p) {
        await db
          .insertInto('policy_sets')
          .values({ version: p.version, files: JSON.stringify(p.files), hash: p.hash, created_at_ms: p.createdAtMs, created_by: p.createdBy })
          .execute();
      },
      async latest() {
        const r = await db.selectFrom('policy_sets').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
        return (
          r && {
            version: Number(r.version),
            files: parseJson(PolicyFilesJson, r.files, 'policy files'),
            hash: r.hash,
            createdAtMs: Number(r.created_at_ms),
            createdBy: r.created_by,
          }
        );
      },
      async latestVersion() {
        const r = await db.selectFrom('policy_sets').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
        return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
      },
    },
    tools: {
      async upsert(spec, atMs) {
        const row = { spec: JSON.stringify(spec), updated_at_ms: atMs };
        await db
          .insertInto('tools')
          .values({ name: spec.name, ...row })
          .onConflict((oc) => oc.column('name').doUpdateSet(row))
          .execute();
      },
      async list() {
        const rows = await db.selectFrom('tools').selectAll().orderBy('name').execute();
        return rows.map((r) => parseJson(ToolSpecSchema, r.spec, 'tool spec'));
      },
    },
    behaviour: {
      async get(taskId) {
        const r = await db.selectFrom('task_behaviour').selectAll().where('task_id', '=', taskId).executeTakeFirst();
        const labels = (await db.selectFrom('task_labels').select('label').where('task_id', '=', taskId).orderBy('label').execute()).map((l) => l.label);
        if (!r && labels.length === 0) return undefined;
        return {
          labels,
          toolsCalled: r ? parseJson(StringArrayJson, r.tools_called, 'behaviour tools') : [],
          signals: r ? (parseJson(StringArrayJson, r.signals, 'behaviour signals') as Signal[]) : [],
          suspendedBy: (r?.suspended_by ?? null) as Signal | null,
          stepUpBy: (r?.step_up_by ?? null) as Signal | null,
          score: r ? Number(r.score) : 0,
        };
      },
      async save(taskId, b, atMs) {
        // Labels are rows, only ever added: two replicas recording labels at once both keep theirs.
        if (b.labels.length > 0) {
          await db
            .insertInto('task_labels')
            .values(b.labels.map((label) => ({ task_id: taskId, label })))
            .onConflict((oc) => oc.columns(['task_id', 'label']).doNothing())
            .execute();
        }
        const row = {
          tools_called: JSON.stringify(b.toolsCalled),
          signals: JSON.stringify(b.signals),
          suspended_by: b.suspendedBy,
          step_up_by: b.stepUpBy,
          score: b.score,
          updated_at_ms: atMs,
        };
        await db
          .insertInto('task_behaviour')
          .values({ task_id: taskId, ...row })
          .onConflict((oc) => oc.column('task_id').doUpdateSet(row))
          .execute();
      },
    },
    approvers: {
      async insert(a) {
        try {
          await db.insertInto('approvers').values({ id: a.id, groups: JSON.stringify(a.groups), token_hash: a.tokenHash, created_at_ms: a.createdAtMs }).execute();
        } catch (err) {
          if (isUniqueViolation(err)) throw new CodedError('request.conflict', `approver \`${a.id}\` already exists`);
          throw err;
        }
      },
      async byTokenHash(hash) {
        const r = await db.selectFrom('approvers').selectAll().where('token_hash', '=', hash).executeTakeFirst();
        return r && { id: r.id, groups: parseJson(StringArrayJson, r.groups, 'approver groups'), tokenHash: r.token_hash, createdAtMs: Number(r.created_at_ms) };
      },
      async list() {
        const rows = await db.selectFrom('approvers').selectAll().orderBy('id').execute();
        return rows.map((r) => ({ id: r.id, groups: parseJson(StringArrayJson, r.groups, 'approver groups'), tokenHash: r.token_hash, createdAtMs: Number(r.created_at_ms) }));
      },
    },
    secrets: {
      async insert(r) {
        await db
          .insertInto('secrets')
          .values({ name: r.name, version: r.version, ciphertext: r.ciphertext, iv: r.iv, tag: r.tag, created_at_ms: r.createdAtMs })
          .execute();
      },
      async latest(name) {
        const r = await db.selectFrom('secrets').selectAll().where('name', '=', name).orderBy('version', 'desc').limit(1).executeTakeFirst();
        return r && { name: r.name, version: Number(r.version), ciphertext: r.ciphertext, iv: r.iv, tag: r.tag, createdAtMs: Number(r.created_at_ms) };
      },
      async list() {
        const rows = await db
          .selectFrom('secrets as s')
          .select(['s.name', 's.version', 's.created_at_ms'])
          .where(({ eb, selectFrom }) => eb('s.version', '=', selectFrom('secrets as n').select(({ fn }) => fn.max('n.version').as('v')).whereRef('n.name', '=', 's.name')))
          .orderBy('s.name')
          .execute();
        return rows.map((r) => ({ name: r.name, version: Number(r.version), createdAtMs: Number(r.created_at_ms) }));
      },
    },
    changes,
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    close: async () => {
      await changes.close();
      await db.destroy();
    },
  };
}
