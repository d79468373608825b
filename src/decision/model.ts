import type { AgentId, DecisionId, ErrorCode, TaskId } from '../core/index.js';
import type { PresentedProof } from '../credentials/index.js';
import type { TargetProvenance } from '../provenance/index.js';

export type Outcome = 'allow' | 'deny' | 'step_up';

/** Which layer decided: every refusal says whether the mandate or the ceiling refused. */
export type Layer = 'credential' | 'mandate' | 'policy' | 'monitor' | 'request' | 'internal';

export interface DecisionRequest {
  /** The task credential presented with the call. */
  credential: string;
  /** The tool being called, `<server>.<tool>`. */
  tool: string;
  /** The call's arguments, as the tool would receive them. */
  args?: Record<string, unknown>;
  /** The W3C trace the request belongs to, kept in the audit record. */
  traceId?: string;
  /** What came with the credential to prove its holder (a delegated credential needs its actor's SVID). */
  presented?: PresentedProof;
}

export interface Decision {
  id: DecisionId;
  outcome: Outcome;
  reason: { code: ErrorCode; message: string };
  layer: Layer;
  /** The determining policies (permits for allow, forbids for deny and step_up). */
  policies: string[];
  /** The policy version the ceiling was evaluated with; null when it was not reached. */
  policyVersion: number | null;
  /** Values of the `@step_up` annotations that demanded approval. */
  stepUp: string[];
  /** The approval this decision requested (step_up), used (allow after approval) or was refused by (deny). */
  approvalId: string | null;
  /** How far the task has drifted from its mandate, when the task is known. */
  drift: { score: number; signals: string[] } | null;
  /** What the enforcement point must do with an allowed call's result. */
  obligations: Obligations;
  taskId: TaskId | null;
  agentId: AgentId | null;
  tool: string;
  /** The task's call count after this call, when it was allowed. */
  callCount: number | null;
  /** Where each value of the tool's target arguments came from, when the mandate and catalog were reached. */
  targets: TargetProvenance[];
  atMs: number;
}

export interface Obligations {
  /** Fields to replace with `[redacted]` wherever they appear in the result. */
  redact: string[];
}
