import type { AuditWitness } from '../../audit/index.js';
import type { AgentListing, ConsoleReads, TaskListQuery, TaskListing } from '../../console/index.js';
import { CodedError, parseId, type Clock, type TaskId, type ToolSpec } from '../../core/index.js';
import type { Report, ReportThresholds } from '../../report/index.js';
import type { Store } from '../../store/index.js';
import type { Config } from '../index.js';
import { compileReport } from './compliance-report.js';

/** A task of a tree with the tasks delegated from it. */
export interface TaskNode extends TaskListing {
  children: TaskNode[];
}

/** Where a list item sits in list order, as the API hands it out (opaque to callers). */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** A cursor of newest-first lists: `[createdAtMs, id]`. Errors: request.invalid. */
export function decodeTimeCursor(cursor: string): { createdAtMs: number; id: string } {
  const p = parseCursor(cursor);
  if (p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'string') return { createdAtMs: p[0], id: p[1] };
  throw new CodedError('request.invalid', 'query: cursor is not one this API returned');
}

function parseCursor(cursor: string): unknown[] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // falls through to the refusal
  }
  throw new CodedError('request.invalid', 'query: cursor is not one this API returned');
}

export interface ConsoleViewsDeps {
  reads: ConsoleReads;
  clock: Clock;
  /** What the compliance report reads. */
  report: { config: Config; store: Pick<Store, 'tools' | 'agents' | 'policies' | 'audit' | 'secrets'>; witness: AuditWitness | undefined; apiTools: readonly ToolSpec[]; flush(): Promise<void> };
}

/** Largest task tree returned whole; deeper or wider trees come back cut, marked `truncated`. */
const MAX_TREE_NODES = 1000;

/** The lists and views the operator console reads: each one query a page, never every task loaded. */
export class ConsoleViews {
  constructor(private readonly d: ConsoleViewsDeps) {}

  /** A page of tasks, newest first, and the cursor of the next page (null when this one was not full). */
  async tasks(q: Omit<TaskListQuery, 'nowMs' | 'before'> & { cursor?: string }): Promise<{ tasks: TaskListing[]; nextCursor: string | null }> {
    const { cursor, ...query } = q;
    const before = cursor === undefined ? undefined : decodeTimeCursor(cursor);
    const tasks = await this.d.reads.tasks({ ...query, ...(before ? { before } : {}), nowMs: this.d.clock.nowMs() });
    const last = tasks.at(-1);
    return { tasks, nextCursor: tasks.length === q.limit && last ? encodeCursor([last.task.createdAtMs, last.task.id]) : null };
  }

  /** The task with every task delegated from it, nested by parent. Errors: request.not_found. */
  async taskTree(id: string): Promise<{ tree: TaskNode; nodes: number; truncated: boolean }> {
    const taskId = parseId('task', id);
    const found = taskId ? await this.d.reads.taskTree(taskId as TaskId, MAX_TREE_NODES + 1) : [];
    if (found.length === 0) throw new CodedError('request.not_found', `no task \`${id}\``);
    const kept = found.slice(0, MAX_TREE_NODES);
    const nodes = new Map<string, TaskNode>(kept.map((l) => [l.task.id, { ...l, children: [] }]));
    // Breadth first: a parent is always read before its children, so each child finds it here.
    for (const node of nodes.values()) {
      const parent = node.task.parentTaskId === null || node.task.id === taskId ? undefined : nodes.get(node.task.parentTaskId);
      parent?.children.push(node);
    }
    return { tree: nodes.get(taskId!)!, nodes: kept.length, truncated: found.length > MAX_TREE_NODES };
  }

  /** A page of agents by name, each with when it was last seen and its live tasks. */
  async agents(q: { cursor?: string; limit: number }): Promise<{ agents: AgentListing[]; nextCursor: string | null }> {
    let afterName: string | undefined;
    if (q.cursor !== undefined) {
      const p = parseCursor(q.cursor);
      if (p.length !== 1 || typeof p[0] !== 'string') throw new CodedError('request.invalid', 'query: cursor is not one this API returned');
      afterName = p[0];
    }
    const agents = await this.d.reads.agents({ ...(afterName === undefined ? {} : { afterName }), limit: q.limit, nowMs: this.d.clock.nowMs() });
    const last = agents.at(-1);
    return { agents, nextCursor: agents.length === q.limit && last ? encodeCursor([last.agent.name]) : null };
  }

  /** The compliance report over the window, as `mandate report --format json` prints it; what was recorded until now is in it. */
  async report(window: { sinceMs: number | null; untilMs: number | null; thresholds: ReportThresholds }): Promise<Report> {
    const { flush, ...sources } = this.d.report;
    await flush();
    return compileReport(sources, { ...window, nowMs: this.d.clock.nowMs() });
  }
}
