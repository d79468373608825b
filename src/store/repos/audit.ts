import { sql, type Selectable, type SelectQueryBuilder } from 'kysely';
import { decisionIdOf, type AuditEvent, type AuditEventType, type AuditFilter } from '../../audit/index.js';
import type { AuditRepo } from '../../audit/index.js';
import { canonicalJson, type AgentId, type EventId, type TaskId } from '../../core/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { DataJson, parseJson } from './rows.js';

type AuditSelect = SelectQueryBuilder<Database, 'audit_events', Selectable<Database['audit_events']>>;

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

export const auditRepo: RepoFactory<AuditRepo> = (db, dialect) => {
  /** Every condition of `f` on a query of events. */
  const filtered = (query: AuditSelect, f: AuditFilter): AuditSelect => {
    // An empty list matches nothing (`IN ()` is not SQL).
    if (f.types) query = query.where('type', 'in', f.types.length > 0 ? [...f.types] : ['']);
    if (f.taskIds) query = query.where('task_id', 'in', f.taskIds.length > 0 ? [...f.taskIds] : ['']);
    if (f.agentId) query = query.where('agent_id', '=', f.agentId);
    // The principal is the task's: events carry the task, tasks carry whom they act for.
    if (f.principal !== undefined) query = query.where('task_id', 'in', db.selectFrom('tasks').select('id').where('principal', '=', f.principal));
    if (f.outcome !== undefined) query = query.where(dialect.jsonText('data', 'outcome'), '=', f.outcome);
    if (f.code !== undefined) query = query.where(dialect.jsonText('data', 'code'), '=', f.code);
    if (f.tool !== undefined) query = query.where(dialect.jsonText('data', 'tool'), '=', f.tool);
    if (f.sinceMs !== undefined) query = query.where('at_ms', '>=', f.sinceMs);
    if (f.untilMs !== undefined) query = query.where('at_ms', '<', f.untilMs);
    return query;
  };
  return {
    async append(events) {
      if (events.length === 0) return;
      const decisions = events.flatMap((e) => {
        const decisionId = decisionIdOf(e);
        return decisionId === null ? [] : [{ decision_id: decisionId, segment: e.segment, seq: e.seq }];
      });
      // One transaction: a record and its place by decision id are stored together, or neither.
      await db.transaction().execute(async (tx) => {
        await tx
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
        // A decision id seen twice keeps its first place: a lookup table never refuses an audit record.
        if (decisions.length > 0) await tx.insertInto('audit_decisions').values(decisions).onConflict((oc) => oc.column('decision_id').doNothing()).execute();
      });
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
    async links(segment, afterSeq, limit) {
      const page = (upTo: number | undefined) => {
        let query = db.selectFrom('audit_events').select(['seq', 'prev_hash', 'hash', dialect.auditHashedText.as('hashed')]).where('segment', '=', segment).where('seq', '>', afterSeq);
        if (upTo !== undefined) query = query.where('seq', '<=', upTo);
        return query.orderBy('seq', 'asc').limit(limit).execute();
      };
      // Seqs have no gaps, so the next `limit` events are those up to afterSeq + limit. Bounded, no plan reads
      // the whole rest of the segment for each page (PostgreSQL sorts it all when its statistics are not yet
      // gathered); a short page (the end, or a gap) is read again unbounded.
      let rows = await page(afterSeq + limit);
      if (rows.length < limit) rows = await page(undefined);
      return rows.map((r) => ({ seq: Number(r.seq), prevHash: r.prev_hash, hash: r.hash, hashed: r.hashed }));
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
    async search(f, page) {
      let query = filtered(db.selectFrom('audit_events').selectAll(), f);
      const after = page.after;
      if (after) {
        // Keyset paging on the order's own key: a page starts strictly after the previous one's last event, whatever was added since.
        query = query.where((eb) => eb(eb.refTuple('at_ms', 'segment', 'seq'), page.order === 'asc' ? '>' : '<', eb.tuple(after.atMs, after.segment, after.seq)));
      }
      const rows = await query.orderBy('at_ms', page.order).orderBy('segment', page.order).orderBy('seq', page.order).limit(page.limit).execute();
      return rows.map(toAuditEvent);
    },
    async segments() {
      const rows = await db.selectFrom('audit_events').select('segment').distinct().orderBy('segment').execute();
      return rows.map((r) => r.segment);
    },
    async countDecisions(sinceMs, untilMs, bucketMs) {
      // Literals, not parameters: integers of our own, and both databases then divide as integers.
      const bucket = sql<number>`(at_ms - ${sql.lit(Math.trunc(sinceMs))}) / ${sql.lit(Math.max(1, Math.trunc(bucketMs)))}`;
      const rows = await db
        .selectFrom('audit_events')
        .select([bucket.as('bucket'), dialect.jsonText('data', 'outcome').as('outcome'), (eb) => eb.fn.countAll<number>().as('n')])
        .where('type', '=', 'decision')
        .where('at_ms', '>=', sinceMs)
        .where('at_ms', '<', untilMs)
        // By position: PostgreSQL cannot tell that the same parameterised expression in GROUP BY is the one selected.
        .groupBy([sql`1`, sql`2`])
        .execute();
      return rows.map((r) => ({ bucketStartMs: sinceMs + Number(r.bucket) * bucketMs, outcome: String(r.outcome), count: Number(r.n) }));
    },
    async countDecisionCodes(outcomes, sinceMs, untilMs, limit) {
      if (outcomes.length === 0) return [];
      const code = dialect.jsonText('data', 'code');
      const rows = await db
        .selectFrom('audit_events')
        .select([code.as('code'), (eb) => eb.fn.countAll<number>().as('n')])
        .where('type', '=', 'decision')
        .where('at_ms', '>=', sinceMs)
        .where('at_ms', '<', untilMs)
        .where(dialect.jsonText('data', 'outcome'), 'in', [...outcomes])
        .groupBy(sql`1`)
        .orderBy('n', 'desc')
        .orderBy('code', 'asc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ code: String(r.code), count: Number(r.n) }));
    },
    async countEvents(type, sinceMs, untilMs) {
      const r = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('type', '=', type)
        .where('at_ms', '>=', sinceMs)
        .where('at_ms', '<', untilMs)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },
    async decision(decisionId) {
      const r = await db
        .selectFrom('audit_decisions as d')
        .innerJoin('audit_events as e', (join) => join.onRef('e.segment', '=', 'd.segment').onRef('e.seq', '=', 'd.seq'))
        .selectAll('e')
        .where('d.decision_id', '=', decisionId)
        .executeTakeFirst();
      return r && toAuditEvent(r);
    },
    async heads() {
      const rows = await db.selectFrom('audit_events').select(['segment', (eb) => eb.fn.max('seq').as('seq')]).groupBy('segment').orderBy('segment').execute();
      return rows.map((r) => ({ segment: r.segment, seq: Number(r.seq) }));
    },
    async segmentsSince(sinceMs) {
      // The ordered subquery keeps SQLite on `audit_time` (recent events only); a plain DISTINCT walks the whole primary key.
      const recent = db.selectFrom('audit_events').select(['segment', 'at_ms']).where('at_ms', '>=', sinceMs).orderBy('at_ms').as('recent');
      const rows = await db.selectFrom(recent).select('recent.segment').distinct().execute();
      return rows.map((r) => r.segment).sort();
    },
    async headOf(segment) {
      const r = await db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).where('segment', '=', segment).executeTakeFirst();
      return r?.seq === null || r?.seq === undefined ? 0 : Number(r.seq);
    },
    async tail(segment, afterSeq, upToSeq, f, limit) {
      const rows = await filtered(db.selectFrom('audit_events').selectAll().where('segment', '=', segment).where('seq', '>', afterSeq).where('seq', '<=', upToSeq), f)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      return rows.map(toAuditEvent);
    },
  };
};
