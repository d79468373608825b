// The wire shapes the console reads, after src/server/api-schemas.ts (the console is served
// by the same server, so every endpoint it reads is there).

export type Role = 'viewer' | 'approver' | 'operator' | 'admin';

export interface Session {
  subject: string;
  name: string | null;
  email: string | null;
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
  dpopJkt: string | null;
}

/** A row of `GET /v1/agents`. */
export interface AgentListItem extends Agent {
  lastSeenMs: number | null;
  activeTasks: number;
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
}

/** The monitor's summary as stored for every replica (`GET /v1/tasks` rows and tree nodes). */
export interface StoredDrift {
  score: number;
  signals: string[];
  suspendedBy: string | null;
}

/** A row of `GET /v1/tasks`. */
export interface TaskListItem extends Omit<Task, 'drift'> {
  purpose: string;
  drift: StoredDrift | null;
}

export interface TaskNode extends TaskListItem {
  children: TaskNode[];
}

/** `GET /v1/tasks/{id}/tree`: the whole delegation tree the task is in, from its root. */
export interface TaskTree {
  tree: TaskNode;
  nodes: number;
  truncated: boolean;
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
  notify: 'none' | 'pending' | 'delivered' | 'failed';
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
  files: string[];
}

export interface Overview {
  atMs: number;
  agents: { registered: number; disabled: number };
  tasks: { active: number; suspended: number };
  approvals: { pending: number };
  driftAlerts: number;
  decisionsLastMinute: Record<Outcome, number>;
  windowMinutes: number;
  bucketSeconds: number;
  series: ({ startMs: number } & Record<Outcome, number>)[];
  topReasons: { code: string; count: number }[];
  health: {
    store: { kind: string; available: boolean };
    upstreams: { name: string; kind: 'stdio' | 'http'; connected: boolean; healthy: boolean; failures: number; retryAtMs: number | null }[];
  };
}

/** A determining policy with its source; `file`, `line` and `text` are absent when this replica no longer serves its version. */
export interface PolicySource {
  id: string;
  file?: string;
  line?: number;
  text?: string;
}

export interface DecisionDetail {
  record: AuditEvent;
  policyVersion: number | null;
  policies: PolicySource[];
  sourceUnavailable: boolean;
  task: { id: string; purpose: string; agent: string; agentId: string; principal: string | null; status: Task['status']; trail: string } | null;
}

/** `POST /v1/what-if`: the decision the current policies would give, recorded nowhere. */
export interface WhatIfAnswer {
  id: string;
  outcome: Outcome;
  reason: { code: string; message: string };
  layer: string;
  stepUp: string[];
  targets: { arg: string; provenance: string }[];
  policyVersion: number | null;
  policies: PolicySource[];
  sourceUnavailable: boolean;
  recorded: false;
}

export interface Report {
  schema: string;
  generatedAt: string;
  period: { since: string | null; until: string | null };
  summary: { controls: number; inForce: number; partial: number; notInForce: number; gaps: number; gapsBySeverity: Record<string, number> };
  controls: { id: string; title: string; checks: string; status: string; gaps: { kind: string; severity: string; item: string; detail: string }[]; gapsNotListed: number }[];
}
