import type { CedarValueJson, Context, PolicyJson, TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import type { ErrorCode, ToolSpec } from '../core/index.js';

/** What the decision pipeline knows about one tool call, before it becomes a Cedar request. */
export interface CallFacts {
  agent: AgentFacts;
  tool: ToolSpec;
  args: Record<string, unknown>;
  task: TaskFacts;
  /** How many of the call's target values are of each provenance (src/provenance). */
  call?: { declared: number; trusted: number; counterparty: number; untrusted: number; unseen: number };
  environment: string;
}

export interface AgentFacts {
  name: string;
  spiffeId: string;
  groups: string[];
}

export interface TaskFacts {
  id: string;
  purpose: string;
  dataClasses: string[];
  callCount: number;
  labels: string[];
  toolsCalled: string[];
  delegationDepth: number;
  /** SPIFFE ids of the agents that delegated to this task, root first; absent or empty for a root task. */
  delegationChain?: readonly string[] | undefined;
  /** Absent or undefined when the task acts for nobody; Cedar sees "". */
  onBehalfOf?: string | undefined;
  /** Labels the mandate declares the task may send out (`egress`); absent means none. */
  egress?: string[] | undefined;
}

/** Exactly what goes to Cedar, minus the policy set and schema the engine adds. */
export interface CedarRequest {
  principal: TypeAndId;
  action: TypeAndId;
  resource: TypeAndId;
  context: Context;
  entities: CedarEntity[];
}

/** cedar-wasm's EntityJson, with uids always in the `{ type, id }` form this context builds. */
export interface CedarEntity {
  uid: TypeAndId;
  attrs: Record<string, CedarValueJson>;
  parents: TypeAndId[];
  tags?: Record<string, CedarValueJson>;
}

export type PolicyOutcome = 'allow' | 'deny' | 'step_up';

export type PolicyCode = Extract<
  ErrorCode,
  'policy.forbid' | 'policy.no_permit' | 'policy.step_up' | 'policy.evaluation_error' | 'policy.none_loaded'
>;

export const POLICY_CODES = [
  'policy.forbid',
  'policy.no_permit',
  'policy.step_up',
  'policy.evaluation_error',
  'policy.none_loaded',
] as const satisfies readonly PolicyCode[];

/** The ceiling's answer for one request. */
export interface PolicyEvaluation {
  outcome: PolicyOutcome;
  /** Absent on allow. */
  code?: PolicyCode;
  /** The determining policies: permits on allow, forbids on deny/step_up, erroring ones on evaluation_error. */
  policyIds: string[];
  /** The `@step_up(...)` values of the determining step-up forbids (empty unless step_up). */
  stepUp: string[];
  /** On step_up: who may approve and how the approval may be used, from the determining policies' annotations. */
  approval?: ApprovalTerms;
  /** Obligation: result fields to redact, from the `@redact("a,b")` of the determining permits (allow only). */
  redact: string[];
  /** Messages safe to log and show: request values are redacted. */
  errors: string[];
  /** Version of the policy set that decided (0 when none was ever loaded). */
  version: number;
  hash: string;
}

/** One policy of a loaded directory. */
export interface LoadedPolicy {
  /** `@id("...")`, else `<file>:<line>`. */
  id: string;
  file: string;
  line: number;
  effect: 'permit' | 'forbid';
  /** The `@step_up("...")` value; only forbids may carry one. */
  stepUp: string | undefined;
  /** The `@redact("a,b")` fields; only permits may carry them. */
  redact: string[];
  text: string;
  json: PolicyJson;
}

export interface LoadedPolicies {
  /** The `.cedar` file names, sorted. */
  files: string[];
  policies: LoadedPolicy[];
  /** sha256 over the sorted file names and contents. */
  hash: string;
  /** Validator warnings, as `<file>:<line>:<col>: <message>`; they do not stop a load. */
  warnings: string[];
}

export type ReloadResult = { ok: true; version: number } | { ok: false; errors: string };

export type GrantCheck =
  | { refused: false }
  | { refused: true; code: 'policy.forbid' | 'policy.no_permit'; policyIds: string[] };

/**
 * Step-up terms read from the determining forbids' annotations:
 * `@approvers("group:finance, principal")`, `@approval_uses("3")`,
 * `@approval_window("300")` (seconds after approval), `@separation_of_duties("true")`.
 * Null where no policy says: the configuration decides.
 */
export interface ApprovalTerms {
  approvers: string[];
  uses: number | null;
  windowSeconds: number | null;
  separationOfDuties: boolean | null;
}
