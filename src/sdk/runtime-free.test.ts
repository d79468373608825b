// The SDK runs inside agents: its types come from the server's modules, but not a line of their code may load with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

test('the emitted SDK imports nothing at run time', () => {
  const emitted = readFileSync(new URL('./index.js', import.meta.url), 'utf8');
  assert.deepEqual(emitted.match(/^\s*(import|export)\b.*\bfrom\s|\bimport\s*\(|\brequire\s*\(/gm), null);
});
