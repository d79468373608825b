import type { AuditReceipt, AuditSink } from '../audit/model.js';
import { CodedError, newId, type AgentId, type Clock, type ErrorCode, type Random, type TaskId, type ToolCatalog } from '../core/index.js';
import type { RevocationSet, TaskCredentialClaims } from '../credentials/index.js';
import type { Agent } from '../identity/index.js';
import { checkCallAgainstMandate, type Task } from '../mandate/index.js';
import { argsHashOf, type Approval } from '../approvals/index.js';
import type { Behaviour, ObservedDecision } from '../monitor/index.js';
import type { ApprovalTerms, CallFacts, CedarRequest, PolicyEvaluation } from '../policy/index.js';
import type { Decision, DecisionRequest, Layer } from './model.js';
import type { RateWindow } from './rate-window.js';

/** Everything decide() needs, as ports: it does no I/O of its own. */
export interface DecisionPorts {
  verifyCredential(token: string): Promise<TaskCredentialClaims>;
  revocations: RevocationSet;
  /** Tasks and agents by id, usually through a cache. */
  getTask(id: TaskId): Promise<Task | undefined>;
  getAgent(id: AgentId): Promise<Agent | undefined>;
  /** Atomic per-task call counting; undefined when `maxCalls` is used up or the task has ended. */
  incrementCalls(id: TaskId, maxCalls: number | null): Promise<number | undefined>;
  /** The task as the store has it now, past every cache (another replica may have ended it). */
  reloadTask(id: TaskId): Promise<Task | undefined>;
  tools: ToolCatalog;
  ceiling: { evaluate(req: CedarRequest): PolicyEvaluation; readonly version: number };
  /** Step-up requests bound to the exact action (see src/approvals). */
  approvals: {
    consume(task: Task, tool: string, argsHash: string, decisionId: string): Promise<Approval | undefined>;
    latestFor(task: Task, tool: string, argsHash: string): Promise<Approval | undefined>;
    request(task: Task, tool: string, args: Record<string, unknown>, argsHash: string, policies: string[], terms: ApprovalTerms | undefined): Promise<Approval>;
  };
  buildCedarRequest(facts: CallFacts): CedarRequest;
  rate: RateWindow;
  /** Step 5: behaviour against the mandate (labels read, tools called, drift signals and responses). */
  monitor: {
    state(task: Task): Promise<Behaviour>;
    /** Counts the decision; resolves with the behaviour as the next decision will see it. */
    observe(task: Task, d: ObservedDecision): Promise<Behaviour>;
    score(b: Behaviour): number;
  };
  /**
   * False while this replica cannot use its store: it has not read it for too long
   * (it may be missing revocations), a store call just failed or hung, or audit
   * records wait in the local spool.
   */
  storeAvailable(): boolean;
  audit: AuditSink;
  clock: Clock;
  random: Random;
  environment: string;
}

interface Known {
  claims?: TaskCredentialClaims;
  task?: Task;
  policyVersion?: number;
}

/**
 * Decides one call: authenticate, revocation, mandate, ceiling, outcome, then
 * appends the audit record. Never throws and never allows by accident: any
 * error on the path is a deny with a stable code, and an audit append that
 * fails turns the decision into a deny.
 */
export async function decide(req: DecisionRequest, ports: DecisionPorts): Promise<Decision> {
  const known: Known = {};
  let decision: Decision;
  try {
    decision = await runPipeline(req, ports, known);
  } catch (err) {
    decision = refusal(req, ports, known, err);
  }
  let trail: { labels: string[]; toolsCalled: string[] } | undefined;
  // An outage or a fault of ours is not the agent's behaviour: it must not count towards its drift.
  if (known.task && !isFault(decision.reason.code)) {
    const task = known.task;
    try {
      // Not state() again: a response may have ended the task, and its state must not be read back in.
      const b = await ports.monitor.observe(task, { outcome: decision.outcome, code: decision.reason.code, tool: decision.tool, toolKind: ports.tools.get(decision.tool)?.kind, plan: task.mandate.plan });
      decision.drift = { score: ports.monitor.score(b), signals: [...b.signals] };
      trail = { labels: [...b.labels], toolsCalled: [...b.toolsCalled] };
    } catch {
      // The decision stands; a monitor that cannot record never turns a deny into an allow.
      if (decision.outcome !== 'deny') decision = { ...decision, outcome: 'deny', layer: 'internal', reason: { code: 'internal.error', message: 'the monitor could not record this call' }, callCount: null };
    }
  }
  let receipt;
  try {
    receipt = await ports.audit.record({
      type: 'decision',
      taskId: decision.taskId,
      agentId: decision.agentId,
      data: {
        decisionId: decision.id,
        outcome: decision.outcome,
        code: decision.reason.code,
        layer: decision.layer,
        tool: decision.tool,
        // Argument values can hold personal data or secrets: the trail keeps their names and a hash that proves them.
        argNames: Object.keys(req.args ?? {}),
        argsHash: argsHashOf(req.args ?? {}),
        policies: decision.policies,
        policyVersion: decision.policyVersion,
        callCount: decision.callCount,
        approvalId: decision.approvalId,
        // Why a later call was refused: what the task had read and done by then.
        labels: trail?.labels ?? [],
        toolsCalled: trail?.toolsCalled ?? [],
        drift: decision.drift,
      },
    });
  } catch {
    if (decision.outcome !== 'deny') return { ...decision, outcome: 'deny', layer: 'internal', reason: { code: 'internal.error', message: 'the audit record could not be written' }, callCount: null };
    return decision;
  }
  if (decision.outcome === 'deny') return decision;
  // Last look before an allow (or a step-up) leaves: a revocation that landed while this decision
  // waited on the store wins, so once a revoke call has returned, nothing answered after it allows.
  const withdrawal = withdrawalOf(known, ports, receipt);
  if (!withdrawal) return decision;
  const withdrawn: Decision = { ...decision, outcome: 'deny', layer: layerOf(withdrawal.code), reason: withdrawal, callCount: null, stepUp: [] };
  await ports.audit
    .record({ type: 'decision.withdrawn', taskId: decision.taskId, agentId: decision.agentId, data: { decisionId: decision.id, was: decision.outcome, code: withdrawal.code } })
    .catch(() => undefined);
  return withdrawn;
}

