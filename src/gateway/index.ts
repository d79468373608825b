export * from './mcp/index.js';
export * from './http/index.js';
export type { SecretResolver } from './secret-resolver.js';
