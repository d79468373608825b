export * from './model.js';
export type { SecretRepo } from './ports.js';
export { SecretVault, loadVaultKey } from './vault.js';
