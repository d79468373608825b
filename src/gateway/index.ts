export * from './mcp/index.js';
export * from './http/index.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf, presentedProof, SVID_HEADER, traceIdOf, unobservedUpstreamCalls, TransactionTokenSchema, TxnTokens, TXN_TOKEN_HEADER, TXN_TOKEN_META, type TransactionTokenConfig, type TxnTokenTarget, type SecretResolver, type UpstreamCall, type UpstreamCalls, type UpstreamFailure } from './common/index.js';
