// Decision vectors: each file under test/vectors/<area>/ is one call, the task state it is
// decided over, and the decision `evaluate` must reach. See test/vectors/README.md.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { argsHashOf, type Approval } from '../../src/approvals/index.js';
import { ERROR_CODES, toolCatalog, ToolSpecSchema, type AgentId, type CredentialId, type DecisionId, type ErrorCode, type TaskId, type ToolCatalog } from '../../src/core/index.js';
import { evaluate, type Call, type Effect, type EvaluationEnv, type TaskContext, type TaskSnapshot } from '../../src/decision/index.js';
import type { Agent } from '../../src/identity/index.js';
import { MandateSchema, type Task } from '../../src/mandate/index.js';
import { freshBehaviour, seenSalt, SIGNALS, type Behaviour, type Signal } from '../../src/monitor/index.js';
import { keyOfTarget, PROVENANCES, recordSeen } from '../../src/provenance/index.js';
import { buildCedarRequest, PolicyEngine } from '../../src/policy/index.js';
import { policyDirectory } from '../../src/server/adapters/index.js';
import { ROOT, testConfig } from '../helpers.js';

const VECTOR_DIR = join(ROOT, 'test', 'vectors');
const POLICY_FIXTURE_DIR = join(VECTOR_DIR, 'policies');

/**
 * Codes `evaluate` never returns, each with the reason. The gate below fails when a code is
 * neither the `expect.code` of a vector nor listed here, and when a listed code gains a vector:
 * this list only shrinks.
 */
const NOT_DECIDED_BY_EVALUATE: Partial<Record<ErrorCode, string>> = {
  'credential.missing': 'authenticate: no credential was presented, so there is no task to evaluate for',
  'credential.invalid': 'authenticate: a bad signature, audience, or a credential naming no task fails before evaluate',
  'dpop.missing': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.invalid': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.method_mismatch': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.url_mismatch': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.stale': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.replayed': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.ath_mismatch': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'dpop.key_mismatch': 'authenticate: the proof of possession is checked with the credential, before evaluate',
  'credential.holder_unproven': 'authenticate: the holder of a delegated credential is proven with the credential, before evaluate',
  'identity.principal_untrusted': 'token exchange for a person: the id token is verified when the task is granted, not per call',
  'mandate.principal_unverified': 'grant time: who the task acts for is settled when it is granted',
  'delegation.actor_unknown': 'token exchange: delegation is decided when the child task is granted, not per call',
  'delegation.not_permitted': 'token exchange: delegation is decided when the child task is granted, not per call',
  'delegation.depth_exceeded': 'token exchange: delegation is decided when the child task is granted, not per call',
  'delegation.children_exceeded': 'token exchange: delegation is decided when the child task is granted, not per call',
  'identity.svid_invalid': 'attestation: SVIDs are verified when an agent asks for a task, not per call',
  'identity.svid_expired': 'attestation: SVIDs are verified when an agent asks for a task, not per call',
  'identity.agent_unknown': 'agent registry and attestation, not per call',
  'identity.agent_disabled': 'attestation of a deregistered agent; a call of its live task is credential.revoked',
  'identity.agent_exists': 'agent registration (admin API)',
  'identity.join_token_invalid': 'attestation with a join token',
  'identity.oidc_untrusted': 'attestation with an OIDC token',
  'identity.oidc_no_match': 'attestation with an OIDC token',
  'mandate.invalid': 'grant time: a mandate is parsed before a task exists',
  'mandate.refused': 'grant time: the ceiling refuses mandate items before a task exists',
  'mandate.parent_invalid': 'grant time: delegation to a child task',
  'mandate.delegation_widens': 'grant time: a child task narrowed against its parent',
  'mandate.delegation_unprovable': 'grant time: a child task narrowed against its parent',
  'mandate.params_unavailable': 'grant time: a tool\'s parameters could not be learned from its upstream',
  'gateway.upstream_unavailable': 'decided by the gateway around the upstream, after an allow',
  'gateway.upstream_timeout': 'decided by the gateway around the upstream, after an allow',
  'gateway.upstream_error': 'decided by the gateway around the upstream, after an allow',
  'gateway.upstream_protocol_error': 'decided by the gateway around the upstream, after an allow',
  'gateway.result_too_large': 'decided by the gateway on the result, after an allow',
  'gateway.secret_unavailable': 'decided by the gateway when it starts an upstream',
  'gateway.session_invalid': 'MCP session handling in the gateway, before a call is decided',
  'gateway.origin_forbidden': 'the Origin check of the MCP transport, before anything else',
  'gateway.cancelled': 'the accounting of a call the client cancelled while it ran',
  'gateway.route_unmapped': 'the HTTP proxy maps a route to a tool before a call is decided',
  'approval.expired': 'the approval service, when a person acts on a request past its expiry',
  'approval.not_pending': 'the approval service, and decideCall when other calls keep taking the last use (commit, not evaluate)',
  'approval.not_allowed': 'the approval service: an approver action, not a call',
  'request.conflict': 'admin API: a resource with that name exists',
  'request.too_large': 'HTTP body limit, before any decision',
  'request.unreachable': 'the CLI or SDK could not reach the control plane; nothing was decided',
  'request.too_many_streams': 'the API: a live decision stream refused for capacity; no call is decided',
  'request.unauthorized': 'admin API token',
  'request.not_found': 'API routing',
  'console.not_configured': 'console sign-in, a route of its own outside any decision',
  'console.sign_in_failed': 'console sign-in, a route of its own outside any decision',
  'console.no_role': 'console sign-in, a route of its own outside any decision',
  'console.signed_out': 'console session check in front of the admin API',
  'console.csrf': 'console session check in front of the admin API',
  'console.forbidden': 'console session check in front of the admin API',
  'internal.error': 'only for an unexpected throw inside evaluate; no input a vector can express makes it throw',
};

