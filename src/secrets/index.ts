export * from './model.js';
export type { SecretRepo, VaultKey } from './ports.js';
export { SecretVault } from './vault.js';
