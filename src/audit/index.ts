export * from './model.js';
export type { AuditRepo, AuditQuery, AuditSpool, SpooledEntry } from './ports.js';
export { AuditLog, type AuditLogOptions } from './audit-log.js';
export { hashEvent } from './chain.js';
export { verifyChain, type BrokenLink, type ChainReport } from './verify-chain.js';
