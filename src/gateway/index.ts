export * from './mcp/index.js';
export * from './http/index.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf } from './transport-codes.js';
export type { SecretResolver } from './secret-resolver.js';
