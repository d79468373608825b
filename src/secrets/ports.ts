import type { SecretRecord } from './model.js';

export interface SecretRepo {
  /** Fails when that name and version already exist (a concurrent writer won). */
  insert(record: SecretRecord): Promise<void>;
  latest(name: string): Promise<SecretRecord | undefined>;
  /** The newest version of every secret, without values. */
  list(): Promise<Pick<SecretRecord, 'name' | 'version' | 'createdAtMs'>[]>;
}
