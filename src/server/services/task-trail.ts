import type { AuditEvent } from '../../audit/index.js';
import type { Task } from '../../mandate/index.js';

/** A task as its trail shows it: who acted, for whom, why, and how it ended. */
export interface TrailTask {
  id: string;
  agent: string;
  agentId: string;
  principal: string | null;
  purpose: string;
  parentTask: string | null;
  delegationDepth: number;
  status: Task['status'];
  createdAtMs: number;
  expiresAtMs: number;
  endedAtMs: number | null;
  endReason: string | null;
}

/**
 * One call: its decision, the result the enforcement point reported, and the
 * records that name the decision (a withdrawal, the approval it used, the signal
 * it fired). `labels` and `toolsCalled` are the task's as they stood at the decision.
 */
export interface CallStep {
  kind: 'call';
  taskId: string;
  atMs: number;
  decisionId: string;
  tool: string;
  outcome: string;
  code: string | null;
  labels: string[];
  toolsCalled: string[];
  decision: AuditEvent;
  result: AuditEvent | null;
  related: AuditEvent[];
}

/** Anything else the task's trail holds: its grant (the purpose), approvals, signals, revocation, completion. */
export interface EventStep {
  kind: 'event';
  taskId: string;
  atMs: number;
  event: AuditEvent;
}

export type TrailStep = CallStep | EventStep;

export interface TaskTrail {
  task: TrailTask;
  /** The task, then every task delegated from it (directly or not), in the order they were granted. */
  tasks: TrailTask[];
  /** Every step of those tasks in the order it was recorded: a child's grant shows where it was delegated. */
  steps: TrailStep[];
  /** More tasks or events than one trail returns: the rest is in `GET /v1/audit?task=…`. */
  truncated: boolean;
}

export function trailTask(t: Task): TrailTask {
  return {
    id: t.id,
    agent: t.agentName,
    agentId: t.agentId,
    principal: t.principal,
    purpose: t.mandate.purpose,
    parentTask: t.parentTaskId,
    delegationDepth: t.delegationDepth,
    status: t.status,
    createdAtMs: t.createdAtMs,
    expiresAtMs: t.expiresAtMs,
    endedAtMs: t.endedAtMs,
    endReason: t.endReason,
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * Puts a task tree's events (in recorded order) into steps: each decision opens a
 * call, and the result and records naming its `decisionId` join it. A result
 * reported without a decision id joins the task's latest allowed call of that
 * tool still without one. Decisions record set-valued state as what was added
 * since the task's previous record (`labelsAdded`, `toolsCalledAdded`; older
 * records carry whole sets): each call gets the sets added up to it.
 */
export function assembleTrail(root: Task, tasks: readonly Task[], events: readonly AuditEvent[], truncated: boolean): TaskTrail {
  // Calls first: a drift signal is recorded before the decision that fired it, and still belongs to that call.
  const calls = new Map<string, CallStep>();
  const sets = new Map<string, { labels: Set<string>; tools: Set<string> }>();
  for (const e of events) {
    const decisionId = str(e.data.decisionId);
    if (e.type !== 'decision' || decisionId === undefined || calls.has(decisionId)) continue;
    const taskId = e.taskId ?? root.id;
    const s = sets.get(taskId) ?? { labels: new Set<string>(), tools: new Set<string>() };
    sets.set(taskId, s);
    for (const l of strings(e.data.labelsAdded ?? e.data.labels)) s.labels.add(l);
    for (const t of strings(e.data.toolsCalledAdded ?? e.data.toolsCalled)) s.tools.add(t);
    calls.set(decisionId, {
      kind: 'call',
      taskId,
      atMs: e.atMs,
      decisionId,
      tool: str(e.data.tool) ?? '',
      outcome: str(e.data.outcome) ?? '',
      code: str(e.data.code) ?? null,
      labels: [...s.labels],
      toolsCalled: [...s.tools],
      decision: e,
      result: null,
      related: [],
    });
  }
  const steps: TrailStep[] = [];
  for (const e of events) {
    const taskId = e.taskId ?? root.id;
    const decisionId = str(e.data.decisionId);
    const own = decisionId !== undefined ? calls.get(decisionId) : undefined;
    if (e.type === 'decision' && own?.decision === e) {
      steps.push(own);
      continue;
    }
    const call = own ?? (e.type === 'tool.result' && decisionId === undefined ? unansweredCall(steps, taskId, str(e.data.tool)) : undefined);
    if (!call) steps.push({ kind: 'event', taskId, atMs: e.atMs, event: e });
    else if (e.type === 'tool.result' && call.result === null) call.result = e;
    else call.related.push(e);
  }
  return { task: trailTask(root), tasks: tasks.map(trailTask), steps, truncated };
}

/** The task's latest allowed call of `tool` with no result yet. */
function unansweredCall(steps: readonly TrailStep[], taskId: string, tool: string | undefined): CallStep | undefined {
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.kind === 'call' && s.taskId === taskId && s.tool === tool && s.outcome === 'allow' && s.result === null) return s;
  }
  return undefined;
}
