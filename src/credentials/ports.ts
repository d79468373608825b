import type { Revocation } from './model.js';

export interface RevocationRepo {
  insert(revocation: Revocation): Promise<void>;
  /** Revocations that can still cut a valid credential. */
  listActive(nowMs: number): Promise<Revocation[]>;
}

/**
 * Remembers the DPoP proofs already used, so each is accepted once. One shared
 * store (a table with a unique key) lets every replica see every proof; an
 * in-process one only protects its own replica.
 */
export interface DpopReplayCache {
  /**
   * True when `key` was not seen, or its entry has expired, and records it until
   * `expiresAtMs`; false when it is held. Check and record are one atomic step: of
   * two calls racing with one key, exactly one sees true.
   */
  firstSeen(key: string, expiresAtMs: number): Promise<boolean>;
}
