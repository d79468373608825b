import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../core/index.js';
import { VAULT_KEY_BYTES, type VaultKey } from '../../secrets/index.js';

/**
 * The vault key: base64 from configuration (`secrets.key` / MANDATE_SECRETS_KEY),
 * else the key file. A configured key or an existing file is checked now, so a bad
 * one is a start-up error; a missing file is generated (mode 0600) only when the
 * first secret is stored, so a deployment without secrets (or on `:memory:`)
 * writes no key file.
 */
export function vaultKey(opts: { key?: string | undefined; keyFile: string }): VaultKey {
  let key = opts.key || existsSync(opts.keyFile) ? loadVaultKey(opts) : undefined;
  return {
    forWrite: () => (key ??= loadVaultKey(opts)),
    forRead: () => (key ??= existsSync(opts.keyFile) ? loadVaultKey(opts) : undefined),
  };
}

/**
 * The vault key now: base64 from configuration, else the key file, generated with
 * mode 0600 when absent.
 */
export function loadVaultKey(opts: { key?: string | undefined; keyFile: string }): Buffer {
  if (opts.key) {
    const key = Buffer.from(opts.key, 'base64');
    if (key.length !== VAULT_KEY_BYTES) throw new ConfigError(`secrets.key: expected ${VAULT_KEY_BYTES} bytes in base64, got ${key.length}`);
    return key;
  }
  if (!existsSync(opts.keyFile)) {
    mkdirSync(dirname(opts.keyFile), { recursive: true });
    try {
      writeFileSync(opts.keyFile, randomBytes(VAULT_KEY_BYTES).toString('base64'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another replica sharing the folder made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = statSync(opts.keyFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    // A key readable by others is a leaked key; tighten rather than refuse so an upgrade does not stop the service.
    chmodSync(opts.keyFile, 0o600);
  }
  const key = Buffer.from(readFileSync(opts.keyFile, 'utf8').trim(), 'base64');
  if (key.length !== VAULT_KEY_BYTES) throw new ConfigError(`secrets.keyFile \`${opts.keyFile}\`: expected ${VAULT_KEY_BYTES} bytes in base64`);
  return key;
}
