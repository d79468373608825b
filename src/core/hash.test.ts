import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from './hash.js';

/** The definition: JSON.stringify of a copy with every object's keys sorted. */
function reference(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sorted(x)));
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) Object.defineProperty(out, k, { value: sorted((v as Record<string, unknown>)[k]), enumerable: true });
    return out;
  };
  return JSON.stringify(sorted(value));
}

test('canonical JSON: keys sorted at every depth, the same text as a sorted copy', () => {
  const values: unknown[] = [
    { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } },
    { outcome: 'allow', id: 'dec_1', reason: { message: 'm', code: 'c' }, labels: [], skipped: undefined },
    JSON.parse('{"__proto__": {"x": 1}, "amount": 5}'),
    { 'needs "quoting"\n': 1, é: 2, '': 3 },
    [undefined, null, 1.5, -0, 'text'],
  ];
  for (const v of values) assert.equal(canonicalJson(v), reference(v));
});

test('canonical JSON: objects sharing keys in another order, or keys that run together, are written each by its own keys', () => {
  // The same keys in another order: the same text.
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  // Key lists that join to the same text (a key holding the separator) must not share a sorted order.
  const first = { 'a\u0000': 1, b: 2 };
  const second = { a: 1, '\u0000b': 2 };
  for (let i = 0; i < 3; i++) {
    assert.equal(canonicalJson(first), reference(first));
    assert.equal(canonicalJson(second), reference(second));
  }
  // Many shapes, more than are remembered: every one still right.
  for (let i = 0; i < 3000; i++) {
    const v = { [`k${i}`]: i, a: i, [`z${i % 7}`]: [i] };
    assert.equal(canonicalJson(v), reference(v));
  }
});
