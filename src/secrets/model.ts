import { z } from 'zod';

/** One stored version of a secret: only ciphertext is ever persisted. */
export interface SecretRecord {
  name: string;
  version: number;
  /** AES-256-GCM, base64; the additional data binds it to `name` and `version`. */
  ciphertext: string;
  iv: string;
  tag: string;
  createdAtMs: number;
}

/** AES-256: the vault key is 32 bytes. */
export const VAULT_KEY_BYTES = 32;

export const SECRET_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * Where config names a secret instead of a value: `{ secret: "github-token" }`,
 * optionally with a prefix (`{ secret: "api", prefix: "Bearer " }` for a header).
 */
export const SecretRefSchema = z
  .object({
    secret: z.string().regex(SECRET_NAME, 'secret names are lowercase letters, digits, `_`, `.` or `-`'),
    prefix: z.string().max(64).default(''),
  })
  .strict();
export type SecretRef = z.output<typeof SecretRefSchema>;

/** A config value that is either literal text or a reference to a brokered secret. */
export const ValueOrSecretSchema = z.union([z.string(), SecretRefSchema]);
export type ValueOrSecret = z.output<typeof ValueOrSecretSchema>;

/** A secret in clear, as the gateway injects it upstream. Never logged, never audited, never returned. */
export interface ResolvedSecret {
  name: string;
  version: number;
  value: string;
}
