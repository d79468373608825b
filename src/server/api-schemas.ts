/**
 * The success responses of the `/v1` API as zod schemas: the OpenAPI document is
 * generated from them, the SDK takes its types from them (type-only), and tests
 * parse real responses with them. They are never run on the request path.
 */
import { z } from 'zod';
import { ERROR_CODES, ToolSpecSchema, type ErrorCode } from '../core/index.js';
import { REVOCATION_KINDS } from '../credentials/index.js';
import { MandateSchema } from '../mandate/index.js';
import { SIGNALS } from '../monitor/index.js';
import type { Approval } from '../approvals/index.js';
import { AUDIT_EVENT_TYPES, type AuditEvent, type TrailReport } from '../audit/index.js';
import type { TaskTrail as TaskTrailModel } from './services/index.js';
import type { Decision as DecisionModel } from '../decision/index.js';
import type { Agent, IssuedSvid } from '../identity/index.js';

const ms = () => z.number().int();
const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);
const SignalSchema = z.enum(SIGNALS);

export const ErrorBody = z.object({ error: z.looseObject({ code: z.string().describe('a reason code (docs/reason-codes.md)'), message: z.string() }) });

export const Health = z.object({ status: z.literal('ok'), policyVersion: z.number().int(), store: z.enum(['sqlite', 'postgres']), storeAvailable: z.boolean() });
export const Readiness = z.object({ ready: z.boolean(), store: z.enum(['sqlite', 'postgres']) });

const Jwk = z.record(z.string(), z.unknown());
export const Jwks = z.object({ keys: z.array(Jwk) });
export const TrustBundle = z.object({ trust_domain: z.string(), keys: z.array(Jwk), spiffe_refresh_hint: z.number().int(), spiffe_sequence: z.number() });
export const KeyRotation = z.object({ kid: z.string(), retired: z.array(z.string()) });

export const ToolSpec = ToolSpecSchema;
export const ToolList = z.object({ tools: z.array(ToolSpecSchema) });
export const PolicySet = z.object({ source: z.enum(['dir', 'store']), version: z.number().int(), hash: z.string(), files: z.array(z.string()) });
export const PolicyVersion = z.object({ version: z.number().int(), hash: z.string() });

export const AgentView = z.object({
  id: z.string(),
  name: z.string(),
  spiffeId: z.string(),
  groups: z.array(z.string()),
  attestation: z.object({ joinToken: z.boolean(), oidc: z.array(z.object({ issuer: z.string(), claims: z.record(z.string(), z.string()) })) }),
  createdAtMs: ms(),
  disabledAtMs: ms().nullable(),
  dpopJkt: z.string().nullable().describe('the thumbprint of the key it last attested with; its task credentials are bound to it (DPoP)'),
});
export const AgentList = z.object({ agents: z.array(AgentView) });
export const AgentListItem = AgentView.extend({
  lastSeenMs: ms().nullable().describe('the newest audit event naming the agent (attestation, grant, decision, result) written to the store; null when none'),
  activeTasks: z.number().int().describe('tasks it holds that have not ended and are not past their expiry'),
});
export const AgentPage = z.object({
  agents: z.array(AgentListItem),
  nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null when this page was not full'),
});
export const JoinToken = z.object({ token: z.string(), expiresAtMs: ms() });
export const Svid = z.object({ svid: z.string(), spiffeId: z.string(), expiresAtMs: ms() });