// Fixed inputs: a decision is a function of the vector alone.
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const DECISION_ID = 'dcn_vector000001' as DecisionId;
const TASK_ID = 'tsk_vector000001' as TaskId;
const AGENT_ID = 'agt_vector000001' as AgentId;
const CREDENTIAL_ID = 'crd_vector000001' as CredentialId;
const APPROVAL_ID = 'apr_vector000001';
const DEFAULT_AGENT = 'report-bot';

const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
const EFFECT_KINDS = ['consume_approval', 'count_call', 'request_approval', 'observe'] as const satisfies readonly Effect['kind'][];
const LAYERS = ['credential', 'mandate', 'policy', 'monitor', 'request', 'internal'] as const;

const ApprovalStateSchema = z
  .object({
    status: z.enum(['pending', 'approved', 'denied', 'expired', 'consumed', 'cancelled']),
    usesLeft: z.number().int().min(0).default(1),
    /** After approval, how long it may be used; null: until the request expires. */
    windowSeconds: z.number().int().positive().nullable().default(null),
    /** Seconds before now the person decided; default 30 for approved and denied, else not decided. */
    decidedSecondsAgo: z.number().min(0).nullable().optional(),
    /** Seconds from now until the request expires (0 or less: already expired). */
    expiresInSeconds: z.number().default(600),
    decidedBy: z.string().min(1).nullable().default('alice@example.com'),
    reason: z.string().min(1).nullable().default(null),
  })
  .strict();

/** sha256 of the canonical JSON of the arguments (keys sorted), as hex: written out, so a vector pins it independently of the code. */
const ArgsHashSchema = z.string().regex(/^[0-9a-f]{64}$/);

