import { recordableArgs, type AuditReceipt, type AuditSink } from '../audit/index.js';
import { CodedError, newId, resultLabels, type AgentId, type Clock, type DecisionId, type ErrorCode, type Random, type TaskId, type ToolCatalog, type ToolSpec } from '../core/index.js';
import type { PresentedProof, RevocationSet, TaskCredentialClaims } from '../credentials/index.js';
import type { Agent } from '../identity/index.js';
import type { Task } from '../mandate/index.js';
import { argsHashOf, type Approval } from '../approvals/index.js';
import { freshBehaviour, type Behaviour, type ObservedDecision, type SeenGroup } from '../monitor/index.js';
import { extractCounterparties, extractKeys, keysOfValue, splitFields } from '../provenance/index.js';
import type { ApprovalTerms, CallFacts, CedarRequest, PolicyEvaluation } from '../policy/index.js';
import { blankDecision, denialOf, evaluate, layerOf, observed, type Call, type CallerContext, type Effect, type EvaluationEnv, type TaskContext, type TaskSnapshot } from './evaluate.js';
import type { Decision, DecisionRequest } from './model.js';
import type { RateWindow } from './rate-window.js';

/** Everything the kernel needs, as ports: it does no I/O of its own. */
export interface DecisionPorts {
  verifyCredential(token: string): Promise<TaskCredentialClaims>;
  /** That whoever presents the credential is the agent it was issued to, when the credential asks for proof (a delegated one). */
  proveHolder(claims: TaskCredentialClaims, token: string, presented: PresentedProof | undefined): Promise<void>;
  revocations: RevocationSet;
  /** Tasks and agents by id, usually through a cache. */
  getTask(id: TaskId): Promise<Task | undefined>;
  getAgent(id: AgentId): Promise<Agent | undefined>;
  /** Atomic per-task call counting; undefined when `maxCalls` is used up or the task has ended. */
  incrementCalls(id: TaskId, maxCalls: number | null): Promise<number | undefined>;
  /** The task as the store has it now, past every cache (another replica may have ended it). */
  reloadTask(id: TaskId): Promise<Task | undefined>;
  /** The count the store returned for an allowed call, so the next decision on this replica sees it. */
  recordCallCount(id: TaskId, count: number): void;
  tools: ToolCatalog;
  ceiling: { evaluate(req: CedarRequest): PolicyEvaluation; checkGrant(agent: Agent, tool: ToolSpec): { refused: boolean }; readonly version: number };
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
    /** A result came back with these labels and this size. */
    observeResult(task: Task, labels: readonly string[], bytes: number): Promise<void>;
    /** Values found in a result, as normalised keys, each group with the trust it was found with. */
    observeValues(task: Task, found: readonly SeenGroup[]): Promise<void>;
    score(b: Behaviour): number;
  };
  /**
   * False while this replica cannot use its store: it has not read it for too long
   * (it may be missing revocations), a store call just failed or hung, or audit
   * records wait in the local spool.
   */
  storeAvailable(): boolean;
  audit: AuditSink;
  /** `values`: decision records also carry the call's arguments, secret-looking ones masked (`audit.arguments`). */
  recordArguments: 'hash' | 'values';
  clock: Clock;
  random: Random;
  environment: string;
}


/** Where the kernel turns a call into an answer: authenticate once, evaluate without side effects, commit, account. */

/**
 * Steps 1 and 2 of the request path, once per request at every enforcement point:
 * the credential verifies, names the task it was issued for, nothing revoked it,
 * and the task's agent is loaded. Errors: credential.invalid, credential.expired,
 * credential.revoked, store.unreachable.
 */
