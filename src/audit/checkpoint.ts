import { createHash } from 'node:crypto';
import { sha256Latin1 } from '../core/index.js';

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

/** RFC 6962's leaf and node inputs, written into once per hash: a 0 (leaf) or 1 (node) byte, then the hash(es). */
const LEAF = Buffer.alloc(33, 0);
const NODE = Buffer.alloc(65, 1);

/** A leaf's hash from an event's hash (hex); a stored hash that is not 64 hex digits is hashed as Buffer.from reads it, as it always was. */
function leaf(hash: string): string {
  if (hash.length === 64 && LEAF.write(hash, 1, 'hex') === 32) return sha256Latin1(LEAF);
  return sha256Latin1(Buffer.concat([Buffer.alloc(1, 0), Buffer.from(hash, 'hex')]));
}

function node(left: string, right: string): string {
  NODE.write(left, 1, 'latin1');
  NODE.write(right, 33, 'latin1');
  return sha256Latin1(NODE);
}

/**
 * The Merkle tree hash of RFC 6962 over event hashes (hex), in order: leaves and
 * nodes hashed with distinct prefixes, so no leaf can pass for a subtree. Built
 * leaf by leaf as events are read (a verify hashes an interval in the same pass as
 * the chain), holding only the roots of the perfect subtrees so far, largest
 * first: their sizes are the binary digits of the count. Hashes are kept as latin1
 * strings of their bytes (a Buffer a hash measured about three times slower).
 */
export class MerkleTree {
  private readonly roots: string[] = [];
  private readonly sizes: number[] = [];

  add(hash: string): void {
    let root = leaf(hash);
    let size = 1;
    // Two subtrees of one size make one of twice the size, as far as it goes.
    while (this.sizes[this.sizes.length - 1] === size) {
      root = node(this.roots.pop()!, root);
      this.sizes.pop();
      size *= 2;
    }
    this.roots.push(root);
    this.sizes.push(size);
  }

  /** RFC 6962 splits n leaves at the largest power of two below n: the first subtree held, then the rest alike, so they fold from the right. The hash of no events is the hash of nothing. */
  root(): string {
    if (this.roots.length === 0) return createHash('sha256').digest('hex');
    let root = this.roots[this.roots.length - 1]!;
    for (let i = this.roots.length - 2; i >= 0; i--) root = node(this.roots[i]!, root);
    return Buffer.from(root, 'latin1').toString('hex');
  }
}

export function merkleRoot(hashes: readonly string[]): string {
  const tree = new MerkleTree();
  for (const h of hashes) tree.add(h);
  return tree.root();
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
 * since the previous checkpoint, to the witnessed root. `interval`: what the store
 * holds of it, undefined when an event of it is missing.
 */
export function checkAgainst(cp: Checkpoint, storedSeq: number, interval: { root: string; hashAtSeq: string } | undefined): CheckpointFinding | undefined {
  if (storedSeq < cp.seq) return { kind: 'truncated', segment: cp.segment, storedSeq, witnessedSeq: cp.seq };
  if (interval === undefined || interval.hashAtSeq !== cp.headHash || interval.root !== cp.root) {
    return { kind: 'altered', segment: cp.segment, fromSeq: cp.fromSeq, seq: cp.seq };
  }
  return undefined;
}
