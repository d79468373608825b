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
  /**
   * How the presenter must prove it holds the credential (RFC 7800 `cnf`): the SVID
   * of the agent with this SPIFFE ID (`spiffe_id`, a credential handed over by token
   * exchange), or a DPoP proof with the key of this thumbprint (`jkt`). Null: bearer.
   */
  confirm: { spiffeId?: string; jkt?: string } | null;
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