const VectorSchema = z
  .object({
    title: z.string().min(10).max(200),
    /** `examples`: examples/policies; a list: files of test/vectors/policies (`[]`: no policy loaded). */
    policies: z.union([z.literal('examples'), z.array(z.string().regex(/^[a-z0-9-]+\.cedar$/))]).default('examples'),
    /** The tool catalog; default: the tools of examples/mandate.yaml. */
    tools: z.array(z.unknown()).optional(),
    /** The task's agent; null: deregistered since the task was granted. */
    agent: z
      .object({ name: z.string().min(1).default(DEFAULT_AGENT), groups: z.array(z.string().min(1)).default(['agents']) })
      .strict()
      .nullable()
      .default({ name: DEFAULT_AGENT, groups: ['agents'] }),
    /** Parsed with the real mandate schema. */
    mandate: z.unknown(),
    task: z
      .object({
        /** Default: the mandate's `onBehalfOf`, else null. */
        principal: z.string().min(1).nullable().optional(),
        delegationDepth: z.number().int().min(0).default(0),
        expiresInSeconds: z.number().default(600),
      })
      .strict()
      .default({ delegationDepth: 0, expiresInSeconds: 600 }),
    snapshot: z
      .object({
        labels: z.array(z.string().min(1)).default([]),
        toolsCalled: z.array(z.string().min(1)).default([]),
        suspendedBy: z.union([z.enum(SIGNALS), z.literal('operator')]).nullable().default(null),
        stepUpBy: z.enum(SIGNALS).nullable().default(null),
        tightenedBy: z.enum(SIGNALS).nullable().default(null),
        /** Values the task has seen in results, as written (hashed here the way the monitor keeps them). */
        seen: z
          .object({ trusted: z.array(z.string()).default([]), counterparty: z.array(z.string()).default([]), untrusted: z.array(z.string()).default([]) })
          .strict()
          .default({ trusted: [], counterparty: [], untrusted: [] }),
        callCount: z.number().int().min(0).default(0),
        callsLastMinute: z.number().int().min(0).default(0),
        approval: z.union([z.literal('unloaded'), z.null(), ApprovalStateSchema]).default(null),
        storeAvailable: z.boolean().default(true),
      })
      .strict()
      .default({ labels: [], toolsCalled: [], suspendedBy: null, stepUpBy: null, tightenedBy: null, seen: { trusted: [], counterparty: [], untrusted: [] }, callCount: 0, callsLastMinute: 0, approval: null, storeAvailable: true }),
    /** `tool` and `args` are passed as written (a malformed shape is what request vectors test). */
    call: z.object({ tool: z.unknown().optional(), args: z.unknown().optional() }).strict(),
    environment: z.string().min(1).default('development'),
    expect: z.discriminatedUnion('outcome', [
      z.object({ outcome: z.literal('needs_approval'), argsHash: ArgsHashSchema.optional() }).strict(),
      z
        .object({
          outcome: z.enum(['allow', 'deny', 'step_up']),
          code: z.enum(ERROR_CODE_LIST),
          layer: z.enum(LAYERS),
          /** Determining policy ids, in any order. */
          policies: z.array(z.string()).default([]),
          /** Fields the result must have redacted (allow). */
          redact: z.array(z.string()).default([]),
          /** `@step_up` values (step_up). */
          stepUp: z.array(z.string()).default([]),
          /** The kinds of the effects, in order. */
          effects: z.array(z.enum(EFFECT_KINDS)),
          /** Where each target value came from, when the vector checks it. */
          targets: z.array(z.object({ arg: z.string(), provenance: z.enum(PROVENANCES) }).strict()).optional(),
          /** The hash binding the approval used or requested to the call's arguments, written out. */
          argsHash: ArgsHashSchema.optional(),
          /** The terms of the approval the step-up requests (request_approval), when the vector checks them. */
          approvalTerms: z
            .object({ approvers: z.array(z.string()), uses: z.number().int().positive().nullable(), windowSeconds: z.number().int().positive().nullable(), separationOfDuties: z.boolean().nullable() })
            .strict()
            .optional(),
        })
        .strict(),
    ]),
  })
  .strict();

type Vector = z.output<typeof VectorSchema>;

interface LoadedVector {
  file: string;
  vector: Vector;
}

function vectorFiles(): string[] {
  const files: string[] = [];
  for (const area of readdirSync(VECTOR_DIR).sort()) {
    const dir = join(VECTOR_DIR, area);
    if (area === 'policies' || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) if (name.endsWith('.json')) files.push(join(dir, name));
  }
  return files;
}

function loadVectors(): LoadedVector[] {
  return vectorFiles().map((path) => {
    const file = relative(VECTOR_DIR, path);
    const parsed = VectorSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
    return { file, vector: parsed.data };
  });
}

const engines = new Map<string, PolicyEngine>();

/** One real engine per policy set (cedar-wasm keeps every pre-parsed set for the life of the process). */
function engineFor(policies: Vector['policies']): PolicyEngine {
  const key = JSON.stringify(policies);
  let engine = engines.get(key);
  if (!engine) {
    if (policies === 'examples') engine = PolicyEngine.fromSource(policyDirectory(join(ROOT, 'examples', 'policies')));
    else if (policies.length === 0) engine = PolicyEngine.empty();
    else engine = PolicyEngine.fromFiles(policies.map((name) => ({ name, text: readFileSync(join(POLICY_FIXTURE_DIR, name), 'utf8') })));
    engines.set(key, engine);
  }
  return engine;
}

