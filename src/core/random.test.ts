import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemRandom } from './random.js';

test('pooled tokens: the entropy asked for, never repeated across pool refills, large ones drawn directly', () => {
  const seen = new Set<string>();
  // Enough 12-byte tokens to refill the 4 KB pool several times.
  for (let i = 0; i < 2000; i++) {
    const t = systemRandom.token(12);
    assert.match(t, /^[A-Za-z0-9_-]{16}$/);
    assert.ok(!seen.has(t), 'no token twice');
    seen.add(t);
  }
  assert.equal(Buffer.from(systemRandom.token(32), 'base64url').length, 32);
  assert.equal(Buffer.from(systemRandom.token(4096), 'base64url').length, 4096);
});
