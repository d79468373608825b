export * from './model.js';
export type { ApprovalPosition, ApprovalQuery, ApprovalRepo, ApproverRepo, DeliverWebhook, WebhookDelivery, WebhookTarget } from './ports.js';
export { ApprovalService, argsHashOf, mayApprove, type ApprovalDefaults, type ApprovalDeps } from './approval-service.js';
export { approvalPayload, signWebhook } from './webhook.js';
