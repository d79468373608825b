export { redactResult } from './redact.js';
export type { SecretResolver } from './secret-resolver.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf } from './transport-codes.js';
export { unobservedUpstreamCalls, type UpstreamCall, type UpstreamCalls, type UpstreamFailure } from './upstream-calls.js';
export { traceIdOf } from './trace-id.js';
export { presentedProof, SVID_HEADER } from './presented.js';
export { TransactionTokenSchema, TxnTokens, TXN_TOKEN_HEADER, TXN_TOKEN_META, type TransactionTokenConfig, type TxnTokenDeps, type TxnTokenTarget } from './txn-token.js';
export { recordGatewayRefusal } from './refusals.js';