export async function authenticate(token: string, ports: Pick<DecisionPorts, 'verifyCredential' | 'proveHolder' | 'getTask' | 'getAgent' | 'revocations' | 'clock'>, presented?: PresentedProof): Promise<TaskContext> {
  const claims = await ports.verifyCredential(token);
  const refusal = (err: CodedError) => new CredentialRefusal(err, claims.taskId, claims.agentId);
  try {
    await ports.proveHolder(claims, token, presented);
  } catch (err) {
    throw err instanceof CodedError ? refusal(err) : err;
  }
  const task = await ports.getTask(claims.taskId);
  if (!task || task.agentId !== claims.agentId || task.credentialId !== claims.jti) throw new CodedError('credential.invalid', 'the credential names no task it was issued for');
  // The in-memory set is checked on every call, even when the signature check was cached.
  const revokedBy = revokedNow(ports.revocations, claims.jti, task);
  if (revokedBy) throw refusal(new CodedError('credential.revoked', `the task credential was revoked (${revokedBy})`));
  if (task.expiresAtMs <= ports.clock.nowMs()) throw refusal(new CodedError('credential.expired', 'the task has expired'));
  return { claims, task, agent: await ports.getAgent(task.agentId) };
}

/**
 * A refused credential whose signature verified, so its claims name the task and
 * agent it was issued for: revoked, or presented without proof of its holder. The
 * refusal belongs in that task's trail (a stolen credential tried after revocation
 * is evidence); a forged credential names no task to put it in. (An expired one is
 * refused by the signature check itself, which reads no claims of an expired token.)
 */
export class CredentialRefusal extends CodedError {
  constructor(
    refused: CodedError,
    readonly taskId: TaskId,
    readonly agentId: AgentId,
  ) {
    super(refused.code, refused.publicMessage, refused.detail, { cause: refused.cause });
  }
}

/** The task a refused credential was issued for, when the refusal names one (see `CredentialRefusal`). */
export function refusedTaskOf(err: unknown): { id: TaskId; agentId: AgentId } | null {
  return err instanceof CredentialRefusal ? { id: err.taskId, agentId: err.agentId } : null;
}

/**
 * Decides one call presented with its credential (`POST /v1/decide`, the SDK):
 * authenticate, then `decideCall`. Never throws and never allows by accident: a
 * credential that does not authenticate is a deny with its code, recorded.
 */
export async function decide(req: DecisionRequest, ports: DecisionPorts): Promise<Decision> {
  if (typeof req.credential !== 'string' || req.credential.length === 0) return refuseUnauthenticated(req, ports, new CodedError('credential.missing', 'no task credential was presented'));
  let ctx: TaskContext;
  try {
    ctx = await authenticate(req.credential, ports, req.presented);
  } catch (err) {
    return refuseUnauthenticated(req, ports, err);
  }
  return decideCall(req.traceId === undefined ? ctx : { ...ctx, traceId: req.traceId }, { tool: req.tool, args: req.args ?? {} }, ports);
}

/**
 * Decides one call of an authenticated task: reads a snapshot of its state,
 * evaluates (no I/O), then commits the effects, records the decision and takes a
 * last look for a revocation before an allow leaves. Never throws; any error is
 * a deny with a stable code, and a commit or audit write that fails turns an
 * allow into a deny.
 */
export async function decideCall(ctx: TaskContext, call: Call, ports: DecisionPorts): Promise<Decision> {
  const startedMs = performance.now();
  const decisionId = newId('decision', ports.random);
  let approval: TaskSnapshot['approval'] = 'unloaded';
  let decision: Decision | undefined;
  let effects: readonly Effect[] = [];
  // Again only to read the approval a step-up needs, or when another call used that approval's last use first; bounded.
  for (let attempt = 0; attempt < 4 && decision === undefined; attempt++) {
    const env = envOf(ports, decisionId);
    let evaluation;
    try {
      evaluation = evaluate(ctx, call, await snapshotOf(ctx, ports, approval), env);
    } catch (err) {
      evaluation = { kind: 'decided' as const, decision: refusalOf(ctx, call, decisionId, env.nowMs, err), effects: [] };
    }
    if (evaluation.kind === 'needs_approval') {
      approval = await loadApproval(ctx, call, evaluation.argsHash, ports);
      continue;
    }
    const committed = await commit(ctx, call, evaluation.decision, evaluation.effects, ports);
    if (committed === 'approval_taken') {
      approval = 'unloaded';
      continue;
    }
    decision = committed.decision;
    effects = committed.effects;
  }
  decision ??= refusalOf(ctx, call, decisionId, ports.clock.nowMs(), new CodedError('approval.not_pending', 'the approval for this call was used up by other calls at the same time; call again'));
  return record(ctx, call, decision, effects, ports, startedMs);
}

