export * from './model.js';
export type { ApprovalQuery, ApprovalRepo, ApproverRepo } from './ports.js';
export { ApprovalService, argsHashOf, mayApprove, type ApprovalDefaults, type ApprovalDeps } from './approval-service.js';
export { approvalPayload, deliverWebhook, signWebhook, type WebhookTarget } from './webhook.js';
