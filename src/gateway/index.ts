export * from './mcp/index.js';
export * from './http/index.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf, presentedProof, SVID_HEADER, traceIdOf, unobservedUpstreamCalls, type SecretResolver, type UpstreamCall, type UpstreamCalls, type UpstreamFailure } from './common/index.js';
