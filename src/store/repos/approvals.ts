import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { Approval, ApprovalStatus } from '../../approvals/index.js';
import type { ApprovalRepo } from '../../approvals/index.js';
import type { AgentId, TaskId } from '../../core/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { DataJson, StringArrayJson, numberOrNull, parseJson } from './rows.js';

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
  windowSeconds: numberOrNull(r.window_seconds),
  status: r.status as ApprovalStatus,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  decidedBy: r.decided_by,
  decidedAtMs: numberOrNull(r.decided_at_ms),
  reason: r.reason,
  notify: r.notify as Approval['notify'],
});

/** The approval's task is active: not ended, not past its expiry (and still there). */
const hasActiveTask = (eb: ExpressionBuilder<Database, 'approvals'>, nowMs: number) =>
  eb.exists(eb.selectFrom('tasks').select('tasks.id').whereRef('tasks.id', '=', 'approvals.task_id').where('tasks.status', '=', 'active').where('tasks.expires_at_ms', '>', nowMs));

/** `task completed: <its end reason>`, `task revoked: …`, `task expired`, or `task gone` for a row that no longer exists. */
const CANCEL_REASON = sql<string>`coalesce((select case when t.status <> 'active' then 'task ' || t.status || coalesce(': ' || t.end_reason, '') else 'task expired' end from tasks t where t.id = approvals.task_id), 'task gone')`;

export const approvalRepo: RepoFactory<ApprovalRepo> = (db) => ({
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
    const [past, direction] = q.order === 'oldest' ? (['>', 'asc'] as const) : (['<', 'desc'] as const);
    const before = q.before;
    if (before) query = query.where((eb) => eb.or([eb('created_at_ms', past, before.createdAtMs), eb.and([eb('created_at_ms', '=', before.createdAtMs), eb('id', past, before.id)])]));
    const rows = await query.orderBy('created_at_ms', direction).orderBy('id', direction).limit(q.limit ?? 100).execute();
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
      // The reason names how the task ended, read from its row in the same statement.
      .set({ status: 'cancelled', decided_at_ms: nowMs, reason: CANCEL_REASON })
      .where('status', '=', 'pending')
      .where((eb) => eb.not(hasActiveTask(eb, nowMs)))
      .returningAll()
      .execute();
    return rows.map(toApproval);
  },
  async countPending(nowMs) {
    const row = await db.selectFrom('approvals').select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).where('status', '=', 'pending').where('expires_at_ms', '>', nowMs).executeTakeFirst();
    return Number(row?.n ?? 0);
  },
  async setNotify(id, notify) {
    await db.updateTable('approvals').set({ notify }).where('id', '=', id).execute();
  },
});
