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

/** RFC 6962, section 2.1, as written: MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n. */
function rfcRoot(hashes: readonly string[]): Buffer {
  if (hashes.length === 1) return leaf(hashes[0]!);
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return node(rfcRoot(hashes.slice(0, k)), rfcRoot(hashes.slice(k)));
}

test('the root built leaf by leaf is RFC 6962\'s for every count up to 130, and for a stored hash that is not hex', () => {
  const hashes = Array.from({ length: 130 }, (_, i) => h(String(i)));
  for (let n = 1; n <= hashes.length; n++) assert.equal(merkleRoot(hashes.slice(0, n)), rfcRoot(hashes.slice(0, n)).toString('hex'), `${n} leaves`);
  // A hash edited into something else is hashed as Buffer.from reads it, not as whatever the last leaf left behind.
  const odd = [hashes[0]!, 'zz', `${hashes[1]!.slice(0, 10)}xx`, hashes[2]!.toUpperCase()];
  assert.equal(merkleRoot(odd), rfcRoot(odd).toString('hex'));
});

test('a segment is held against a checkpoint: too short is truncated; another head or root is altered', () => {
  const hashes = ['1', '2', '3'].map(h);
  const cp = { segment: 'main', fromSeq: 4, seq: 6, headHash: hashes[2]!, root: merkleRoot(hashes), atMs: 0 };
  assert.equal(checkAgainst(cp, 6, { root: merkleRoot(hashes), hashAtSeq: hashes[2]! }), undefined);
  assert.deepEqual(checkAgainst(cp, 5, undefined), { kind: 'truncated', segment: 'main', storedSeq: 5, witnessedSeq: 6 });
  assert.deepEqual(checkAgainst(cp, 9, { root: merkleRoot([hashes[1]!, hashes[0]!, hashes[2]!]), hashAtSeq: hashes[2]! }), { kind: 'altered', segment: 'main', fromSeq: 4, seq: 6 });
  assert.deepEqual(checkAgainst(cp, 9, { root: merkleRoot(hashes), hashAtSeq: h('x') }), { kind: 'altered', segment: 'main', fromSeq: 4, seq: 6 });
  assert.deepEqual(checkAgainst(cp, 9, undefined), { kind: 'altered', segment: 'main', fromSeq: 4, seq: 6 }, 'an event of the interval missing');
});
