import type { DpopReplayCache } from '../../credentials/index.js';
import type { RepoFactory } from '../index.js';

/** Sweep expired proofs at most this often: the table only ever holds proofs of the last window. */
const SWEEP_EVERY_MS = 10_000;

/**
 * DPoP proofs seen, in the store every replica shares: a proof replayed to another
 * replica is refused there too. The primary key is the atomic check: of two inserts
 * of one key, one wins. An expired entry is deleted before the insert, so a key
 * comes back only once its window has passed.
 */
export const dpopProofRepo: RepoFactory<DpopReplayCache & { sweep(nowMs: number): Promise<number> }> = (db) => {
  let sweptAtMs = 0;
  const sweep = async (nowMs: number): Promise<number> => {
    sweptAtMs = nowMs;
    const r = await db.deleteFrom('dpop_proofs').where('expires_at_ms', '<=', nowMs).executeTakeFirst();
    return Number(r.numDeletedRows);
  };
  return {
    sweep,
    async firstSeen(key, expiresAtMs) {
      const nowMs = Date.now();
      if (nowMs - sweptAtMs >= SWEEP_EVERY_MS) await sweep(nowMs);
      else await db.deleteFrom('dpop_proofs').where('key', '=', key).where('expires_at_ms', '<=', nowMs).execute();
      const r = await db.insertInto('dpop_proofs').values({ key, expires_at_ms: expiresAtMs }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
  };
};
