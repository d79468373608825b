export { redactResult } from './redact.js';
export type { SecretResolver } from './secret-resolver.js';
export { errorBody, httpStatusOf, jsonRpcCodeOf } from './transport-codes.js';
