export * from './model.js';
export type { SecretRepo } from './ports.js';
export { SecretVault, loadVaultKey, vaultKey, type VaultKey } from './vault.js';
