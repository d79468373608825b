import type { Selectable } from 'kysely';
import type { AgentId, CredentialId, TaskId } from '../../core/index.js';
import { DelegationChainSchema, MandateSchema, type Task, type TaskStatus } from '../../mandate/index.js';
import type { TaskRepo } from '../../mandate/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { numberOrNull, parseJson } from './rows.js';

export const toTask = (r: Selectable<Database['tasks']>): Task => ({
  id: r.id as TaskId,
  agentId: r.agent_id as AgentId,
  agentName: r.agent_name,
  spiffeId: r.spiffe_id,
  mandate: parseJson(MandateSchema, r.mandate, 'task mandate'),
  principal: r.principal,
  parentTaskId: r.parent_task_id as TaskId | null,
  delegationDepth: Number(r.delegation_depth),
  chain: parseJson(DelegationChainSchema, r.delegation_chain, 'task delegation chain'),
  status: r.status as TaskStatus,
  credentialId: r.credential_id as CredentialId,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  endedAtMs: numberOrNull(r.ended_at_ms),
  endReason: r.end_reason,
  callCount: Number(r.call_count),
});

/** Tasks, with the call count as one atomic conditional UPDATE: exact across replicas sharing the store. */
export const taskRepo: RepoFactory<TaskRepo> = (db) => ({
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
        delegation_chain: JSON.stringify(t.chain),
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
  async countActive(nowMs) {
    const r = await db
      .selectFrom('tasks')
      .leftJoin('task_behaviour', 'task_behaviour.task_id', 'tasks.id')
      .select((eb) => [eb.fn.countAll<number>().as('active'), eb.fn.count<number>('task_behaviour.suspended_by').as('suspended')])
      .where('tasks.status', '=', 'active')
      .where('tasks.expires_at_ms', '>', nowMs)
      .executeTakeFirst();
    return { active: Number(r?.active ?? 0), suspended: Number(r?.suspended ?? 0) };
  },
  async list(q) {
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
});
