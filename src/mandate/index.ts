export * from './model.js';
export type { TaskRepo, TaskQuery, ToolParamsSource } from './ports.js';
export { checkCallAgainstMandate, checkArg } from './check-call.js';
export { constraintMismatch } from './check-params.js';
export { narrowDelegation, parentDelegates, type DelegatingParent, type Narrowed } from './narrowing.js';
export { grantMandate, MandateRefused, refuseWhole, statedPurpose, type DelegationGate, type GrantCeiling, type GrantDeps, type GrantingAgent } from './grant.js';
export { mandateFromPlan, PlanSchema, PLAN_CALLS_PER_STEP, MAX_STATED_STRING_LENGTH, MAX_STATED_VALUES, type Plan, type PlanInput, type PlanMandate } from './from-plan.js';
export { MANDATE_DOCUMENT_TYP, chainLinks, controlPlaneId, mandateDocumentClaims, type MandateDocumentClaims } from './mandate-document.js';
