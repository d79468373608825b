import { argsHashOf, type Approval } from '../approvals/index.js';
import { CodedError, type AgentId, type DecisionId, type ErrorCode, type TaskId, type ToolCatalog } from '../core/index.js';
import type { TaskCredentialClaims } from '../credentials/index.js';
import type { Agent } from '../identity/index.js';
import { checkCallAgainstMandate, delegatorsOf, type ArgConstraint, type Task } from '../mandate/index.js';
import { seenSalt, type Behaviour, type ObservedDecision } from '../monitor/index.js';
import { evaluateEffects, type ApprovalTerms, type CallFacts, type CedarRequest, type PolicyEvaluation } from '../policy/index.js';
import { targetCounts, targetsOf } from '../provenance/index.js';
import type { Decision, Layer } from './model.js';

/** A constraint that names the values an argument may take (not only a bound): a value it admits is the principal's own. */
function pinsValue(c: ArgConstraint | undefined): boolean {
  if (c === undefined) return false;
  return c.equals !== undefined || c.oneOf !== undefined || c.prefix !== undefined || c.pattern !== undefined || (c.each !== undefined && pinsValue(c.each)) || c.subsetOf !== undefined;
}

/** Who is calling: what `authenticate` established once for the request. */
export interface TaskContext {
  claims: TaskCredentialClaims;
  task: Task;
  /** Undefined when the agent is no longer registered (then nothing is allowed). */
  agent: Agent | undefined;
  /** The W3C trace the request belongs to, kept in its audit records. */
  traceId?: string;
}

/** One call to decide. */
export interface Call {
  tool: string;
  args: Record<string, unknown>;
}

/** The task's state as it stood when the decision started; evaluate reads it and changes nothing. */
export interface TaskSnapshot {
  behaviour: Readonly<Behaviour>;
  /** The exact call count as this replica last knew it (the atomic increment in commit is the authority). */
  callCount: number;
  /** Allowed calls of this task in the last minute, on this replica. */
  callsLastMinute: number;
  /**
   * The newest approval request for exactly this call (task, tool, canonical arguments),
   * `null` when there is none, `'unloaded'` when it was not read: evaluate asks for it
   * only when a step-up is at stake.
   */
  approval: Approval | null | 'unloaded';
  /** False while the replica cannot use its store (it may be missing revocations). */
  storeAvailable: boolean;
}

/** What evaluation may read besides the call and the task: catalog, policies, environment, time. */
export interface EvaluationEnv {
  tools: ToolCatalog;
  ceiling: { evaluate(req: CedarRequest): PolicyEvaluation; readonly version: number };
  buildCedarRequest(facts: CallFacts): CedarRequest;
  environment: string;
  nowMs: number;
  /** Ids are random: the caller draws one, so evaluation stays a function of its inputs. */
  decisionId: DecisionId;
}

/**
 * What a decision implies, applied by `commit` in this order, atomically per
 * effect; an allow leaves only once all have applied. Per effect rather than in
 * one transaction: the only pair an allow applies together is consume-then-count,
 * and a count refused after a consumed approval means the task has ended or used
 * up its calls — the approval could not have been used anyway. Only a store fault
 * between the two loses the approval (the call is denied; a person approves again).
 */
export type Effect =
  /** Use one use of an approved request (a conditional update: n uses allow n calls across replicas). */
  | { kind: 'consume_approval'; argsHash: string; approval: Approval }
  /** Count the call against `maxCalls` (an atomic conditional update) and, when the mandate has one, the per-minute window. */
  | { kind: 'count_call'; maxCalls: number | null; perMinute: boolean }
  /** Open a step-up request bound to this exact call. */
  | { kind: 'request_approval'; args: Record<string, unknown>; argsHash: string; policies: string[]; terms: ApprovalTerms | undefined }
  /** Tell the monitor: counters, drift signals and their responses. */
  | { kind: 'observe'; observation: ObservedDecision };

export type Evaluation =
  | { kind: 'decided'; decision: Decision; effects: Effect[] }
  /** A step-up is at stake: read the approval for this argument hash and evaluate again. */
  | { kind: 'needs_approval'; argsHash: string };

/**
 * Decides one call over a snapshot: request shape, store freshness, suspension,
 * mandate (declared tool, argument constraints, limits), the Cedar ceiling, and
 * step-up with the approval bound to the exact call. No I/O, no mutation, never
 * throws: every refusal is a deny with its code. Reason codes: request.invalid,
 * store.unreachable, credential.expired, credential.revoked, monitor.drift.*, mandate.*, policy.*,
 * approval.approved, approval.denied, internal.error.
 */
export function evaluate(ctx: TaskContext, call: Call, snap: TaskSnapshot, env: EvaluationEnv): Evaluation {
  let policyVersion: number | null = null;
  try {
    return decideCall(ctx, call, snap, env, (v) => (policyVersion = v));
  } catch (err) {
    const decision = denialOf(baseOf(ctx, call, env, policyVersion), err);
    return { kind: 'decided', decision, effects: observed(ctx, env.tools, decision) };
  }
}

