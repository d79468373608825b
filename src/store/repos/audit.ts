import type { Selectable } from 'kysely';
import type { AuditEvent, AuditEventType } from '../../audit/index.js';
import type { AuditRepo } from '../../audit/index.js';
import { canonicalJson, type AgentId, type EventId, type TaskId } from '../../core/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { DataJson, parseJson } from './rows.js';

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

export const auditRepo: RepoFactory<AuditRepo> = (db) => ({
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
          // Canonical, so that verifying hashes the stored text as it is (`storedHashHolds`).
          data: e.dataText ?? canonicalJson(e.data),
          prev_hash: e.prevHash,
          hash: e.hash,
        })),
      )
      .execute();
  },
  async scan(segment, afterSeq, limit) {
    const rows = await db.selectFrom('audit_events').selectAll().where('segment', '=', segment).where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit).execute();
    return rows.map((r) => ({
      segment: r.segment,
      seq: Number(r.seq),
      id: r.id,
      type: r.type,
      atMs: Number(r.at_ms),
      taskId: r.task_id,
      agentId: r.agent_id,
      dataText: r.data,
      prevHash: r.prev_hash,
      hash: r.hash,
    }));
  },
  async last(segment) {
    const r = await db.selectFrom('audit_events').selectAll().where('segment', '=', segment).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r && toAuditEvent(r);
  },
  async list(q) {
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
});
