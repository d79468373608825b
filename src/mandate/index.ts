export * from './model.js';
export type { TaskRepo, TaskQuery } from './ports.js';
export { checkCallAgainstMandate, checkArg, resolveArg } from './check-call.js';
export { constraintMismatch } from './check-params.js';
export { grantMandate, MandateRefused, type GrantCeiling, type GrantDeps, type GrantingAgent } from './grant.js';