function decideCall(ctx: TaskContext, call: Call, snap: TaskSnapshot, env: EvaluationEnv, seenVersion: (v: number) => void): Evaluation {
  const { task, agent } = ctx;
  const { tool: name, args } = call;
  if (typeof name !== 'string' || args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new CodedError('request.invalid', 'a decision needs a `tool` name and an `args` object');
  }
  if (!snap.storeAvailable) throw new CodedError('store.unreachable', 'this replica cannot use its store now, and may not know recent revocations');
  // A context can outlive its task: a call held open for an approval, a long MCP request.
  if (task.expiresAtMs <= env.nowMs) throw new CodedError('credential.expired', 'the task has expired');
  const behaviour = snap.behaviour;
  // A suspended task is refused before anything else is looked at.
  if (behaviour.suspendedBy) throw new CodedError(`monitor.drift.${behaviour.suspendedBy}`, `the task is suspended (${behaviour.suspendedBy}) until a person resumes it`);

  const grant = checkCallAgainstMandate(task.mandate, name, args);
  const tool = env.tools.get(name);
  if (!tool) throw new CodedError('mandate.tool_unknown', `tool \`${name}\` is not in the tool catalog`);
  const targets = tool.targets?.length ? targetsOf(tool.targets, args, (arg) => pinsValue(grant.args[arg]), behaviour.seen, seenSalt(task)) : [];
  // A tightened task goes on with its declared and trusted work; a target from untrusted content or from nowhere is refused.
  const doubtful = behaviour.tightenedBy ? targets.find((t) => t.provenance === 'untrusted' || t.provenance === 'unseen' || t.provenance === 'counterparty') : undefined;
  if (doubtful) {
    const refusal = new CodedError(`monitor.drift.${behaviour.tightenedBy!}`, `the task was tightened after ${behaviour.tightenedBy}: target \`${doubtful.arg}\` is ${doubtful.provenance}; only declared or trusted targets are allowed now`);
    const decision = denialOf({ ...baseOf(ctx, call, env, null), targets }, refusal);
    return { kind: 'decided', decision, effects: observed(ctx, env.tools, decision) };
  }
  const limits = task.mandate.limits;
  if (limits.maxCallsPerMinute !== undefined && snap.callsLastMinute >= limits.maxCallsPerMinute) {
    throw new CodedError('mandate.limit_exceeded', `the mandate allows ${limits.maxCallsPerMinute} calls per minute`);
  }
  if (limits.maxCalls !== undefined && snap.callCount >= limits.maxCalls) {
    throw new CodedError('mandate.limit_exceeded', `the mandate allows ${limits.maxCalls} calls`);
  }
  if (!agent) throw new CodedError('credential.revoked', 'the agent of this task is no longer registered');

  // Decided under the tool's kind and each further effect (one Cedar call when it has none).
  const evaluation = evaluateEffects(
    env.ceiling,
    env.buildCedarRequest({
      agent: { name: agent.name, spiffeId: agent.spiffeId, groups: agent.groups },
      tool,
      args,
      task: {
        id: task.id,
        purpose: task.mandate.purpose,
        dataClasses: task.mandate.dataClasses,
        callCount: snap.callCount,
        labels: behaviour.labels,
        toolsCalled: behaviour.toolsCalled,
        delegationDepth: task.delegationDepth,
        delegationChain: task.chain.length === 0 ? undefined : delegatorsOf(task),
        onBehalfOf: task.principal ?? undefined,
        egress: task.mandate.egress,
      },
      call: targetCounts(targets),
      environment: env.environment,
    }),
    tool,
  );
  seenVersion(evaluation.version);
  const base = { ...baseOf(ctx, call, env, evaluation.version), targets };
  const decided = (decision: Decision, effects: Effect[] = []): Evaluation => ({ kind: 'decided', decision, effects: [...effects, ...observed(ctx, env.tools, decision)] });
  const permit = (reason: Decision['reason'], approvalId: string | null, before: Effect[] = []): Evaluation =>
    decided({ ...base, outcome: 'allow', layer: 'policy', reason, policies: evaluation.policyIds, obligations: { redact: evaluation.redact }, approvalId }, [...before, { kind: 'count_call', maxCalls: limits.maxCalls ?? null, perMinute: limits.maxCallsPerMinute !== undefined }]);

  /** Step-up: use an approval of exactly this call, refuse after a denial, or ask for one. */
  const stepUp = (reason: Decision['reason']): Evaluation => {
    // An approval is bound to this exact action: same task, same tool, same canonical arguments.
    const argsHash = argsHashOf(args);
    if (snap.approval === 'unloaded') return { kind: 'needs_approval', argsHash };
    const a = snap.approval;
    if (a && isUsable(a, env.nowMs)) {
      return permit({ code: 'approval.approved', message: `approved by ${a.decidedBy ?? 'a person'} (${a.id})` }, a.id, [{ kind: 'consume_approval', argsHash, approval: a }]);
    }
    if (a?.status === 'denied' && a.expiresAtMs > env.nowMs) {
      return decided({ ...base, outcome: 'deny', layer: 'policy', reason: { code: 'approval.denied', message: `denied by ${a.decidedBy ?? 'a person'}${a.reason ? `: ${a.reason}` : ''}` }, policies: evaluation.policyIds, approvalId: a.id });
    }
    return decided(
      {
        ...base,
        outcome: 'step_up',
        layer: reason.code.startsWith('monitor.') ? 'monitor' : 'policy',
        reason,
        policies: evaluation.policyIds,
        stepUp: evaluation.stepUp.length ? evaluation.stepUp : ['human'],
      },
      [{ kind: 'request_approval', args, argsHash, policies: evaluation.policyIds, terms: evaluation.approval }],
    );
  };

  switch (evaluation.outcome) {
    case 'deny':
      return decided({ ...base, outcome: 'deny', layer: 'policy', reason: { code: evaluation.code ?? 'policy.no_permit', message: policyMessage(evaluation) }, policies: evaluation.policyIds });
    case 'step_up':
      return stepUp({ code: 'policy.step_up', message: policyMessage(evaluation) });
    case 'allow':
      // A drift response may put high-risk calls behind a person even where policy allows them.
      if (behaviour.stepUpBy && (tool.risk === 'high' || tool.risk === 'critical')) {
        return stepUp({ code: `monitor.drift.${behaviour.stepUpBy}`, message: `the task drifted from its mandate (${behaviour.stepUpBy}): high-risk calls need a person` });
      }
      return permit({ code: 'policy.permit', message: 'permitted by the mandate and the ceiling' }, null);
  }
}

