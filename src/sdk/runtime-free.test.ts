// The SDK runs inside agents: its types come from the server's modules, but not a line of their code may load with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

for (const file of ['index.js', 'dpop.js']) {
  test(`the emitted SDK (${file}) imports nothing but its own modules at run time`, () => {
    const emitted = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    // Only its own modules: the SDK's DPoP proofs live beside it.
    const imports = (emitted.match(/^\s*(import|export)\b.*\bfrom\s+['"][^'"]*['"]|\bimport\s*\(|\brequire\s*\(/gm) ?? []).filter((line) => !/from\s+['"]\.\/dpop\.js['"]$/.test(line.trim()));
    assert.deepEqual(imports, []);
  });
}