/** What the monitor knows of a task. */
export const Drift = z.object({
  score: z.number(),
  signals: z.array(SignalSchema),
  suspendedBy: z.union([SignalSchema, z.literal('operator')]).nullable().describe('the signal whose `suspend` response suspended the task, or `operator`'),
  stepUpBy: SignalSchema.nullable(),
  tightenedBy: SignalSchema.nullable().describe('the signal whose `tighten` response refuses calls to untrusted or unseen targets'),
  labels: z.array(z.string()),
  toolsCalled: z.array(z.string()),
});
export const TaskView = z.object({
  drift: Drift.optional(),
  id: z.string(),
  agent: z.string(),
  agentId: z.string(),
  spiffeId: z.string(),
  status: z.enum(['active', 'completed', 'revoked']),
  mandate: MandateSchema,
  principal: z.string().nullable(),
  parentTask: z.string().nullable(),
  delegationDepth: z.number().int(),
  callCount: z.number().int(),
  createdAtMs: ms(),
  expiresAtMs: ms(),
  endedAtMs: ms().nullable(),
  endReason: z.string().nullable(),
});
export const TaskList = z.object({ tasks: z.array(TaskView) });
/** The monitor's summary as stored for every replica (the full one is in `GET /v1/tasks/{id}`). */
const StoredDrift = z.object({
  score: z.number(),
  signals: z.array(SignalSchema),
  suspendedBy: z.string().nullable().describe('the signal whose `suspend` response suspended the task, or `operator`'),
});
export const TaskListItem = TaskView.omit({ drift: true }).extend({
  purpose: z.string(),
  drift: StoredDrift.nullable().describe('as last stored; null when the monitor has stored nothing for the task'),
});
export const TaskPage = z.object({
  tasks: z.array(TaskListItem),
  nextCursor: z.string().nullable().describe('pass as `cursor` with the same filters for the next page; null when this page was not full'),
});
const TaskNodeView = TaskListItem.extend({ children: z.array(z.looseObject({})).describe('the tasks delegated from this one, each a node of this shape') });
export const TaskTree = z.object({
  tree: TaskNodeView,
  nodes: z.number().int().describe('tasks in the tree returned'),
  truncated: z.boolean().describe('the tree has more than 1,000 tasks: the deepest were left out'),
});
export const TokenExchange = z.object({
  access_token: z.string().describe('the child task credential, for the agent named by `audience` only'),
  issued_token_type: z.literal('urn:ietf:params:oauth:token-type:jwt'),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('seconds until the child task expires'),
  task: TaskView,
});
export const TokenError = z.looseObject({
  error: z.string().describe('the RFC 6749 §5.2 error'),
  error_description: z.string(),
  code: z.string().describe('a reason code (docs/reason-codes.md)'),
});
export const MandateDocument = z.object({
  taskId: z.string(),
  document: z.string().describe('a JWT (`typ: mandate+jwt`, ES256) signed with the trust domain\'s key: `mandate`, `sub` the agent, `principal`, `parent_task_id`, `chain`, `exp` the task\'s'),
  expiresAtMs: ms(),
});
export const DeclaredTask = z.object({ task: TaskView, credential: z.string().describe('the task credential: valid for this mandate only'), expiresAtMs: ms() });

export const Decision = z.object({
  id: z.string(),
  outcome: z.enum(['allow', 'deny', 'step_up']),
  reason: z.object({ code: ErrorCodeSchema, message: z.string() }),
  layer: z.enum(['credential', 'mandate', 'policy', 'monitor', 'request', 'internal']).describe('which layer decided'),
  policies: z.array(z.string()).describe('the determining policies (permits for allow, forbids for deny and step_up)'),
  policyVersion: z.number().int().nullable().describe('the policy version the ceiling was evaluated with; null when it was not reached'),
  stepUp: z.array(z.string()).describe('values of the `@step_up` annotations that demanded approval'),
  approvalId: z.string().nullable().describe('the approval this decision requested (step_up), used (allow after approval) or was refused by (deny)'),
  drift: z.object({ score: z.number(), signals: z.array(z.string()) }).nullable(),
  obligations: z.object({ redact: z.array(z.string()).describe('fields to replace with `[redacted]` wherever they appear in the result') }),
  taskId: z.string().nullable(),
  agentId: z.string().nullable(),
  tool: z.string(),
  callCount: z.number().int().nullable().describe("the task's call count after this call, when it was allowed"),
  targets: z
    .array(z.object({ arg: z.string(), provenance: z.enum(['declared', 'trusted', 'counterparty', 'untrusted', 'unseen']) }))
    .describe("where each value of the tool's target arguments came from (no values, only provenance)"),
  atMs: ms(),
});
/** A decision as the audit trail keeps it. */
export const DecisionList = z.object({ decisions: z.array(z.looseObject({ atMs: ms(), taskId: z.string().nullable(), agentId: z.string().nullable() })) });

/** `GET /console/api/session`: the person signed in to the console, for its single-page app (docs/console.md). */
export const ConsoleSession = z
  .object({
    subject: z.string().describe("the identity provider's `sub`; the console's actions are recorded as `person:<subject>`"),
    name: z.string().nullable(),
    email: z.string().nullable().describe('the verified e-mail address, when the provider gives one'),
    issuer: z.string(),
    roles: z.array(z.enum(['viewer', 'approver', 'operator', 'admin'])),
    csrfToken: z.string().describe('send it as `x-csrf-token` on every POST, PUT, PATCH and DELETE'),
    expiresAtMs: ms(),
  })
  .strict();

export const ApprovalView = z.object({
  id: z.string(),
  taskId: z.string(),
  agentId: z.string(),
  agentName: z.string(),
  principal: z.string().nullable(),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  argsHash: z.string(),
  policies: z.array(z.string()),
  purpose: z.string(),
  approvers: z.array(z.string()),
  separationOfDuties: z.boolean(),
  usesLeft: z.number().int(),
  windowSeconds: z.number().int().nullable(),
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'consumed', 'cancelled']),
  createdAtMs: ms(),
  expiresAtMs: ms(),
  decidedBy: z.string().nullable(),
  decidedAtMs: ms().nullable(),
  reason: z.string().nullable(),
  notify: z.enum(['none', 'pending', 'delivered', 'failed']),
});
export const ApprovalList = z.object({ approvals: z.array(ApprovalView) });
export const ApprovalPage = ApprovalList.extend({ nextCursor: z.string().nullable().describe('pass as `cursor` with the same filters for the next page; null when this page was not full') });
export const RegisteredApprover = z.object({ id: z.string(), groups: z.array(z.string()), createdAtMs: ms(), token: z.string().describe('shown once') });