/** How `whatIf` reads the task's state: as stored, or afresh for a task that exists only in the question. */
export interface WhatIfOptions {
  /** The task is not stored (a mandate given whole): nothing is read for it; it has no behaviour, calls or approvals yet. */
  hypothetical?: boolean;
}

/**
 * What `decideCall` would answer for this call now, with no effect at all: the same
 * snapshot and the same evaluation (the approval of this exact call read when a
 * step-up is at stake), and then nothing committed, counted, observed or recorded.
 * Never throws; errors are denies with their code, as in `decideCall`.
 */
export async function whatIf(ctx: CallerContext, call: Call, ports: DecisionPorts, opts: WhatIfOptions = {}): Promise<Decision> {
  const decisionId = newId('decision', ports.random);
  const env = envOf(ports, decisionId);
  try {
    // What `authenticate` would refuse for this task's credential is refused here too.
    const { task } = ctx;
    const revokedBy = opts.hypothetical ? undefined : revokedNow(ports.revocations, task.credentialId, task);
    if (revokedBy) throw new CodedError('credential.revoked', `the task credential was revoked (${revokedBy})`);
    if (task.status !== 'active') throw new CodedError('credential.revoked', `the task has ended (${task.status})`);
    const snap: TaskSnapshot = opts.hypothetical
      ? { storeAvailable: ports.storeAvailable(), behaviour: EMPTY_BEHAVIOUR, callCount: ctx.task.callCount, callsLastMinute: 0, approval: null }
      : await snapshotOf(ctx, ports, 'unloaded');
    let evaluation = evaluate(ctx, call, snap, env);
    if (evaluation.kind === 'needs_approval') evaluation = evaluate(ctx, call, { ...snap, approval: await loadApproval(ctx, call, evaluation.argsHash, ports) }, env);
    // A second `needs_approval` cannot happen (the approval is loaded); deny rather than assume.
    if (evaluation.kind === 'needs_approval') throw new CodedError('internal.error', 'the approval for this call could not be read');
    return evaluation.decision;
  } catch (err) {
    return denialOf(blankDecision({ id: decisionId, taskId: ctx.task.id, agentId: ctx.task.agentId, tool: call.tool, atMs: env.nowMs, policyVersion: null }), err);
  }
}

function envOf(ports: DecisionPorts, decisionId: DecisionId): EvaluationEnv {
  return { tools: ports.tools, ceiling: ports.ceiling, buildCedarRequest: ports.buildCedarRequest, environment: ports.environment, nowMs: ports.clock.nowMs(), decisionId };
}

async function snapshotOf(ctx: CallerContext, ports: DecisionPorts, approval: TaskSnapshot['approval']): Promise<TaskSnapshot> {
  const storeAvailable = ports.storeAvailable();
  return {
    storeAvailable,
    // Nothing is read from a store known to be out of reach; evaluation refuses first.
    behaviour: storeAvailable ? await ports.monitor.state(ctx.task) : EMPTY_BEHAVIOUR,
    callCount: ctx.task.callCount,
    callsLastMinute: ctx.task.mandate.limits.maxCallsPerMinute === undefined ? 0 : ports.rate.count(ctx.task.id, ports.clock.nowMs()),
    approval,
  };
}

