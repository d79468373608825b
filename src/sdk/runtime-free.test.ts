// The SDK runs inside agents and the services behind the gateway: its types come from the server's modules, but not a line of their code may load with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

/** The SDK's own modules: the only thing one of them may load is another of them (DPoP proofs, transaction tokens, mandate documents). */
const SDK = ['index.js', 'dpop.js', 'transaction-token.js', 'mandate-document.js'];

for (const file of SDK) {
  test(`the emitted SDK (${file}) imports nothing but its own modules at run time`, () => {
    const emitted = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
    const own = new Set(SDK.map((f) => `./${f}`));
    const imports = (emitted.match(/^\s*(import|export)\b.*\bfrom\s+['"][^'"]*['"]|\bimport\s*\(|\brequire\s*\(/gm) ?? []).filter((line) => !own.has(/from\s+['"]([^'"]*)['"]$/.exec(line.trim())?.[1] ?? ''));
    assert.deepEqual(imports, []);
  });
}
