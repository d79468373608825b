import type { TrailReport } from '../audit/index.js';
import type { Risk, ToolKind, ToolSpec } from '../core/index.js';
import type { DriftResponse, Signal } from '../monitor/index.js';
import type { MaestroId, NistFunction, NistSubcategory, OwaspId } from './frameworks.js';

/** The version of the report's JSON shape; a change that removes or renames a field makes a new one. */
export const REPORT_SCHEMA = 'mandate.report/1';

export type ControlStatus = 'in_force' | 'partial' | 'not_in_force';
export type GapSeverity = 'high' | 'medium' | 'low';

export const GAP_KINDS = [
  'long_svid_ttl',
  'long_task_ttl_allowed',
  'long_task_ttl_granted',
  'empty_catalog',
  'purpose_without_detail',
  'no_policy_loaded',
  'policy_evaluation_errors',
  'high_risk_tool_without_step_up',
  'step_up_only_after_untrusted_content',
  'alerts_not_delivered',
  'no_delegation_depth_limit',
  'secret_not_rotated',
  'secret_not_stored',
  'literal_credential',
  'trail_not_verified',
  'trail_not_witnessed',
] as const;
export type GapKind = (typeof GAP_KINDS)[number];

/**
 * How much a gap weighs, by kind: high when a control does not hold (a call runs
 * unchecked, a credential sits in clear, the trail does not verify), medium when it
 * holds less than it should, low for a single task that says or asks too much.
 */
export const GAP_SEVERITY: Readonly<Record<GapKind, GapSeverity>> = Object.freeze({
  long_svid_ttl: 'medium',
  long_task_ttl_allowed: 'medium',
  long_task_ttl_granted: 'low',
  empty_catalog: 'low',
  purpose_without_detail: 'low',
  no_policy_loaded: 'high',
  policy_evaluation_errors: 'medium',
  high_risk_tool_without_step_up: 'high',
  step_up_only_after_untrusted_content: 'medium',
  alerts_not_delivered: 'medium',
  no_delegation_depth_limit: 'medium',
  secret_not_rotated: 'medium',
  secret_not_stored: 'high',
  literal_credential: 'high',
  trail_not_verified: 'high',
  trail_not_witnessed: 'medium',
});

/** One finding: what is wrong, about which item (a tool, a task, a key of the configuration, a secret). */
export interface Gap {
  kind: GapKind;
  severity: GapSeverity;
  item: string;
  detail: string;
}

export interface ControlMappings {
  owasp: { id: OwaspId; title: string }[];
  maestro: { id: MaestroId; title: string }[];
  nist: { function: NistFunction; subcategory: NistSubcategory }[];
}

/** A count, or counts by key (outcome, code, signal, ...). */
export type Evidence = Record<string, number | Record<string, number>>;
/** What the configuration sets for a control. */
export type Configured = Record<string, string | number | boolean | null | string[]>;

export interface Control {
  id: string;
  title: string;
  /** What the control checks, in one sentence. */
  checks: string;
  status: ControlStatus;
  mappings: ControlMappings;
  configured: Configured;
  evidence: Evidence;
  gaps: Gap[];
  /** Gaps found beyond those listed (a list is capped, the count is not). */
  gapsNotListed: number;
}

export type CoverageStatus = ControlStatus | 'not_addressed';

export interface Coverage {
  id: string;
  title: string;
  controls: string[];
  /** in_force when every control mapped to it is; not_addressed when none is mapped. */
  status: CoverageStatus;
}

export interface ReportThresholds {
  /** A task credential may live this long at most without a gap. */
  maxTaskTtlSeconds: number;
  /** An SVID may live this long at most without a gap. */
  maxSvidTtlSeconds: number;
  /** A brokered secret whose newest version is older than this was not rotated. */
  secretMaxAgeDays: number;
  /** A task's purpose shorter than this does not say what the task is for. */
  minPurposeWords: number;
}

export const DEFAULT_THRESHOLDS: ReportThresholds = Object.freeze({ maxTaskTtlSeconds: 3600, maxSvidTtlSeconds: 900, secretMaxAgeDays: 90, minPurposeWords: 5 });

