import { z } from 'zod';
import type { Clock } from '../../core/index.js';
import { TXN_TOKEN_TYP, txnTokenClaims, type Decision, type TaskContext, type TxnTokenClaims } from '../../decision/index.js';

/** The draft's HTTP header for a transaction token. */
export const TXN_TOKEN_HEADER = 'Txn-Token';
/**
 * Where a stdio upstream finds its token: `params._meta` of the request, since
 * stdio carries no headers. The prefix is the one of the gateway's other `_meta` keys.
 */
export const TXN_TOKEN_META = 'mandate/txn-token';

/**
 * Headers the gateway or the MCP transport set themselves, and `Authorization`,
 * which the draft forbids for transaction tokens (it belongs to the upstream's own credentials).
 */
const NOT_A_TXN_HEADER = new Set(['authorization', 'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection', 'proxy-authorization', 'expect', 'accept', 'traceparent', 'tracestate']);

export const TransactionTokenSchema = z
  .object({
    /** The request header that carries the token to an HTTP upstream. */
    header: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'not a valid header name')
      .refine((h) => !NOT_A_TXN_HEADER.has(h.toLowerCase()) && !h.toLowerCase().startsWith('mcp-'), 'this header is managed by the gateway or the transport')
      .default(TXN_TOKEN_HEADER),
    /** Short-lived by design: a token only has to outlast the call it was minted for. */
    ttlSeconds: z.number().int().min(1).max(300).default(60),
    /** The upstream's identifier in `aud`, which its verifier expects; default its URL (a stdio upstream: its name). */
    audience: z.string().min(1).max(1024).optional(),
  })
  .strict();

export type TransactionTokenConfig = z.output<typeof TransactionTokenSchema>;

/** What a gateway knows of one upstream's tokens. */
export interface TxnTokenTarget {
  gateway: 'mcp' | 'http';
  upstream: string;
  audience: string;
  ttlSeconds: number;
}

export interface TxnTokenDeps {
  /** Signs with the trust domain's current key (`KeyRing.signSync`, or `KeyRing.sign`). */
  sign(claims: TxnTokenClaims, typ: string): string | Promise<string>;
  clock: Clock;
  trustDomain: string;
}

/**
 * Mints the transaction token of one allowed call (draft-ietf-oauth-transaction-tokens):
 * what a downstream service checks to refuse calls that no decision allowed.
 */
export class TxnTokens {
  constructor(private readonly d: TxnTokenDeps) {}

  async mint(ctx: TaskContext, decision: Decision, target: TxnTokenTarget): Promise<string> {
    const claims = txnTokenClaims({ task: ctx.task, decision, trustDomain: this.d.trustDomain, ...target, traceId: ctx.traceId, nowMs: this.d.clock.nowMs() });
    return this.d.sign(claims, TXN_TOKEN_TYP);
  }
}