const EMPTY_BEHAVIOUR: Readonly<Behaviour> = Object.freeze(freshBehaviour());

async function loadApproval(ctx: CallerContext, call: Call, argsHash: string, ports: DecisionPorts): Promise<Approval | null> {
  return (await ports.approvals.latestFor(ctx.task, call.tool, argsHash)) ?? null;
}

/**
 * Applies a decision's effects in order: use the approval, count the call (the
 * atomic gate for `maxCalls`), open an approval request, then show the final
 * decision to the monitor. A store that refuses the count turns the allow into a
 * deny with the exact reason. Returns `approval_taken` when another call used the
 * approval first: the caller evaluates again.
 */
async function commit(ctx: TaskContext, call: Call, evaluated: Decision, effects: readonly Effect[], ports: DecisionPorts): Promise<{ decision: Decision; effects: readonly Effect[] } | 'approval_taken'> {
  const { task } = ctx;
  let d = evaluated;
  try {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'consume_approval':
          if (!(await ports.approvals.consume(task, call.tool, effect.argsHash, d.id))) return 'approval_taken';
          break;
        case 'count_call': {
          const count = await ports.incrementCalls(task.id, effect.maxCalls);
          if (count === undefined) {
            // Refused by the store: the limit is used up, or the task ended on another replica before this one heard of it.
            const current = await ports.reloadTask(task.id);
            if (!current || current.status !== 'active') throw new CodedError('credential.revoked', `the task has ended (${current?.status ?? 'unknown'})`);
            throw new CodedError('mandate.limit_exceeded', `the mandate allows ${effect.maxCalls ?? 0} calls`);
          }
          ports.recordCallCount(task.id, count);
          // No window is kept for a task without a per-minute limit.
          if (effect.perMinute) ports.rate.add(task.id, ports.clock.nowMs());
          d = { ...d, callCount: count };
          break;
        }
        case 'request_approval': {
          const a = await ports.approvals.request(task, call.tool, effect.args, effect.argsHash, effect.policies, effect.terms);
          d = { ...d, approvalId: a.id, reason: { code: d.reason.code, message: `${d.reason.message}; approval ${a.id} is pending` } };
          break;
        }
        case 'observe':
          break; // below, with the decision as it finally stands
      }
    }
  } catch (err) {
    d = refusalOf(ctx, call, d.id, d.atMs, err, d.policyVersion);
  }
  // What the monitor sees is the outcome and code: unchanged, the evaluated observation stands.
  if (d.outcome === evaluated.outcome && d.reason.code === evaluated.reason.code) return { decision: d, effects: effects.filter((e) => e.kind === 'observe') };
  return { decision: d, effects: effects.some((e) => e.kind === 'observe') ? observed(ctx, ports.tools, d) : [] };
}