/** The report, exactly as `--format json` prints it (docs/compliance-report.md). */
export interface Report {
  schema: typeof REPORT_SCHEMA;
  generatedAt: string;
  /** Null at an open end: from the first event of the trail, or up to its last. */
  period: { since: string | null; until: string | null };
  trustDomain: string;
  environment: string;
  thresholds: ReportThresholds;
  summary: {
    controls: number;
    inForce: number;
    partial: number;
    notInForce: number;
    gaps: number;
    gapsBySeverity: Record<GapSeverity, number>;
  };
  controls: Control[];
  frameworks: { owasp: Coverage[]; maestro: Coverage[]; nist: (Coverage & { function: NistFunction })[] };
  trail: TrailSummary;
}

/** What the trail shows over the period, whatever the controls make of it. */
export interface TrailSummary {
  events: number;
  firstEventAt: string | null;
  lastEventAt: string | null;
  byType: Record<string, number>;
  decisions: { total: number; byOutcome: Record<string, number>; byCode: Record<string, number> };
}

// What the report is made from

/**
 * The parts of the configuration the report reads, by the names `Config` gives
 * them: the loaded configuration is passed as it is.
 */
export interface ReportedConfig {
  trustDomain: string;
  environment: string;
  identity: { svidTtlSeconds: number; joinTokenTtlSeconds: number; oidcIssuers: readonly { issuer: string }[] };
  credentials: { maxTaskTtlSeconds: number };
  policy: { source: string };
  audit: { checkpointEveryEvents: number; checkpointEverySeconds: number };
  approvals: { approvers: readonly string[]; expirySeconds: number; separationOfDuties: boolean; webhook?: unknown };
  monitor: { denialsPerMinute: number; webhook?: unknown; responses: Readonly<Record<Signal, DriftResponse>> };
}

/** An agent as registered, reduced to what attests it. */
export interface RegisteredAgent {
  name: string;
  groups: readonly string[];
  joinToken: boolean;
  oidcRules: number;
  disabled: boolean;
}

/** The newest version of a brokered secret: never its value. */
export interface StoredSecret {
  name: string;
  version: number;
  createdAtMs: number;
}

/** How the ceiling treats a high-risk tool, found by asking it (analyse-ceiling.ts). */
export type StepUpCoverage = 'always' | 'refused' | 'after_untrusted_content' | 'never';

export interface ToolCoverage {
  tool: string;
  kind: ToolKind;
  risk: Risk;
  stepUp: StepUpCoverage;
  /** The determining policies of the clean-task answer. */
  policies: string[];
  /** Agent groups for which a clean task is allowed the tool with no person asked. */
  allowedFor: string[][];
}

export interface CeilingAnalysis {
  version: number;
  hash: string;
  files: string[];
  permits: number;
  forbids: number;
  stepUpPolicies: string[];
  /** Agent group sets asked about (each configured or registered agent's groups). */
  groupsProbed: string[][];
  highRiskTools: ToolCoverage[];
  /** The first delegation depth at which the ceiling answers some call more strictly than at depth 0; null when depth changes nothing. */
  delegationLimitedFromDepth: number | null;
}

/** A task granted in the period whose mandate lacks detail. */
export interface UndetailedTask {
  taskId: string;
  purposeWords: number;
  missing: string[];
}

/** What the trail shows, counted by `TrailTally`. */
export interface TrailFacts {
  events: number;
  firstAtMs: number | null;
  lastAtMs: number | null;
  byType: Record<string, number>;
  decisionsByOutcome: Record<string, number>;
  decisionsByCode: Record<string, number>;
  attestationsByMethod: Record<string, number>;
  attestationFailuresByCode: Record<string, number>;
  refusedItemsByCode: Record<string, number>;
  childTasks: number;
  longestTaskTtlSeconds: number | null;
  longTtlTasks: { taskId: string; ttlSeconds: number }[];
  longTtlTaskCount: number;
  undetailedTasks: UndetailedTask[];
  undetailedTaskCount: number;
  signalsBySignal: Record<string, number>;
  signalsByResponse: Record<string, number>;
  revocationsByKind: Record<string, number>;
  secretsUsedByName: Record<string, number>;
}

/** Audit integrity: `verifyTrail`'s answer and the witness it held the store against. */
export interface IntegrityFacts {
  verified: TrailReport;
  witness: string | null;
}

export interface ReportInput {
  nowMs: number;
  period: { sinceMs: number | null; untilMs: number | null };
  thresholds: ReportThresholds;
  config: ReportedConfig;
  tools: readonly ToolSpec[];
  agents: readonly RegisteredAgent[];
  ceiling: CeilingAnalysis;
  secrets: readonly StoredSecret[];
  trail: TrailFacts;
  integrity: IntegrityFacts;
}