export const SecretVersion = z.object({ name: z.string(), version: z.number().int() });
export const SecretList = z.object({ secrets: z.array(z.object({ name: z.string(), version: z.number().int(), createdAtMs: ms() })) });
export const Revocation = z.object({ kind: z.enum(REVOCATION_KINDS), subject: z.string(), tasksEnded: z.number().int() });
export const ChainVerification = z.object({
  ok: z.boolean(),
  segments: z.array(z.object({ segment: z.string(), events: z.number().int(), headHash: z.string() })),
  broken: z.object({ segment: z.string(), seq: z.number().int(), reason: z.enum(['hash_mismatch', 'prev_hash_mismatch', 'seq_gap']) }).nullable(),
  empty: z.boolean().describe('no event at all: a trail starts with its first key, so an empty one was emptied'),
  witnessed: z.number().int().describe('checkpoints the witness holds'),
  findings: z
    .array(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('truncated'), segment: z.string(), storedSeq: z.number().int(), witnessedSeq: z.number().int() }),
        z.object({ kind: z.literal('altered'), segment: z.string(), fromSeq: z.number().int(), seq: z.number().int() }),
        z.object({ kind: z.literal('bad_signature'), segment: z.string(), seq: z.number().int() }),
        z.object({ kind: z.literal('unwitnessed'), segment: z.string(), seq: z.number().int() }),
      ]),
    )
    .describe('what the witnessed checkpoints say is wrong with the store'),
});

export const AuditEventView = z
  .object({
    segment: z.string().describe('the writer\'s hash-chain segment'),
    seq: z.number().int().describe('the place in the segment, from 1'),
    id: z.string(),
    type: z.enum(AUDIT_EVENT_TYPES),
    atMs: ms(),
    taskId: z.string().nullable(),
    agentId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).describe('what the event records; its fields differ by type'),
    prevHash: z.string().describe('the hash of the segment\'s previous event'),
    hash: z.string().describe('SHA-256 of the canonical JSON of every other field'),
  })
  .describe('an audit event exactly as stored');
export const AuditPage = z.object({
  events: z.array(AuditEventView),
  nextCursor: z.string().nullable().describe('pass as `cursor` with the same filters for the next page; null when this page was not full'),
});

const TrailTaskView = z.object({
  id: z.string(),
  agent: z.string(),
  agentId: z.string(),
  principal: z.string().nullable(),
  purpose: z.string(),
  parentTask: z.string().nullable(),
  delegationDepth: z.number().int(),
  status: z.enum(['active', 'completed', 'revoked']),
  createdAtMs: ms(),
  expiresAtMs: ms(),
  endedAtMs: ms().nullable(),
  endReason: z.string().nullable(),
});
const CallStep = z.object({
  kind: z.literal('call'),
  taskId: z.string(),
  atMs: ms(),
  decisionId: z.string(),
  tool: z.string(),
  outcome: z.string(),
  code: z.string().nullable(),
  labels: z.array(z.string()).describe('the labels the task had read when this call was decided'),
  toolsCalled: z.array(z.string()).describe('the tools the task had called when this call was decided'),
  decision: AuditEventView,
  result: AuditEventView.nullable().describe('the result reported for the call, if any'),
  related: z.array(AuditEventView).describe('records naming this decision: a withdrawal, the approval it used, a drift signal it fired'),
});
const EventStep = z.object({ kind: z.literal('event'), taskId: z.string(), atMs: ms(), event: AuditEventView });
export const TaskTrail = z.object({
  task: TrailTaskView,
  tasks: z.array(TrailTaskView).describe('the task, then every task delegated from it, in the order they were granted'),
  steps: z.array(z.discriminatedUnion('kind', [CallStep, EventStep])).describe('every step of those tasks, in recorded order'),
  truncated: z.boolean().describe('more than one trail returns: the rest is in `GET /v1/audit?task=…`'),
});

