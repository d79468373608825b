import { createHash } from 'node:crypto';

/**
 * A checkpoint of one segment, in the style of a transparency log's signed tree
 * head: how far the chain went (`seq`, `headHash`) and a Merkle root over the
 * events since the previous checkpoint (`fromSeq`..`seq`). Signed with the trust
 * domain's key and written to the chain and to witnesses outside the store, it lets
 * `verify` prove that events were deleted from the end, the trail emptied, or a
 * chain edited and recomputed: the witness still holds what the chain said then.
 */
export interface Checkpoint {
  segment: string;
  fromSeq: number;
  seq: number;
  headHash: string;
  root: string;
  atMs: number;
}

/** A checkpoint with its signature: a compact JWS (ES256) whose payload is the checkpoint. */
export interface SignedCheckpoint extends Checkpoint {
  jws: string;
}

const leaf = (hash: string) => createHash('sha256').update(Buffer.from([0])).update(Buffer.from(hash, 'hex')).digest();
const node = (left: Buffer, right: Buffer) => createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();

/**
 * The Merkle tree hash of RFC 6962 over event hashes (hex), in order: leaves and
 * nodes hashed with distinct prefixes, so no leaf can pass for a subtree. The
 * hash of no events is the hash of nothing.
 */
export function merkleRoot(hashes: readonly string[]): string {
  if (hashes.length === 0) return createHash('sha256').digest('hex');
  let level: Buffer[] = hashes.map(leaf);
  while (level.length > 1) {
    const next: Buffer[] = [];
    // RFC 6962 splits at the largest power of two below n; pairing left to right and carrying an odd last node up gives the same tree.
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? node(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!.toString('hex');
}

/** What a witnessed checkpoint says is wrong with the stored trail, if anything. */
export type CheckpointFinding =
  | { kind: 'truncated'; segment: string; storedSeq: number; witnessedSeq: number }
  | { kind: 'altered'; segment: string; fromSeq: number; seq: number }
  | { kind: 'bad_signature'; segment: string; seq: number }
  /** The chain holds a checkpoint the witness does not: the witness lost lines, or is not this trail's. */
  | { kind: 'unwitnessed'; segment: string; seq: number };

/**
 * Holds a stored segment against one witnessed checkpoint: it must reach the
 * checkpoint's seq, end there in the witnessed head hash, and hash, event by event
 * since the previous checkpoint, to the witnessed root.
 */
export function checkAgainst(cp: Checkpoint, storedSeq: number, intervalHashes: readonly string[] | undefined, hashAtSeq: string | undefined): CheckpointFinding | undefined {
  if (storedSeq < cp.seq) return { kind: 'truncated', segment: cp.segment, storedSeq, witnessedSeq: cp.seq };
  if (hashAtSeq !== cp.headHash || intervalHashes === undefined || merkleRoot(intervalHashes) !== cp.root) {
    return { kind: 'altered', segment: cp.segment, fromSeq: cp.fromSeq, seq: cp.seq };
  }
  return undefined;
}
