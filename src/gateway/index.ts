export * from './mcp/index.js';
export * from './http/index.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf } from './transport-codes.js';