let exampleCatalog: ToolCatalog | undefined;

function catalogFor(tools: unknown[] | undefined): ToolCatalog {
  if (tools === undefined) return (exampleCatalog ??= toolCatalog(testConfig().tools));
  return toolCatalog(tools.map((t) => ToolSpecSchema.parse(t)));
}

function approvalOf(v: Vector, task: Task, args: Record<string, unknown>): TaskSnapshot['approval'] {
  const a = v.snapshot.approval;
  if (a === null || a === 'unloaded') return a;
  const decided = a.decidedSecondsAgo !== undefined ? a.decidedSecondsAgo : a.status === 'approved' || a.status === 'denied' ? 30 : null;
  const approval: Approval = {
    id: APPROVAL_ID,
    taskId: task.id,
    agentId: task.agentId,
    agentName: task.agentName,
    principal: task.principal,
    tool: typeof v.call.tool === 'string' ? v.call.tool : '',
    args,
    argsHash: argsHashOf(args),
    policies: [],
    purpose: task.mandate.purpose,
    approvers: [],
    separationOfDuties: false,
    usesLeft: a.usesLeft,
    windowSeconds: a.windowSeconds,
    status: a.status,
    createdAtMs: NOW_MS - 120_000,
    expiresAtMs: NOW_MS + a.expiresInSeconds * 1000,
    decidedBy: decided === null ? null : a.decidedBy,
    decidedAtMs: decided === null ? null : NOW_MS - decided * 1000,
    reason: a.reason,
    notify: 'none',
  };
  return approval;
}

interface Inputs {
  ctx: TaskContext;
  call: Call;
  snapshot: TaskSnapshot;
  env: EvaluationEnv;
  engine: PolicyEngine;
}

/** The real context, snapshot and environment the kernel would build for this vector. */
function inputsOf(v: Vector): Inputs {
  const mandate = MandateSchema.parse(v.mandate);
  const agentName = v.agent?.name ?? DEFAULT_AGENT;
  const spiffeId = `spiffe://example.test/agent/${agentName}`;
  const agent: Agent | undefined = v.agent
    ? { id: AGENT_ID, name: v.agent.name, spiffeId, groups: v.agent.groups, attestation: { joinToken: true, oidc: [] }, createdAtMs: NOW_MS - 86_400_000, disabledAtMs: null, dpopJkt: null }
    : undefined;
  const principal = v.task.principal !== undefined ? v.task.principal : (mandate.onBehalfOf ?? null);
  const task: Task = {
    id: TASK_ID,
    agentId: AGENT_ID,
    agentName,
    spiffeId,
    mandate,
    principal,
    parentTaskId: v.task.delegationDepth > 0 ? ('tsk_vectorparent' as TaskId) : null,
    delegationDepth: v.task.delegationDepth,
    chain: [],
    status: 'active',
    credentialId: CREDENTIAL_ID,
    createdAtMs: NOW_MS - 60_000,
    expiresAtMs: NOW_MS + v.task.expiresInSeconds * 1000,
    endedAtMs: null,
    endReason: null,
    callCount: v.snapshot.callCount,
  };
  const ctx: TaskContext = {
    claims: { jti: CREDENTIAL_ID, taskId: TASK_ID, agentId: AGENT_ID, spiffeId, principal, confirm: null, issuedAtMs: task.createdAtMs, expiresAtMs: task.expiresAtMs },
    task,
    agent,
  };
  const call = { tool: v.call.tool, args: v.call.args } as Call;
  const s = v.snapshot;
  const behaviour: Behaviour = {
    ...freshBehaviour(),
    labels: s.labels,
    toolsCalled: s.toolsCalled,
    // An operator's suspension is no signal: it fires none.
    signals: [...new Set([s.suspendedBy, s.stepUpBy, s.tightenedBy].filter((x): x is Signal => x !== null && x !== 'operator'))],
    suspendedBy: s.suspendedBy,
    stepUpBy: s.stepUpBy,
    tightenedBy: s.tightenedBy,
    seen: new Map(),
  };
  recordSeen(behaviour.seen, seenSalt(task), keysOf(s.seen.trusted), 'trusted', 10_000);
  recordSeen(behaviour.seen, seenSalt(task), keysOf(s.seen.counterparty), 'counterparty', 10_000);
  recordSeen(behaviour.seen, seenSalt(task), keysOf(s.seen.untrusted), 'untrusted', 10_000);
  const args = isRecord(v.call.args) ? v.call.args : {};
  const snapshot: TaskSnapshot = { behaviour, callCount: s.callCount, callsLastMinute: s.callsLastMinute, approval: approvalOf(v, task, args), storeAvailable: s.storeAvailable };
  const engine = engineFor(v.policies);
  const env: EvaluationEnv = { tools: catalogFor(v.tools), ceiling: engine, buildCedarRequest, environment: v.environment, nowMs: NOW_MS, decisionId: DECISION_ID };
  return { ctx: deepFreeze(ctx), call: deepFreeze(call), snapshot: deepFreeze(snapshot), env, engine };
}

