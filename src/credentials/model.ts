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
  issuedAtMs: number;
  expiresAtMs: number;
}

/** The JWT `typ` of a task credential: an SVID or any other JWT of ours is never accepted in its place. */
export const TASK_CREDENTIAL_TYP = 'task+jwt';
