export * from './mcp/index.js';
export * from './http/index.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf, type SecretResolver } from './common/index.js';
