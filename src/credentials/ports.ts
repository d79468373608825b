import type { Revocation } from './model.js';

export interface RevocationRepo {
  insert(revocation: Revocation): Promise<void>;
  /** Revocations that can still cut a valid credential. */
  listActive(nowMs: number): Promise<Revocation[]>;
}
