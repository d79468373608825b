export * from './model.js';
export type { AuditRepo, AuditQuery } from './ports.js';
export { AuditLog } from './audit-log.js';
export { hashEvent } from './chain.js';
export { verifyChain, type BrokenLink, type ChainReport } from './verify-chain.js';
