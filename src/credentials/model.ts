import type { AgentId, CredentialId, TaskId } from '../core/index.js';

export const REVOCATION_KINDS = ['credential', 'task', 'agent', 'principal'] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/**
 * A revocation. Credential and task revocations are absolute; agent and
 * principal revocations cut every credential issued up to `createdAtMs`.
 */
export interface Revocation {
  id: string;
  kind: RevocationKind;
  subject: string;
  reason: string;
  createdAtMs: number;
  /** After this no credential it could cut is still valid, so it can be forgotten. */
  expiresAtMs: number;
}

/** The verified claims of a task credential. */
export interface TaskCredentialClaims {
  jti: CredentialId;
  taskId: TaskId;
  agentId: AgentId;
  spiffeId: string;
  principal: string | null;
  /** Whether the task was delegated from another task (the credential carries an `act` chain). */
  delegated: boolean;
  issuedAtMs: number;
  expiresAtMs: number;
}

/**
 * What a caller presented beside a task credential to prove it holds it: the SVID
 * of the agent it was issued to (`Mandate-SVID` header), and the request the
 * credential came with (for a DPoP proof).
 */
export interface PresentedProof {
  svid?: string;
  dpop?: string;
  method: string;
  url: string;
}

/** The JWT `typ` of a task credential: an SVID or any other JWT of ours is never accepted in its place. */
export const TASK_CREDENTIAL_TYP = 'task+jwt';
