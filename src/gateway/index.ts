export * from './mcp/index.js';
export * from './http/index.js';
