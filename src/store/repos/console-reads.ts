import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { AgentListing, ConsoleReads, StoredDrift, TaskListing } from '../../console/index.js';
import type { Signal } from '../../monitor/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { toAgent } from './agents.js';
import { StringArrayJson, parseJson } from './rows.js';
import { toTask } from './tasks.js';

type TaskRow = Selectable<Database['tasks']> & { drift_score: number | null; drift_signals: string | null; drift_suspended_by: string | null };

const toListing = (r: TaskRow): TaskListing => ({ task: toTask(r), drift: driftOf(r) });

function driftOf(r: TaskRow): StoredDrift | null {
  if (r.drift_signals === null) return null;
  return { score: Number(r.drift_score), signals: parseJson(StringArrayJson, r.drift_signals, 'behaviour signals') as Signal[], suspendedBy: r.drift_suspended_by };
}

/** `%`, `_` and the escape itself are literal in a search text. */
const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Rows of ids fetched per statement: well under every driver's parameter limit. */
const CHUNK = 500;

export const consoleReads: RepoFactory<ConsoleReads> = (db, dialect) => {
  // The stored monitor summary comes with each task in the same query: a list costs one read, not one per task.
  const withDrift = () =>
    db
      .selectFrom('tasks')
      .leftJoin('task_behaviour', 'task_behaviour.task_id', 'tasks.id')
      .selectAll('tasks')
      .select(['task_behaviour.score as drift_score', 'task_behaviour.signals as drift_signals', 'task_behaviour.suspended_by as drift_suspended_by']);

  return {
    async tasks(q) {
      let query = withDrift();
      if (q.agentId) query = query.where('tasks.agent_id', '=', q.agentId);
      if (q.principal) query = query.where('tasks.principal', '=', q.principal);
      if (q.parentTaskId) query = query.where('tasks.parent_task_id', '=', q.parentTaskId);
      switch (q.status) {
        case undefined:
          break;
        case 'active':
          query = query.where('tasks.status', '=', 'active').where('tasks.expires_at_ms', '>', q.nowMs);
          break;
        case 'expired':
          query = query.where('tasks.status', '=', 'active').where('tasks.expires_at_ms', '<=', q.nowMs);
          break;
        default:
          query = query.where('tasks.status', '=', q.status);
      }
      if (q.purposeContains) {
        const purpose = dialect.jsonText('tasks.mandate', 'purpose');
        query = query.where(sql<boolean>`lower(${purpose}) like ${likePattern(q.purposeContains)} escape '\\'`);
      }
      const before = q.before;
      if (before) {
        query = query.where((eb: ExpressionBuilder<any, any>) =>
          eb.or([eb('tasks.created_at_ms', '<', before.createdAtMs), eb.and([eb('tasks.created_at_ms', '=', before.createdAtMs), eb('tasks.id', '<', before.id)])]),
        );
      }
      const rows = await query.orderBy('tasks.created_at_ms', 'desc').orderBy('tasks.id', 'desc').limit(q.limit).execute();
      return rows.map(toListing);
    },

    async taskTree(root, maxNodes) {
      // Parent links, followed down in SQL (tasks_parent): the tree comes back without a query per level.
      const found = await sql<{ id: string }>`
        with recursive tree(id, depth) as (
          select id, 0 from tasks where id = ${root}
          union all
          select t.id, tree.depth + 1 from tasks t join tree on t.parent_task_id = tree.id
        )
        select id from tree order by depth, id limit ${maxNodes}`.execute(db);
      const ids = found.rows.map((r) => r.id);
      const listings: TaskListing[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const rows = await withDrift().where('tasks.id', 'in', ids.slice(i, i + CHUNK)).execute();
        listings.push(...rows.map(toListing));
      }
      const order = new Map(ids.map((id, n) => [id, n]));
      return listings.sort((a, b) => order.get(a.task.id)! - order.get(b.task.id)!);
    },

    async agents(q) {
      let query = db
        .selectFrom('agents')
        .selectAll('agents')
        // Both answered from an index per agent (audit_agent, tasks_agent_status), in the one query for the page.
        .select((eb) => [
          eb.selectFrom('audit_events').select((e) => e.fn.max('audit_events.at_ms').as('m')).whereRef('audit_events.agent_id', '=', 'agents.id').as('last_seen_ms'),
          eb
            .selectFrom('tasks')
            .select((e) => e.fn.countAll().as('n'))
            .whereRef('tasks.agent_id', '=', 'agents.id')
            .where('tasks.status', '=', 'active')
            .where('tasks.expires_at_ms', '>', q.nowMs)
            .as('active_tasks'),
        ]);
      if (q.afterName !== undefined) query = query.where('agents.name', '>', q.afterName);
      const rows = await query.orderBy('agents.name').limit(q.limit).execute();
      return rows.map(
        (r): AgentListing => ({
          agent: toAgent(r),
          lastSeenMs: r.last_seen_ms === null || r.last_seen_ms === undefined ? null : Number(r.last_seen_ms),
          activeTasks: Number(r.active_tasks ?? 0),
        }),
      );
    },
  };
};