/** Monitor, audit record, and the last look before an allow leaves. */
async function record(ctx: TaskContext, call: Call, evaluated: Decision, effects: readonly Effect[], ports: DecisionPorts, startedMs: number): Promise<Decision> {
  let decision = evaluated;
  let trail: { labels: string[]; toolsCalled: string[] } | undefined;
  for (const effect of effects) {
    if (effect.kind !== 'observe') continue;
    try {
      // Not state() again: a response may have ended the task, and its state must not be read back in.
      const b = await ports.monitor.observe(ctx.task, effect.observation);
      decision = { ...decision, drift: { score: ports.monitor.score(b), signals: [...b.signals] } };
      // Sets grow with the task: each record carries what was added since this replica's previous one.
      trail = { labels: b.labels.slice(b.trailed.labels), toolsCalled: b.toolsCalled.slice(b.trailed.toolsCalled) };
      b.trailed = { labels: b.labels.length, toolsCalled: b.toolsCalled.length };
    } catch {
      // A monitor that cannot record never turns a deny into an allow.
      if (decision.outcome !== 'deny') decision = { ...decision, outcome: 'deny', layer: 'internal', reason: { code: 'internal.error', message: 'the monitor could not record this call' }, callCount: null };
    }
  }
  const args = call.args ?? {};
  const { task } = ctx;
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
        message: decision.reason.message,
        layer: decision.layer,
        tool: decision.tool,
        // The Cedar action the tool maps to (its kind); null for a tool the catalog does not know.
        action: ports.tools.get(decision.tool)?.kind ?? null,
        // Each record stands alone for an auditor: whom the task acts for, where it sits in a delegation, what it declared.
        principal: task.principal,
        parentTaskId: task.parentTaskId,
        delegationDepth: task.delegationDepth,
        // Who handed this task down, its parent first: person → agent A (task 1) → agent B (task 2) → this call.
        chain: task.chain.map((l) => ({ taskId: l.taskId, spiffeId: l.spiffeId })),
        purpose: task.mandate.purpose,
        // Argument values can hold personal data or secrets: by default the trail keeps their names and a hash that proves them.
        argNames: Object.keys(args),
        argsHash: argsHashOf(args),
        ...(ports.recordArguments === 'values' ? { args: recordableArgs(args) } : {}),
        policies: decision.policies,
        policyVersion: decision.policyVersion,
        callCount: decision.callCount,
        approvalId: decision.approvalId,
        // Why a later call was refused: what the task had read and done by then, as what was added since
        // this replica's previous decision record of the task (the task's records in order add up to the sets).
        labelsAdded: trail?.labels ?? [],
        toolsCalledAdded: trail?.toolsCalled ?? [],
        // Where each target value came from (never the values).
        ...(decision.targets.length > 0 ? { targets: decision.targets } : {}),
        drift: decision.drift,
        traceId: ctx.traceId ?? null,
        decideUs: Math.round((performance.now() - startedMs) * 1000),
      },
    });
  } catch {
    if (decision.outcome !== 'deny') return { ...decision, outcome: 'deny', layer: 'internal', reason: { code: 'internal.error', message: 'the audit record could not be written' }, callCount: null };
    return decision;
  }
  if (decision.outcome === 'deny') return decision;
  // Last look before an allow (or a step-up) leaves: a revocation that landed while this decision
  // waited on the store wins, so once a revoke call has returned, nothing answered after it allows.
  const withdrawal = withdrawalOf(ctx, ports, receipt);
  if (!withdrawal) return decision;
  const withdrawn: Decision = { ...decision, outcome: 'deny', layer: layerOf(withdrawal.code), reason: withdrawal, callCount: null, stepUp: [] };
  await ports.audit
    .record({ type: 'decision.withdrawn', taskId: decision.taskId, agentId: decision.agentId, data: { decisionId: decision.id, tool: decision.tool, was: decision.outcome, code: withdrawal.code } })
    .catch(() => undefined);
  return withdrawn;
}

/** What revocation, if any, cuts this credential of this task now. */
function revokedNow(revocations: RevocationSet, credentialId: string, task: Task): ReturnType<RevocationSet['revokedBy']> {
  return revocations.revokedBy({ credentialId, taskId: task.id, agentId: task.agentId, principal: task.principal, grantedAtMs: task.createdAtMs });
}

/** Why an allow decided a moment ago must not be released, if it must not. */
function withdrawalOf(ctx: TaskContext, ports: DecisionPorts, receipt: AuditReceipt | void): Decision['reason'] | undefined {
  const revokedBy = revokedNow(ports.revocations, ctx.claims.jti, ctx.task);
  if (revokedBy) return { code: 'credential.revoked', message: `the task credential was revoked (${revokedBy}) while this call was being decided` };
  // The record is safe in the local spool, but the store is out of reach: fail closed, as every call after this one will.
  if (receipt === 'spooled') return { code: 'store.unreachable', message: 'the store stopped answering while this call was being decided' };
  return undefined;
}

