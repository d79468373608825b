import type { SecretRecord } from './model.js';

export interface SecretRepo {
  /** Fails when that name and version already exist (a concurrent writer won). */
  insert(record: SecretRecord): Promise<void>;
  latest(name: string): Promise<SecretRecord | undefined>;
  /** The newest version of every secret, without values. */
  list(): Promise<Pick<SecretRecord, 'name' | 'version' | 'createdAtMs'>[]>;
}

/** The vault key, which may not exist yet: it is made when the first secret is stored. */
export interface VaultKey {
  /** The key, generated first if there is none. */
  forWrite(): Buffer;
  /** The key, or undefined when none was ever made (so nothing stored can decrypt). */
  forRead(): Buffer | undefined;
}
