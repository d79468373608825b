import type { Mandate, Task } from './model.js';

/** The JWT `typ` of a signed mandate document. */
export const MANDATE_DOCUMENT_TYP = 'mandate+jwt';

/** The control plane as a workload of its trust domain: the issuer of everything it signs for others to check. */
export const controlPlaneId = (trustDomain: string) => `spiffe://${trustDomain}/mandate`;

/**
 * A task's mandate as the control plane granted it, signed with the trust domain's
 * key: what a downstream service reads to know what the agent declared it would do
 * (purpose, tools and their argument constraints, data classes, limits), for whom,
 * and through which chain of delegations. Valid as long as the task may be.
 */
export interface MandateDocumentClaims {
  iss: string;
  /** The agent's SPIFFE ID: the holder of the task. */
  sub: string;
  /** The trust domain: anyone who trusts its keys may read the document. */
  aud: string;
  iat: number;
  /** The task's expiry: the mandate says nothing after it. */
  exp: number;
  /** The task id, so the document, the task credential and each transaction token name one task. */
  jti: string;
  mandate: Mandate;
  principal?: string;
  parent_task_id?: string;
  delegation_depth: number;
  /** The tasks this one was delegated from, parent first (as in transaction tokens). */
  chain?: { task_id: string; agent: string }[];
}

/** The delegation chain as downstream services read it: each task and its agent's SPIFFE ID, parent first. */
export function chainLinks(task: Pick<Task, 'chain'>): { task_id: string; agent: string }[] {
  return task.chain.map((l) => ({ task_id: l.taskId, agent: l.spiffeId }));
}

export function mandateDocumentClaims(task: Task, trustDomain: string, nowMs: number): MandateDocumentClaims {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: controlPlaneId(trustDomain),
    sub: task.spiffeId,
    aud: trustDomain,
    iat,
    exp: Math.max(iat + 1, Math.ceil(task.expiresAtMs / 1000)),
    jti: task.id,
    mandate: task.mandate,
    ...(task.principal !== null ? { principal: task.principal } : {}),
    ...(task.parentTaskId !== null ? { parent_task_id: task.parentTaskId } : {}),
    delegation_depth: task.delegationDepth,
    ...(task.chain.length > 0 ? { chain: chainLinks(task) } : {}),
  };
}
