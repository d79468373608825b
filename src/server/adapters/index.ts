// First: the V8 flag must be set before any cedar-wasm call can be optimized.
import './v8-workaround.js';

export { httpIssuerDirectory } from './issuer-directory.js';
export { policyDirectory, readCedarFiles } from './policy-directory.js';
export { loadVaultKey, vaultKey } from './vault-key-file.js';
export { deliverWebhook } from './webhook-sender.js';
export { fileAuditDestination, webhookAuditDestination, type EncodeEvent, type WebhookSinkTarget } from './audit-sink.js';
export { httpTokenEndpoint } from './oidc-token-endpoint.js';
