import type { AgentId, TaskId } from '../core/index.js';

/** `cancelled`: its task ended (completed, revoked or expired) while the request was pending. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'consumed' | 'cancelled';

/** A request for a person to approve one exact action: this task, this tool, these canonical arguments. */
export interface Approval {
  id: string;
  taskId: TaskId;
  agentId: AgentId;
  agentName: string;
  principal: string | null;
  tool: string;
  /** The exact arguments, shown to the approver; the hash binds the approval to them. */
  args: Record<string, unknown>;
  argsHash: string;
  /** The step-up policies that demanded it. */
  policies: string[];
  purpose: string;
  /** Who may approve: `group:<name>`, `approver:<id>` or `principal`. */
  approvers: string[];
  /** An approver who is also the task's principal may not approve. */
  separationOfDuties: boolean;
  /** How many calls one approval allows. */
  usesLeft: number;
  /** After approval, how long it may be used (null: until the request expires). */
  windowSeconds: number | null;
  status: ApprovalStatus;
  createdAtMs: number;
  expiresAtMs: number;
  decidedBy: string | null;
  decidedAtMs: number | null;
  reason: string | null;
  /** Webhook delivery: none configured, pending, delivered, failed. */
  notify: 'none' | 'pending' | 'delivered' | 'failed';
}

/** A person who may approve, authenticated by a bearer token of their own. */
export interface Approver {
  id: string;
  groups: string[];
  tokenHash: string;
  createdAtMs: number;
}

/**
 * Who decides a request, whichever way they authenticated: an approver token, or a
 * person signed in to the console (their e-mail or subject, their provider groups).
 */
export type ApproverIdentity = Pick<Approver, 'id' | 'groups'>;

export const APPROVER_ID = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