/** Why an allow decided a moment ago must not be released, if it must not. */
function withdrawalOf(known: Known, ports: DecisionPorts, receipt: AuditReceipt | void): Decision['reason'] | undefined {
  const task = known.task;
  if (task && known.claims) {
    const revokedBy = ports.revocations.revokedBy({ credentialId: known.claims.jti, taskId: task.id, agentId: task.agentId, principal: task.principal, grantedAtMs: task.createdAtMs });
    if (revokedBy) return { code: 'credential.revoked', message: `the task credential was revoked (${revokedBy}) while this call was being decided` };
  }
  // The record is safe in the local spool, but the store is out of reach: fail closed, as every call after this one will.
  if (receipt === 'spooled') return { code: 'store.unreachable', message: 'the store stopped answering while this call was being decided' };
  return undefined;
}

/** Codes that say something failed on our side, not that the agent did something. */
function isFault(code: ErrorCode): boolean {
  return code === 'store.unreachable' || code === 'internal.error';
}

async function runPipeline(req: DecisionRequest, ports: DecisionPorts, known: Known): Promise<Decision> {
  const args = req.args ?? {};
  if (typeof req.tool !== 'string' || args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new CodedError('request.invalid', 'a decision needs a `tool` name and an `args` object');
  }
  if (typeof req.credential !== 'string' || req.credential.length === 0) throw new CodedError('credential.missing', 'no task credential was presented');
  if (!ports.storeAvailable()) throw new CodedError('store.unreachable', 'this replica cannot reach its store now, and may not know recent revocations');
  // 1-2. authenticate and check revocation
  const { claims, task } = await authenticateCredential(req.credential, ports, known);
  const now = ports.clock.nowMs();

  // 5 (checked early). monitor: a suspended task is refused before anything else is looked at
  const behaviour = await ports.monitor.state(task);
  if (behaviour.suspendedBy) throw new CodedError(`monitor.drift.${behaviour.suspendedBy}`, `the task is suspended (${behaviour.suspendedBy}) until a person resumes it`);

  // 3. mandate
  checkCallAgainstMandate(task.mandate, req.tool, args);
  const tool = ports.tools.get(req.tool);
  if (!tool) throw new CodedError('mandate.tool_unknown', `tool \`${req.tool}\` is not in the tool catalog`);
  const perMinute = task.mandate.limits.maxCallsPerMinute;
  if (perMinute !== undefined && ports.rate.count(task.id, now) >= perMinute) {
    throw new CodedError('mandate.limit_exceeded', `the mandate allows ${perMinute} calls per minute`);
  }
  if (task.mandate.limits.maxCalls !== undefined && task.callCount >= task.mandate.limits.maxCalls) {
    // A cheap early refusal from the cached count; the atomic increment below is what makes it exact.
    throw new CodedError('mandate.limit_exceeded', `the mandate allows ${task.mandate.limits.maxCalls} calls`);
  }

  // 4. ceiling
  const agent = await ports.getAgent(task.agentId);
  if (!agent) throw new CodedError('credential.revoked', 'the agent of this task is no longer registered');
  const evaluation = ports.ceiling.evaluate(
    ports.buildCedarRequest({
      agent: { name: agent.name, spiffeId: agent.spiffeId, groups: agent.groups },
      tool,
      args,
      task: {
        id: task.id,
        purpose: task.mandate.purpose,
        dataClasses: task.mandate.dataClasses,
        callCount: task.callCount,
        labels: behaviour.labels,
        toolsCalled: behaviour.toolsCalled,
        delegationDepth: task.delegationDepth,
        onBehalfOf: task.principal ?? undefined,
        egress: task.mandate.egress,
      },
      environment: ports.environment,
    }),
  );
  known.policyVersion = evaluation.version;

  // 6. outcome
  const base = decisionBase(req, ports, known);
  const permit = async (reason: Decision['reason'], approvalId: string | null): Promise<Decision> => {
    const count = await ports.incrementCalls(task.id, task.mandate.limits.maxCalls ?? null);
    if (count === undefined) {
      // Refused by the store: the limit is used up, or the task ended on another replica before this one heard of it.
      const current = await ports.reloadTask(task.id);
      if (!current || current.status !== 'active') throw new CodedError('credential.revoked', `the task has ended (${current?.status ?? 'unknown'})`);
      throw new CodedError('mandate.limit_exceeded', `the mandate allows ${task.mandate.limits.maxCalls ?? 0} calls`);
    }
    task.callCount = count;
    // Only a per-minute limit reads the window: a task without one keeps nothing there.
    if (perMinute !== undefined) ports.rate.add(task.id, now);
    return { ...base, outcome: 'allow', layer: 'policy', reason, policies: evaluation.policyIds, obligations: { redact: evaluation.redact }, callCount: count, approvalId };
  };
  /** Step-up: use an approval of exactly this action, or refuse after a denial, or ask for one. */
  const stepUp = async (reason: Decision['reason']): Promise<Decision> => {
    // An approval is bound to this exact action: same task, same tool, same canonical arguments.
    const argsHash = argsHashOf(args);
    const used = await ports.approvals.consume(task, req.tool, argsHash, base.id);
    if (used) return permit({ code: 'approval.approved', message: `approved by ${used.decidedBy ?? 'a person'} (${used.id})` }, used.id);
    const latest = await ports.approvals.latestFor(task, req.tool, argsHash);
    if (latest?.status === 'denied' && latest.expiresAtMs > now) {
      return { ...base, outcome: 'deny', layer: 'policy', reason: { code: 'approval.denied', message: `denied by ${latest.decidedBy ?? 'a person'}${latest.reason ? `: ${latest.reason}` : ''}` }, policies: evaluation.policyIds, approvalId: latest.id };
    }
    const approval = await ports.approvals.request(task, req.tool, args, argsHash, evaluation.policyIds, evaluation.approval);
    return {
      ...base,
      outcome: 'step_up',
      layer: reason.code.startsWith('monitor.') ? 'monitor' : 'policy',
      reason: { code: reason.code, message: `${reason.message}; approval ${approval.id} is pending` },
      policies: evaluation.policyIds,
      stepUp: evaluation.stepUp.length ? evaluation.stepUp : ['human'],
      approvalId: approval.id,
    };
  };
  switch (evaluation.outcome) {
    case 'deny':
      return { ...base, outcome: 'deny', layer: 'policy', reason: { code: evaluation.code ?? 'policy.no_permit', message: policyMessage(evaluation) }, policies: evaluation.policyIds };
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

/**
 * Steps 1 and 2 of the request path, shared by every enforcement point: the
 * credential verifies, names the task it was issued for, and nothing revoked it.
 * Errors: credential.invalid, credential.expired, credential.revoked.
 */
export async function authenticateCredential(
  token: string,
  ports: Pick<DecisionPorts, 'verifyCredential' | 'getTask' | 'revocations' | 'clock'>,
  known: Known = {},
): Promise<{ claims: TaskCredentialClaims; task: Task }> {
  const claims = await ports.verifyCredential(token);
  known.claims = claims;
  const task = await ports.getTask(claims.taskId);
  if (!task || task.agentId !== claims.agentId || task.credentialId !== claims.jti) throw new CodedError('credential.invalid', 'the credential names no task it was issued for');
  known.task = task;
  // The in-memory set is checked on every call, even when the signature check was cached.
  const revokedBy = ports.revocations.revokedBy({ credentialId: claims.jti, taskId: task.id, agentId: task.agentId, principal: task.principal, grantedAtMs: task.createdAtMs });
  if (revokedBy) throw new CodedError('credential.revoked', `the task credential was revoked (${revokedBy})`);
  if (task.expiresAtMs <= ports.clock.nowMs()) throw new CodedError('credential.expired', 'the task has expired');
  return { claims, task };
}

function decisionBase(req: DecisionRequest, ports: DecisionPorts, known: Known): Omit<Decision, 'outcome' | 'reason' | 'layer'> {
  return {
    id: newId('decision', ports.random),
    policies: [],
    policyVersion: known.policyVersion ?? null,
    stepUp: [],
    obligations: { redact: [] },
    approvalId: null,
    drift: null,
    taskId: known.task?.id ?? known.claims?.taskId ?? null,
    agentId: known.task?.agentId ?? known.claims?.agentId ?? null,
    tool: typeof req.tool === 'string' ? req.tool : '',
    callCount: null,
    atMs: ports.clock.nowMs(),
  };
}

function refusal(req: DecisionRequest, ports: DecisionPorts, known: Known, err: unknown): Decision {
  const base = decisionBase(req, ports, known);
  if (err instanceof CodedError) return { ...base, outcome: 'deny', layer: layerOf(err.code), reason: { code: err.code, message: err.publicMessage } };
  return { ...base, outcome: 'deny', layer: 'internal', reason: { code: 'internal.error', message: 'an unexpected error occurred; denied' } };
}

function layerOf(code: ErrorCode): Layer {
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