/** A deny for an error met outside evaluation (reading the snapshot, committing). */
function refusalOf(ctx: TaskContext, call: Call, id: DecisionId, atMs: number, err: unknown, policyVersion: number | null = null): Decision {
  return denialOf(blankDecision({ id, taskId: ctx.task.id, agentId: ctx.task.agentId, tool: call.tool, atMs, policyVersion }), err);
}

/** A call whose credential did not authenticate: denied with the credential's code, and recorded. */
async function refuseUnauthenticated(req: DecisionRequest, ports: DecisionPorts, err: unknown): Promise<Decision> {
  const of = err instanceof CredentialRefusal ? { taskId: err.taskId, agentId: err.agentId } : { taskId: null, agentId: null };
  const decision = denialOf(blankDecision({ id: newId('decision', ports.random), ...of, tool: req.tool, atMs: ports.clock.nowMs(), policyVersion: null }), err);
  const reason = decision.reason;
  const args = req.args !== null && typeof req.args === 'object' ? req.args : {};
  await ports.audit
    .record({
      type: 'decision',
      ...of,
      data: {
        decisionId: decision.id,
        outcome: 'deny',
        code: reason.code,
        message: reason.message,
        layer: decision.layer,
        tool: decision.tool,
        action: ports.tools.get(decision.tool)?.kind ?? null,
        principal: null,
        parentTaskId: null,
        delegationDepth: null,
        chain: null,
        purpose: null,
        argNames: Object.keys(args),
        argsHash: argsHashOf(args),
        ...(ports.recordArguments === 'values' ? { args: recordableArgs(args) } : {}),
        policies: [],
        policyVersion: null,
        callCount: null,
        approvalId: null,
        labelsAdded: [],
        toolsCalledAdded: [],
        drift: null,
        traceId: req.traceId ?? null,
        decideUs: null,
      },
    })
    .catch(() => undefined);
  return decision;
}

/**
 * The kernel as every enforcement point uses it: the MCP gateway, the HTTP proxy,
 * `POST /v1/decide` and reported results.
 */
export interface Kernel {
  /** Authenticate and decide in one step, for callers that hold only the raw credential (`POST /v1/decide`, the SDK); never throws. */
  decideRequest(req: DecisionRequest): Promise<Decision>;
  authenticate(token: string, presented?: PresentedProof): Promise<TaskContext>;
  /** The task's declared tools that are in the catalog and that the ceiling does not refuse outright for its agent: what a gateway lists. */
  visibleTools(ctx: TaskContext): string[];
  decide(ctx: TaskContext, call: Call): Promise<Decision>;
  /** The decision this call would get now, with no effect: nothing counted, observed, approved or recorded (`POST /v1/what-if`). */
  whatIf(ctx: CallerContext, call: Call, opts?: WhatIfOptions): Promise<Decision>;
  account(ctx: TaskContext, report: ResultReport): Promise<void>;
}

function visibleTools(ctx: TaskContext, ports: Pick<DecisionPorts, 'tools' | 'ceiling'>): string[] {
  const agent = ctx.agent;
  if (!agent) return [];
  return ctx.task.mandate.tools
    .map((t) => t.name)
    .filter((name) => {
      const tool = ports.tools.get(name);
      return tool !== undefined && !ports.ceiling.checkGrant(agent, tool).refused;
    });
}

/** The kernel over its ports. */
export function kernelOver(ports: DecisionPorts): Kernel {
  return {
    decideRequest: (req) => decide(req, ports),
    authenticate: (token, presented) => authenticate(token, ports, presented),
    visibleTools: (ctx) => visibleTools(ctx, ports),
    decide: (ctx, call) => decideCall(ctx, call, ports),
    whatIf: (ctx, call, opts) => whatIf(ctx, call, ports, opts),
    account: (ctx, report) => account(ctx.task, report, ports, ctx.traceId),
  };
}

