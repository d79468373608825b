import { chainLinks, controlPlaneId, type Task } from '../mandate/index.js';
import type { Decision } from './model.js';

/** The JWT `typ` of a transaction token (draft-ietf-oauth-transaction-tokens, "JWT Header"). */
export const TXN_TOKEN_TYP = 'txntoken+jwt';

/** One link of the delegation chain as a downstream service reads it: the task and its agent's SPIFFE ID. */
export interface TxnChainLink {
  task_id: string;
  agent: string;
}

/**
 * `tctx`: what stays true for the whole transaction, as decided. The names are
 * Mandate's own; the draft leaves the content of `tctx` to the token service.
 */
export interface TxnTransactionContext {
  /** The task's declared purpose, in the principal's words. */
  purpose: string;
  /** The catalog name of what was decided (`<upstream>.<tool>`, `<upstream>.resources`, …). */
  tool: string;
  decision_id: string;
  /** The policy set the ceiling was evaluated with. */
  policy_version: number | null;
  task_id: string;
  /** The agent's SPIFFE ID. */
  agent: string;
  /** On whose behalf, when the task names someone. */
  principal?: string;
  parent_task_id?: string;
  delegation_depth: number;
  /** The tasks this one was delegated from, parent first; absent for a root task. */
  chain?: TxnChainLink[];
}

/** `rctx`: where the transaction came through. */
export interface TxnRequestContext {
  gateway: 'mcp' | 'http';
  /** The upstream's name in the configuration. */
  upstream: string;
  /** The W3C trace of the agent's request, when it sent one. */
  trace_id?: string;
}

/** The claim set, draft-ietf-oauth-transaction-tokens-10 "JWT Body Claims". */
export type TxnTokenClaims = {
  iss: string;
  iat: number;
  exp: number;
  /** The trust domain first (what the draft asks), then the upstream the token is for. */
  aud: string[];
  txn: string;
  sub: string;
  scope: string;
  req_wl: string;
  tctx: TxnTransactionContext;
  rctx: TxnRequestContext;
};

export interface TxnTokenRequest {
  task: Task;
  decision: Decision;
  trustDomain: string;
  /** Who the token is for: the upstream's identifier (its URL unless configured otherwise). */
  audience: string;
  gateway: 'mcp' | 'http';
  upstream: string;
  traceId?: string;
  ttlSeconds: number;
  nowMs: number;
}

/** The signer of every token of the trust domain: the control plane. */
export const txnTokenIssuer = controlPlaneId;
/** The workload that asks for the token (`req_wl`): the gateway that forwards the call. */
export const txnTokenRequester = (trustDomain: string, gateway: 'mcp' | 'http') => `spiffe://${trustDomain}/mandate/gateway/${gateway}`;

/**
 * The claims of the transaction token for one allowed call. `txn` is the decision
 * id, so the token, the decision record and the result record share one id.
 * `scope` is the decided action: the draft wants space-separated scope values as
 * narrow as possible, and a purpose is free text (it goes in `tctx.purpose`).
 */
export function txnTokenClaims(r: TxnTokenRequest): TxnTokenClaims {
  const { task, decision } = r;
  const iat = Math.floor(r.nowMs / 1000);
  // Never outlives the task it was minted for.
  const exp = Math.max(iat + 1, Math.min(iat + r.ttlSeconds, Math.ceil(task.expiresAtMs / 1000)));
  const tctx: TxnTransactionContext = {
    purpose: task.mandate.purpose,
    tool: decision.tool,
    decision_id: decision.id,
    policy_version: decision.policyVersion,
    task_id: task.id,
    agent: task.spiffeId,
    ...(task.principal !== null ? { principal: task.principal } : {}),
    ...(task.parentTaskId !== null ? { parent_task_id: task.parentTaskId } : {}),
    delegation_depth: task.delegationDepth,
    ...(task.chain.length > 0 ? { chain: chainLinks(task) } : {}),
  };
  return {
    iss: txnTokenIssuer(r.trustDomain),
    iat,
    exp,
    aud: r.audience === r.trustDomain ? [r.trustDomain] : [r.trustDomain, r.audience],
    txn: decision.id,
    sub: task.principal ?? task.spiffeId,
    scope: decision.tool,
    req_wl: txnTokenRequester(r.trustDomain, r.gateway),
    tctx,
    rctx: { gateway: r.gateway, upstream: r.upstream, ...(r.traceId !== undefined ? { trace_id: r.traceId } : {}) },
  };
}
