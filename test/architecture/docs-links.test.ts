import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

/** Links of the form [`Name.member`](../src/x.ts) in docs/architecture.md: the file exists and declares the last name. */
function brokenLinks(markdown: string): string[] {
  const broken: string[] = [];
  for (const m of markdown.matchAll(/\[`([A-Za-z_$][\w$.]*)`\]\(\.\.\/(src\/[^)]+\.ts)\)/g)) {
    const [, symbol, file] = m as unknown as [string, string, string];
    const path = join(ROOT, file);
    if (!existsSync(path)) {
      broken.push(`${file}: no such file (linked for \`${symbol}\`)`);
      continue;
    }
    const name = symbol.split('.').pop()!;
    // A declaration: function, class, const, interface or type, or a method (`name(` at the start of a line).
    const declared = new RegExp(`(?:function|class|const|let|interface|type)\\s+${name}\\b|^\\s*(?:(?:private|public|static|readonly|async|export)\\s+)*${name}\\s*[<(]`, 'm');
    if (!declared.test(readFileSync(path, 'utf8'))) broken.push(`${file}: declares no \`${name}\` (linked as \`${symbol}\`)`);
  }
  return broken;
}

test('every file and symbol docs/architecture.md links exists', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  assert.ok((doc.match(/\]\(\.\.\/src\//g) ?? []).length >= 20, 'the walkthrough links the code it describes');
  assert.deepEqual(brokenLinks(doc), []);
});

test('the link check finds a missing file and a missing symbol', () => {
  assert.deepEqual(brokenLinks('[`nothing`](../src/none.ts) [`Kernel.noSuchStep`](../src/decision/decide.ts) [`decideCall`](../src/decision/decide.ts)'), [
    'src/none.ts: no such file (linked for `nothing`)',
    'src/decision/decide.ts: declares no `noSuchStep` (linked as `Kernel.noSuchStep`)',
  ]);
});