/** An approved request with uses left, inside its window after approval (else before the request expires): what the store's consume accepts. */
function isUsable(a: Approval, nowMs: number): boolean {
  const validUntilMs = a.windowSeconds === null || a.decidedAtMs === null ? a.expiresAtMs : a.decidedAtMs + a.windowSeconds * 1000;
  return a.status === 'approved' && a.usesLeft > 0 && validUntilMs > nowMs;
}

/**
 * The monitor's `observe` effect for a decision of a known task; none for outages and
 * our own faults: they are not the agent's behaviour. Commit calls it again when it
 * changes the decision, so the monitor sees the decision as it finally stands.
 */
export function observed(ctx: TaskContext, tools: ToolCatalog, d: Decision): Effect[] {
  if (isFault(d.reason.code)) return [];
  return [{ kind: 'observe', observation: { outcome: d.outcome, code: d.reason.code, tool: d.tool, toolKind: tools.get(d.tool)?.kind, plan: ctx.task.mandate.plan, decisionId: d.id, targets: d.targets } }];
}

/** Codes that say something failed on our side, not that the agent did something. */
export function isFault(code: ErrorCode): boolean {
  return code === 'store.unreachable' || code === 'internal.error';
}

function baseOf(ctx: TaskContext, call: Call, env: EvaluationEnv, policyVersion: number | null): Omit<Decision, 'outcome' | 'reason' | 'layer'> {
  return blankDecision({ id: env.decisionId, taskId: ctx.task.id, agentId: ctx.task.agentId, tool: call.tool, atMs: env.nowMs, policyVersion });
}

/** Everything a decision carries before anything is decided; `tool` as given, or empty when it is not a string. */
export function blankDecision(f: { id: DecisionId; taskId: TaskId | null; agentId: AgentId | null; tool: unknown; atMs: number; policyVersion: number | null }): Omit<Decision, 'outcome' | 'reason' | 'layer'> {
  return {
    id: f.id,
    policies: [],
    policyVersion: f.policyVersion,
    stepUp: [],
    obligations: { redact: [] },
    approvalId: null,
    drift: null,
    taskId: f.taskId,
    agentId: f.agentId,
    tool: typeof f.tool === 'string' ? f.tool : '',
    callCount: null,
    targets: [],
    atMs: f.atMs,
  };
}

/** The deny an error becomes: its code when it is a coded refusal, `internal.error` otherwise. */
export function denialOf(base: Omit<Decision, 'outcome' | 'reason' | 'layer'>, err: unknown): Decision {
  const reason = err instanceof CodedError ? { code: err.code, message: err.publicMessage } : { code: 'internal.error' as const, message: 'an unexpected error occurred; denied' };
  return { ...base, outcome: 'deny', layer: layerOf(reason.code), reason };
}

export function layerOf(code: ErrorCode): Layer {
  const context = code.slice(0, code.indexOf('.'));
  switch (context) {
    case 'credential':
    case 'mandate':
    case 'policy':
    case 'request':
    case 'monitor':
      return context;
    default:
      return 'internal';
  }
}

function policyMessage(e: PolicyEvaluation): string {
  switch (e.code) {
    case 'policy.forbid':
      return `forbidden by ${e.policyIds.map((p) => `\`${p}\``).join(', ')}`;
    case 'policy.step_up':
      return `needs approval (${e.stepUp.join(', ')}) under ${e.policyIds.map((p) => `\`${p}\``).join(', ')}`;
    case 'policy.no_permit':
      return 'no permit policy of the ceiling matches this call';
    case 'policy.evaluation_error':
      return 'the ceiling could not evaluate this call; denied';
    case 'policy.none_loaded':
      return 'no policy is loaded; everything is denied';
    case undefined:
      return 'permitted';
  }
}