function keysOf(values: readonly string[]): string[] {
  return values.map((v) => keyOfTarget(v)).filter((k): k is string => k !== null);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Evaluation must not mutate what it reads: a write to a frozen input throws, and the vector fails. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const sorted = (xs: readonly string[]) => [...xs].sort();

function check(v: Vector, inputs: Inputs): void {
  const { ctx, call, snapshot, env, engine } = inputs;
  const result = evaluate(ctx, call, snapshot, env);
  // A function of its inputs: the same inputs give the same answer.
  assert.deepEqual(evaluate(ctx, call, snapshot, env), result, 'evaluate is not deterministic');
  const e = v.expect;
  if (e.outcome === 'needs_approval') {
    assert.equal(result.kind, 'needs_approval', `expected needs_approval, got ${JSON.stringify(result.kind === 'decided' ? result.decision.reason : result)}`);
    assert.equal(result.argsHash, argsHashOf(call.args), 'the approval is looked up by the hash of exactly these arguments');
    if (e.argsHash !== undefined) assert.equal(result.argsHash, e.argsHash, 'argsHash');
    return;
  }
  assert.equal(result.kind, 'decided', 'expected a decision, got needs_approval');
  if (result.kind !== 'decided') return;
  const d = result.decision;
  assert.deepEqual({ outcome: d.outcome, code: d.reason.code, layer: d.layer }, { outcome: e.outcome, code: e.code, layer: e.layer }, `decision: ${d.reason.message}`);
  assert.deepEqual(sorted(d.policies), sorted(e.policies), 'determining policies');
  assert.deepEqual(sorted(d.obligations.redact), sorted(e.redact), 'redact obligations');
  assert.deepEqual(sorted(d.stepUp), sorted(e.stepUp), 'step-up values');
  assert.deepEqual(result.effects.map((x) => x.kind), e.effects, 'effect kinds');
  if (e.targets) assert.deepEqual(d.targets, e.targets, 'target provenance');

  // What every decision carries, whatever the vector.
  assert.equal(d.id, DECISION_ID);
  assert.equal(d.atMs, NOW_MS);
  assert.equal(d.taskId, TASK_ID);
  assert.equal(d.agentId, AGENT_ID);
  assert.equal(d.tool, typeof call.tool === 'string' ? call.tool : '');
  assert.equal(d.callCount, null, 'the call count is set by commit, not by evaluate');
  assert.equal(d.drift, null, 'drift is set when the monitor has observed the decision');
  assert.ok(d.reason.message.length > 0, 'a reason has a message');
  const ceilingReached = d.layer === 'policy' || (d.layer === 'monitor' && d.outcome === 'step_up');
  assert.equal(d.policyVersion, ceilingReached ? engine.version : null, 'policyVersion: the version that decided, null when the ceiling was not reached');
  const approval = snapshot.approval;
  const approvalUsed = e.code === 'approval.approved' || e.code === 'approval.denied';
  assert.equal(d.approvalId, approvalUsed && approval !== null && approval !== 'unloaded' ? approval.id : null, 'approvalId');
  if (d.outcome !== 'allow') assert.deepEqual(d.obligations.redact, [], 'only an allow carries obligations');

  for (const effect of result.effects) {
    switch (effect.kind) {
      case 'count_call':
        assert.equal(d.outcome, 'allow', 'only an allow is counted');
        assert.equal(effect.maxCalls, ctx.task.mandate.limits.maxCalls ?? null);
        assert.equal(effect.perMinute, ctx.task.mandate.limits.maxCallsPerMinute !== undefined);
        break;
      case 'consume_approval':
        assert.equal(effect.argsHash, argsHashOf(call.args));
        assert.equal(effect.approval, approval);
        break;
      case 'request_approval':
        assert.equal(d.outcome, 'step_up', 'an approval is requested by a step_up');
        assert.deepEqual(effect.args, call.args);
        assert.equal(effect.argsHash, argsHashOf(call.args));
        assert.deepEqual(effect.policies, d.policies);
        if (e.approvalTerms) assert.deepEqual({ ...effect.terms, approvers: sorted(effect.terms?.approvers ?? []) }, { ...e.approvalTerms, approvers: sorted(e.approvalTerms.approvers) }, 'approval terms');
        break;
      case 'observe':
        assert.deepEqual(effect.observation, { outcome: d.outcome, code: d.reason.code, tool: d.tool, toolKind: env.tools.get(d.tool)?.kind, plan: ctx.task.mandate.plan, decisionId: d.id, targets: d.targets });
        break;
    }
  }
  if (e.argsHash !== undefined) {
    const bound = result.effects.flatMap((x) => (x.kind === 'consume_approval' || x.kind === 'request_approval' ? [x.argsHash] : []));
    assert.deepEqual(bound, [e.argsHash], 'argsHash of the approval used or requested');
  }
  if (e.approvalTerms) assert.ok(result.effects.some((x) => x.kind === 'request_approval'), 'approvalTerms needs a request_approval effect');
}

const vectors = loadVectors();

describe('decision vectors', () => {
  for (const { file, vector } of vectors) {
    it(vector.title, () => {
      let inputs: Inputs;
      try {
        inputs = inputsOf(vector);
      } catch (err) {
        throw new Error(`${file}: the vector does not build: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      check(vector, inputs);
    });
  }
});

describe('decision vector set', () => {
  it('titles are unique and file names say what each vector proves', () => {
    const seen = new Map<string, string>();
    for (const { file, vector } of vectors) {
      const before = seen.get(vector.title);
      assert.equal(before, undefined, `${file} repeats the title of ${before}`);
      seen.set(vector.title, file);
      assert.match(file, /^[a-z0-9-]+\/[a-z0-9]+(?:-[a-z0-9]+){2,}\.json$/, `${file}: <area>/<what-it-proves>.json in kebab-case`);
    }
  });

  it('refusals clearly outnumber allows', () => {
    const allows = vectors.filter((x) => x.vector.expect.outcome === 'allow').length;
    const refusals = vectors.length - allows;
    assert.ok(vectors.length >= 150, `${vectors.length} vectors; at least 150 expected`);
    assert.ok(refusals >= 1.5 * allows, `${refusals} refusals for ${allows} allows`);
  });

  it('every reason code evaluate can return is the expected code of a vector', () => {
    const covered = new Set(vectors.flatMap((x) => (x.vector.expect.outcome === 'needs_approval' ? [] : [x.vector.expect.code])));
    const missing = ERROR_CODE_LIST.filter((code) => !covered.has(code) && NOT_DECIDED_BY_EVALUATE[code] === undefined);
    assert.deepEqual(missing, [], 'codes with neither a vector nor an entry in NOT_DECIDED_BY_EVALUATE');
  });

  it('the exception list names only catalog codes that no vector expects (it only shrinks)', () => {
    const covered = new Set(vectors.flatMap((x) => (x.vector.expect.outcome === 'needs_approval' ? [] : [x.vector.expect.code])));
    for (const [code, reason] of Object.entries(NOT_DECIDED_BY_EVALUATE)) {
      assert.ok(Object.hasOwn(ERROR_CODES, code), `${code} is not in the catalog`);
      assert.ok(reason.length > 0, `${code} needs a reason`);
      assert.ok(!covered.has(code as ErrorCode), `${code} now has a vector: remove it from NOT_DECIDED_BY_EVALUATE`);
    }
  });

  it('every policy fixture is used by a vector', () => {
    const used = new Set(vectors.flatMap((x) => (x.vector.policies === 'examples' ? [] : x.vector.policies)));
    for (const name of readdirSync(POLICY_FIXTURE_DIR).filter((n) => n.endsWith('.cedar'))) assert.ok(used.has(name), `${name} is used by no vector`);
  });
});