// The operator console's read side (src/server/routes/console-live.ts, docs/console-api.md).
const OutcomeCounts = { allow: z.number().int(), deny: z.number().int(), step_up: z.number().int() };
export const Overview = z.object({
  atMs: ms(),
  agents: z.object({ registered: z.number().int(), disabled: z.number().int() }),
  tasks: z.object({ active: z.number().int().describe('active and unexpired'), suspended: z.number().int().describe('of those, suspended by a drift response') }),
  approvals: z.object({ pending: z.number().int() }),
  driftAlerts: z.number().int().describe('drift signals (`monitor.signal`) recorded in the last hour'),
  decisionsLastMinute: z.object(OutcomeCounts),
  windowMinutes: z.number().int(),
  bucketSeconds: z.number().int(),
  series: z.array(z.object({ startMs: ms(), ...OutcomeCounts })).describe('decisions by outcome in each bucket of the window, oldest first, empty buckets included; buckets are aligned to their size'),
  topReasons: z.array(z.object({ code: z.string(), count: z.number().int() })).describe('refusals (deny and step_up) in the window by reason code, most frequent first, at most 10'),
  health: z.object({
    store: z.object({ kind: z.enum(['sqlite', 'postgres']), available: z.boolean() }),
    upstreams: z.array(
      z.object({
        name: z.string(),
        kind: z.enum(['stdio', 'http']),
        connected: z.boolean(),
        healthy: z.boolean().describe('no failed start or crash since it last came up'),
        failures: z.number().int(),
        retryAtMs: ms().nullable().describe('backing off: no new start before this instant'),
      }),
    ).describe('the MCP upstreams as this replica knows them'),
  }),
});
const PolicySourceView = z.object({
  id: z.string(),
  file: z.string().optional().describe('absent when the source is unavailable'),
  line: z.number().int().optional().describe('where the policy starts, from 1'),
  text: z.string().optional().describe('the policy as written in its file'),
});
const PolicySourcesFields = {
  policyVersion: z.number().int().nullable().describe('the policy version that decided; null when the ceiling was not reached'),
  policies: z.array(PolicySourceView).describe('the determining policies (permits for allow, forbids for deny and step_up), with their source'),
  sourceUnavailable: z.boolean().describe('the version is no longer the one this replica serves: some policies have their id only'),
};
export const DecisionDetail = z.object({
  record: AuditEventView.describe('the decision record as stored'),
  ...PolicySourcesFields,
  task: z
    .object({ id: z.string(), purpose: z.string(), agent: z.string(), agentId: z.string(), principal: z.string().nullable(), status: z.enum(['active', 'completed', 'revoked']), trail: z.string().describe('the path of its trail, `/v1/tasks/{id}/trail`') })
    .nullable()
    .describe('null for a call whose credential did not authenticate'),
});
export const WhatIf = Decision.omit({ policies: true, policyVersion: true }).extend({
  ...PolicySourcesFields,
  recorded: z.literal(false).describe('no decision was recorded, counted, approved or observed: only `policy.what_if`'),
});

/** The compliance report, as `mandate report --format json` prints it (docs/compliance-report.md). */
export const ComplianceReport = z.looseObject({
  schema: z.string(),
  generatedAt: z.string(),
  period: z.object({ since: z.string().nullable(), until: z.string().nullable() }),
  trustDomain: z.string(),
  environment: z.string(),
  thresholds: z.object({ maxTaskTtlSeconds: z.number(), maxSvidTtlSeconds: z.number(), secretMaxAgeDays: z.number(), minPurposeWords: z.number() }),
  summary: z.looseObject({ controls: z.number().int(), inForce: z.number().int(), partial: z.number().int(), notInForce: z.number().int(), gaps: z.number().int() }),
  controls: z.array(z.looseObject({ id: z.string(), title: z.string(), status: z.string(), gaps: z.array(z.looseObject({ kind: z.string(), severity: z.string() })) })),
  frameworks: z.looseObject({}),
  trail: z.looseObject({}),
});

export type ApiDecision = z.output<typeof Decision>;
export type ApiApproval = z.output<typeof ApprovalView>;
export type ApiSvid = z.output<typeof Svid>;
export type ApiTokenExchange = z.output<typeof TokenExchange>;
export type ApiDeclaredTask = z.output<typeof DeclaredTask>;
export type ApiAuditPage = z.output<typeof AuditPage>;
export type ApiTaskTrail = z.output<typeof TaskTrail>;

// Compile-time proof that each schema says what the domain model returns, field for
// field (ids are plain strings on the wire): a change to the model breaks the build
// here, and with it the SDK that takes its types from these schemas.
type Wire<T> = T extends { readonly __brand: unknown } ? string : T extends (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type SchemasMatchModels = [
  Holds<Same<Wire<DecisionModel>, ApiDecision>>,
  Holds<Same<Wire<Approval>, ApiApproval>>,
  Holds<Same<Wire<Agent>, z.output<typeof AgentView>>>,
  Holds<Same<IssuedSvid, ApiSvid>>,
  Holds<Same<TrailReport, z.output<typeof ChainVerification>>>,
  Holds<Same<Wire<AuditEvent>, z.output<typeof AuditEventView>>>,
  Holds<Same<Wire<TaskTrailModel>, z.output<typeof TaskTrail>>>,
];
