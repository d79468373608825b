// The wire shapes the console reads, after src/server/api-schemas.ts. Fields added by
// endpoints still being built are optional: the console shows what it is given.

export type Role = 'viewer' | 'approver' | 'operator' | 'admin';

export interface Session {
  subject: string;
  name: string;
  email: string;
  issuer: string;
  roles: Role[];
  csrfToken: string;
  expiresAtMs: number;
}

export type Outcome = 'allow' | 'deny' | 'step_up';

export interface Agent {
  id: string;
  name: string;
  spiffeId: string;
  groups: string[];
  attestation: { joinToken: boolean; oidc: { issuer: string; claims: Record<string, string> }[] };
  createdAtMs: number;
  disabledAtMs: number | null;
  lastSeenMs?: number | null;
  activeTasks?: number;
}

export interface Drift {
  score: number;
  signals: string[];
  suspendedBy: string | null;
  stepUpBy: string | null;
  tightenedBy: string | null;
  labels: string[];
  toolsCalled: string[];
}

export interface Mandate {
  purpose: string;
  tools: { name: string; args?: Record<string, unknown> }[];
  dataClasses?: string[];
  onBehalfOf?: string;
  [key: string]: unknown;
}

export interface Task {
  drift?: Drift;
  id: string;
  agent: string;
  agentId: string;
  spiffeId: string;
  status: 'active' | 'completed' | 'revoked';
  mandate: Mandate;
  principal: string | null;
  parentTask: string | null;
  delegationDepth: number;
  callCount: number;
  createdAtMs: number;
  expiresAtMs: number;
  endedAtMs: number | null;
  endReason: string | null;
  children?: Task[];
}

export interface Approval {
  id: string;
  taskId: string;
  agentId: string;
  agentName: string;
  principal: string | null;
  tool: string;
  args: Record<string, unknown>;
  argsHash: string;
  policies: string[];
  purpose: string;
  approvers: string[];
  separationOfDuties: boolean;
  usesLeft: number;
  windowSeconds: number | null;
  status: 'pending' | 'approved' | 'denied' | 'expired' | 'consumed' | 'cancelled';
  createdAtMs: number;
  expiresAtMs: number;
  decidedBy: string | null;
  decidedAtMs: number | null;
  reason: string | null;
}

export interface AuditEvent {
  segment: string;
  seq: number;
  id: string;
  type: string;
  atMs: number;
  taskId: string | null;
  agentId: string | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

/** What a decision record's `data` holds (see the Decision schema). */
export interface DecisionData {
  decisionId?: string;
  outcome?: Outcome;
  code?: string;
  message?: string;
  layer?: string;
  action?: string | null;
  principal?: string | null;
  purpose?: string;
  argNames?: string[];
  argsHash?: string;
  callCount?: number | null;
  policies?: string[];
  policyVersion?: number | null;
  stepUp?: string[];
  approvalId?: string | null;
  tool?: string;
  args?: Record<string, unknown>;
  targets?: { arg: string; provenance: string }[];
  drift?: { score: number; signals: string[] } | null;
  [key: string]: unknown;
}

export interface TrailTask {
  id: string;
  agent: string;
  agentId: string;
  principal: string | null;
  purpose: string;
  parentTask: string | null;
  delegationDepth: number;
  status: string;
  createdAtMs: number;
  expiresAtMs: number;
  endedAtMs: number | null;
  endReason: string | null;
}

export type TrailStep =
  | { kind: 'call'; taskId: string; atMs: number; decisionId: string; tool: string; outcome: string; code: string | null; labels: string[]; toolsCalled: string[]; decision: AuditEvent; result: AuditEvent | null; related: AuditEvent[] }
  | { kind: 'event'; taskId: string; atMs: number; event: AuditEvent };

export interface TaskTrail {
  task: TrailTask;
  tasks: TrailTask[];
  steps: TrailStep[];
  truncated: boolean;
}

export interface ChainVerification {
  ok: boolean;
  segments: { segment: string; events: number; headHash: string }[];
  broken: { segment: string; seq: number; reason: string } | null;
  empty: boolean;
  witnessed: number;
  findings: { kind: string; segment: string; seq?: number }[];
}

export interface PolicySet {
  source: 'dir' | 'store';
  version: number;
  hash: string;
  // Served as names today; as { name, text } once the policy text is exposed.
  files: (string | { name: string; text: string })[];
  validation?: { ok: boolean; errors?: string[] };
}

export interface Overview {
  agents: { registered: number; disabled: number };
  tasks: { active: number };
  approvals: { pending: number };
  driftAlerts: number;
  decisionsLastMinute: Record<Outcome, number>;
  series: ({ startMs: number } & Record<Outcome, number>)[];
  topReasons: { code: string; count: number }[];
  health: { store: { kind: string; available: boolean }; upstreams: { name: string; healthy: boolean }[] };
}

export interface DecisionDetail {
  record?: AuditEvent;
  policies?: { id: string; file: string; text: string; line: number }[];
  task?: { id: string; agent?: string; purpose?: string; principal?: string | null; status?: string };
  [key: string]: unknown;
}

export interface Report {
  schema: string;
  generatedAt: string;
  period: { since: string | null; until: string | null };
  summary: { controls: number; inForce: number; partial: number; notInForce: number; gaps: number; gapsBySeverity: Record<string, number> };
  controls: { id: string; title: string; checks: string; status: string; gaps: { kind: string; severity: string; item: string; detail: string }[]; gapsNotListed: number }[];
}
