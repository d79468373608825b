import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { checkAgainst, merkleRoot } from './checkpoint.js';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leaf = (hex: string) => sha(Buffer.from([0]), Buffer.from(hex, 'hex'));
const node = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r);

test('the Merkle root is RFC 6962\'s tree hash: split at the largest power of two below n', () => {
  const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map(h) as [string, string, string, string, string];
  assert.equal(merkleRoot([]), createHash('sha256').digest('hex'));
  assert.equal(merkleRoot([a]), leaf(a).toString('hex'));
  assert.equal(merkleRoot([a, b, c]), node(node(leaf(a), leaf(b)), leaf(c)).toString('hex'));
  assert.equal(merkleRoot([a, b, c, d, e]), node(node(node(leaf(a), leaf(b)), node(leaf(c), leaf(d))), leaf(e)).toString('hex'));
  assert.notEqual(merkleRoot([b, a, c]), merkleRoot([a, b, c]), 'order matters');
});

test('a segment is held against a checkpoint: too short is truncated; another head or root is altered', () => {
  const hashes = ['1', '2', '3'].map(h);
  const cp = { segment: 'main', fromSeq: 4, seq: 6, headHash: hashes[2]!, root: merkleRoot(hashes), atMs: 0 };
  assert.equal(checkAgainst(cp, 6, hashes, hashes[2]), undefined);
  assert.deepEqual(checkAgainst(cp, 5, undefined, undefined), { kind: 'truncated', segment: 'main', storedSeq: 5, witnessedSeq: 6 });
  assert.deepEqual(checkAgainst(cp, 9, [hashes[1]!, hashes[0]!, hashes[2]!], hashes[2]), { kind: 'altered', segment: 'main', fromSeq: 4, seq: 6 });
  assert.deepEqual(checkAgainst(cp, 9, hashes, h('x')), { kind: 'altered', segment: 'main', fromSeq: 4, seq: 6 });
});