/** How an enforcement point reports what came back from an allowed call. */
export interface ResultReport {
  decisionId: string | null;
  tool: string;
  args: Record<string, unknown>;
  status: 'ok' | 'error' | 'aborted';
  /** A gateway code when the call failed or its result was withheld. */
  code: ErrorCode | null;
  bytes: number;
  /** Labels the enforcement point saw on the result, beyond those the catalog gives the tool. */
  labels?: readonly string[];
  /** The result as the agent receives it; only the values it names are kept, as salted hashes (src/provenance). */
  content?: unknown;
  /** Values an enforcement point extracted from the result itself (e-mail addresses, IBANs, URLs...). */
  values?: readonly string[];
  durationMs?: number;
  /** Transport detail kept in the trail (HTTP method and status). */
  detail?: Record<string, unknown>;
  reportedBy: 'gateway' | 'pep';
  /** Whether the monitor takes the result's labels and size (false: a failed call, or labels already given before a streamed response). */
  observe: boolean;
  /** False to give the monitor the labels ahead of a streamed response, recording the result once it has ended. */
  record?: boolean;
}

/**
 * Step 4 of the request path, the one place results are accounted: the result's
 * audit record (status, size, labels; never the content) and, for a result that
 * came back, its labels and size to the monitor before the agent sees it, so the
 * next decision is taken with them.
 */
export async function account(task: Task, report: ResultReport, ports: Pick<DecisionPorts, 'tools' | 'monitor' | 'audit'>, traceId?: string): Promise<void> {
  const spec = ports.tools.get(report.tool);
  const labels = [...resultLabels(spec, report.args), ...(report.labels ?? [])];
  // Fields other people write (an event's description) are untrusted content inside a trusted result.
  const { rest, taken } = report.content !== undefined && spec?.untrustedFields?.length ? splitFields(report.content, spec.untrustedFields) : { rest: report.content, taken: [] };
  const othersWrote = taken.filter((v) => v !== null && v !== undefined && v !== '');
  const untrusted = labels.includes('untrusted');
  if (othersWrote.length > 0 && !untrusted) labels.push('untrusted');
  // A gateway does not wait: the decision was recorded before the call went out, and this joins the next
  // group commit. A reported result is acknowledged only once recorded.
  const recorded = report.record === false ? Promise.resolve() : ports.audit
    .record({
      type: 'tool.result',
      taskId: task.id,
      agentId: task.agentId,
      data: { decisionId: report.decisionId, tool: report.tool, status: report.status, code: report.code, bytes: report.bytes, labels: [...new Set(labels)], ...(report.durationMs !== undefined ? { durationMs: report.durationMs } : {}), ...report.detail, ...(report.reportedBy === 'pep' ? { reportedBy: 'pep' } : {}), traceId: traceId ?? null },
    })
    .then(() => undefined, () => undefined);
  if (report.observe) await ports.monitor.observeResult(task, labels, report.bytes);
  if (report.status === 'ok' && report.code === null && (report.content !== undefined || report.values?.length)) {
    // Where later targets come from: the values this result names, trusted unless the result is labelled untrusted.
    const keys = extractKeys(rest ?? null);
    for (const v of report.values ?? []) for (const key of keysOfValue(v)) keys.add(key);
    const found: SeenGroup[] = [{ keys, trust: untrusted ? 'untrusted' : 'trusted' }];
    if (othersWrote.length > 0) found.push({ keys: extractKeys(othersWrote), trust: 'untrusted' });
    // Who wrote untrusted content is not what it says: the sender is someone the task may answer.
    if (untrusted && spec?.counterparty?.length && report.content !== undefined) found.push({ keys: extractCounterparties(report.content, spec.counterparty), trust: 'counterparty' });
    await ports.monitor.observeValues(task, found);
  }
  if (report.reportedBy === 'pep') await recorded;
}
