import type { SourceTrust, TargetProvenance } from '../provenance/index.js';

/**
 * What a task did, compared with what it declared: the pure half of the monitor.
 * Counters are per replica (approximate signals); labels, the tools called and a
 * suspension are kept in the store so every replica sees them.
 */
export const SIGNALS = ['undeclared_tools', 'arg_violations', 'repeated_denials', 'forbidden_secret', 'rate_burst', 'plan_deviation'] as const;
export type Signal = (typeof SIGNALS)[number];

/**
 * What a signal does: `alert` records it (and posts it); `tighten` alerts and from
 * then on refuses calls whose targets came from untrusted content or from nowhere,
 * while the task's declared and trusted work goes on; `step_up` puts high-risk
 * calls behind a person; `suspend` refuses everything until a person resumes the
 * task; `revoke` ends it.
 */
export const RESPONSES = ['alert', 'tighten', 'step_up', 'suspend', 'revoke'] as const;
export type DriftResponse = (typeof RESPONSES)[number];

/** Who suspended a task: the signal whose `suspend` response did, or an operator (`POST /v1/tasks/{id}/suspend`). */
export type Suspension = Signal | 'operator';

export interface MonitorSettings {
  /** Denials within a minute that make `repeated_denials`. */
  denialsPerMinute: number;
  responses: Record<Signal, DriftResponse>;
}

export const DEFAULT_RESPONSES: Record<Signal, DriftResponse> = {
  undeclared_tools: 'alert',
  arg_violations: 'alert',
  // Refused calls are usually an injection being refused: contain it, do not lock the user out of their task.
  repeated_denials: 'tighten',
  forbidden_secret: 'revoke',
  rate_burst: 'alert',
  plan_deviation: 'alert',
};

export interface Behaviour {
  calls: number;
  denials: number;
  recentDenialsMs: number[];
  undeclared: number;
  argViolations: number;
  resultBytes: number;
  /** Labels of everything the task has read: later decisions see them (`context.task.labels`). */
  labels: string[];
  toolsCalled: string[];
  signals: Signal[];
  /** How far along its declared plan the task is (index of the last step used). */
  planPosition: number;
  /** The signal whose response suspended the task, or `operator`, if any. */
  suspendedBy: Suspension | null;
  /** The signal whose response puts high-risk calls behind an approval, if any. */
  stepUpBy: Signal | null;
  /** The signal whose response refuses calls to untrusted or unseen targets, if any. */
  tightenedBy: Signal | null;
  /** Values the task has seen in results, as salted hashes, and whether the content was trusted (src/provenance). */
  seen: Map<string, SourceTrust>;
  /** How many of `labels` and `toolsCalled` this replica's trail already holds: a decision record carries only what came after. Not stored. */
  trailed: { labels: number; toolsCalled: number };
}

export function freshBehaviour(): Behaviour {
  return { calls: 0, denials: 0, recentDenialsMs: [], undeclared: 0, argViolations: 0, resultBytes: 0, labels: [], toolsCalled: [], signals: [], planPosition: 0, suspendedBy: null, stepUpBy: null, tightenedBy: null, seen: new Map(), trailed: { labels: 0, toolsCalled: 0 } };
}

export interface ObservedDecision {
  outcome: 'allow' | 'deny' | 'step_up';
  code: string;
  tool: string;
  toolKind: string | undefined;
  /** The mandate's declared order of tools, if any. */
  plan?: readonly string[] | undefined;
  /** The decision observed, so a signal's record points at the call that fired it. */
  decisionId?: string;
  /** Where the call's targets came from (no values). */
  targets?: readonly TargetProvenance[];
}

/** Updates the counters with one decision and returns the signals it fires (each once per task). */
export function observeDecision(b: Behaviour, d: ObservedDecision, nowMs: number, settings: MonitorSettings): Signal[] {
  const fired: Signal[] = [];
  const fire = (s: Signal) => {
    if (!b.signals.includes(s)) {
      b.signals.push(s);
      fired.push(s);
    }
  };
  b.calls += 1;
  if (d.outcome === 'allow' && !b.toolsCalled.includes(d.tool)) b.toolsCalled.push(d.tool);
  if (d.outcome === 'allow' && d.plan) {
    // Steps may repeat or be skipped forward; going back, or a tool outside the plan, is a deviation.
    const at = d.plan.indexOf(d.tool, b.planPosition);
    if (at === -1) fire('plan_deviation');
    else b.planPosition = at;
  }
  if (d.outcome !== 'deny') return fired;
  b.denials += 1;
  // Only whether `denialsPerMinute` fell within a minute matters: the last that many are all it keeps.
  const recent = b.recentDenialsMs.filter((t) => t > nowMs - 60_000);
  b.recentDenialsMs = recent.slice(Math.max(0, recent.length - (settings.denialsPerMinute - 1)));
  b.recentDenialsMs.push(nowMs);
  if (d.code === 'mandate.tool_not_declared') {
    b.undeclared += 1;
    fire('undeclared_tools');
  }
  if (d.code === 'mandate.arg_constraint') {
    b.argViolations += 1;
    fire('arg_violations');
  }
  if (d.code === 'mandate.limit_exceeded') fire('rate_burst');
  // Reaching for a secret the task may not have is the clearest sign of a task gone wrong.
  if (d.toolKind === 'retrieve_secret' && !d.code.startsWith('credential.')) fire('forbidden_secret');
  if (b.recentDenialsMs.length >= settings.denialsPerMinute) fire('repeated_denials');
  return fired;
}

/** A result came back: its labels join the task's. */
export function observeResult(b: Behaviour, labels: readonly string[], bytes: number): boolean {
  b.resultBytes += bytes;
  const before = b.labels.length;
  for (const l of labels) if (!b.labels.includes(l)) b.labels.push(l);
  return b.labels.length !== before;
}

const WEIGHTS: Record<Signal, number> = { undeclared_tools: 20, arg_violations: 15, repeated_denials: 30, forbidden_secret: 60, rate_burst: 15, plan_deviation: 15 };

/** 0 (as declared) to 100 (far from it): the fired signals' weights plus a share of denied calls. */
export function driftScore(b: Behaviour): number {
  const fromSignals = b.signals.reduce((sum, s) => sum + WEIGHTS[s], 0);
  const fromDenials = b.calls === 0 ? 0 : Math.round((20 * b.denials) / b.calls);
  return Math.min(100, fromSignals + fromDenials);
}
