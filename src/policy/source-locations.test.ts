import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blankComments, byteToCharOffset, lineCol, locateParts } from './source-locations.js';

test('comments are blanked, string literals containing // are not', () => {
  const text = 'a "http://x" // it\'s "odd\nb // c';
  assert.equal(blankComments(text), `a "http://x" ${' '.repeat("// it's \"odd".length)}\nb     `);
  assert.equal(blankComments(text).length, text.length);
  assert.equal(blankComments('"esc \\" // still string" // gone'), '"esc \\" // still string"        ');
});

test('byte offsets become string indexes across multi-byte characters', () => {
  const text = 'é✓😀x';
  assert.equal(byteToCharOffset(text, 0), 0);
  assert.equal(byteToCharOffset(text, 2), 1);
  assert.equal(byteToCharOffset(text, 5), 2);
  assert.equal(byteToCharOffset(text, 9), 4);
  assert.equal(text[byteToCharOffset(text, 9)], 'x');
});

test('line and column are 1-based', () => {
  assert.deepEqual(lineCol('ab\ncd\n', 0), { line: 1, col: 1 });
  assert.deepEqual(lineCol('ab\ncd\n', 4), { line: 2, col: 2 });
});

test('parts come back in string-sorted id order and are located in source order', () => {
  const sources = Array.from({ length: 12 }, (_, i) => `permit(principal, action, resource) when { ${i} == ${i} };`);
  const text = sources.join('\n');
  // The order cedar-wasm returns: policy0, policy1, policy10, policy11, policy2, ...
  const returned = [0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => sources[i]!);
  const offsets = locateParts(text, returned);
  assert.deepEqual(
    offsets.map((o) => lineCol(text, o).line),
    [1, 2, 11, 12, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});
