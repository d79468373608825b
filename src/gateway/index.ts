export * from './mcp/index.js';
