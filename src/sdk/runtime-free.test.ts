// The SDK runs inside agents: its types come from the server's modules, but not a line of their code may load with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

for (const file of ['index.js', 'dpop.js']) {
  test(`the emitted SDK (${file}) imports nothing at run time`, () => {
    const emitted = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    assert.deepEqual(emitted.match(/^\s*(import|export)\b.*\bfrom\s|\bimport\s*\(|\brequire\s*\(/gm), null);
  });
}
