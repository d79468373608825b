import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Actor, AuditSink } from '../audit/index.js';
import { CodedError, ConfigError, type Clock } from '../core/index.js';
import { SECRET_NAME, VAULT_KEY_BYTES, type ResolvedSecret, type SecretRecord, type ValueOrSecret } from './model.js';
import type { SecretRepo, VaultKey } from './ports.js';

const IV_BYTES = 12;

/**
 * Upstream credentials, encrypted at rest with AES-256-GCM. The key never
 * enters the store: it comes through the VaultKey port (configuration or a key
 * file beside it, read by the adapter in `server/adapters`).
 */
export class SecretVault {
  private readonly key: VaultKey;

  constructor(
    private readonly repo: SecretRepo,
    key: Buffer | VaultKey,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
  ) {
    if (Buffer.isBuffer(key) && key.length !== VAULT_KEY_BYTES) throw new ConfigError(`secrets: the key must be ${VAULT_KEY_BYTES} bytes`);
    this.key = Buffer.isBuffer(key) ? { forWrite: () => key, forRead: () => key } : key;
  }

  /** Stores a new version. Errors: request.invalid. */
  async put(name: string, value: string, by: Actor): Promise<{ name: string; version: number }> {
    if (!SECRET_NAME.test(name)) throw new CodedError('request.invalid', `secret name \`${name}\` must be lowercase letters, digits, \`_\`, \`.\` or \`-\``);
    if (value.length === 0 || value.length > 16_384) throw new CodedError('request.invalid', 'a secret value must be 1 to 16384 characters');
    for (let attempt = 0; ; attempt++) {
      const version = ((await this.repo.latest(name))?.version ?? 0) + 1;
      try {
        await this.repo.insert({ name, version, ...this.encrypt(name, version, value), createdAtMs: this.clock.nowMs() });
        await this.audit.record({ type: 'secret.stored', data: { name, version, by } });
        return { name, version };
      } catch (err) {
        if (attempt >= 2) throw err; // a concurrent writer took the version: read again
      }
    }
  }

  list(): ReturnType<SecretRepo['list']> {
    return this.repo.list();
  }

  /** The newest version in clear, for injection upstream. Errors: gateway.secret_unavailable. */
  async resolve(name: string): Promise<ResolvedSecret> {
    const record = await this.repo.latest(name);
    if (!record) throw new CodedError('gateway.secret_unavailable', `secret \`${name}\` is not stored`);
    try {
      return { name, version: record.version, value: this.decrypt(record) };
    } catch {
      // A wrong key, or a row edited or moved to another name: GCM refuses it.
      throw new CodedError('gateway.secret_unavailable', `secret \`${name}\` version ${record.version} does not decrypt`);
    }
  }

  /**
   * Resolves literal-or-secret values (env variables, headers) and records which
   * secret versions were used, by name only.
   */
  async resolveAll(values: Record<string, ValueOrSecret>, usedBy: string): Promise<{ values: Record<string, string>; secrets: ResolvedSecret[] }> {
    const out: Record<string, string> = {};
    const secrets: ResolvedSecret[] = [];
    for (const [key, v] of Object.entries(values)) {
      if (typeof v === 'string') {
        out[key] = v;
        continue;
      }
      const secret = await this.resolve(v.secret);
      secrets.push(secret);
      out[key] = `${v.prefix}${secret.value}`;
    }
    for (const s of secrets) await this.audit.record({ type: 'secret.used', data: { name: s.name, version: s.version, usedBy } });
    return { values: out, secrets };
  }

  private encrypt(name: string, version: number, value: string): Pick<SecretRecord, 'ciphertext' | 'iv' | 'tag'> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key.forWrite(), iv);
    cipher.setAAD(Buffer.from(`${name}\n${version}`));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { ciphertext: ciphertext.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  private decrypt(r: SecretRecord): string {
    const key = this.key.forRead();
    if (!key) throw new Error('no vault key');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(r.iv, 'base64'));
    decipher.setAAD(Buffer.from(`${r.name}\n${r.version}`));
    decipher.setAuthTag(Buffer.from(r.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(r.ciphertext, 'base64')), decipher.final()]).toString('utf8');
  }
}
