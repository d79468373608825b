export * from './model.js';
export type { RevocationRepo } from './ports.js';
export { RevocationSet, type RevocationSubject } from './revocation-set.js';
export { CredentialService, type CredentialDeps, type MintRequest } from './credential-service.js';
