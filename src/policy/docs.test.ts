// docs/policy.md shows only what ships: its code blocks are checked against the schema and the examples.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_POLICY_DIR, policyDir } from './fixtures.js';
import { formatPolicyTestReport, runPolicyTests } from './run-policy-tests.js';
import { CEDAR_SCHEMA } from './schema.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/policy.md', import.meta.url)), 'utf8');

function blocks(lang: string): string[] {
  return [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!.trim());
}

test('the schema in docs/policy.md is CEDAR_SCHEMA', () => {
  assert.deepEqual(blocks('cedarschema'), [CEDAR_SCHEMA.trim()]);
});

test('every Cedar snippet in docs/policy.md is taken from the example policies', () => {
  const examples = readdirSync(EXAMPLE_POLICY_DIR)
    .filter((f) => f.endsWith('.cedar'))
    .map((f) => readFileSync(join(EXAMPLE_POLICY_DIR, f), 'utf8'));
  const snippets = blocks('cedar');
  assert.ok(snippets.length >= 2);
  for (const s of snippets) assert.ok(examples.some((e) => e.includes(s)), `not in examples/policies: ${s}`);
});

test('the test file in docs/policy.md runs against the examples with the output shown', () => {
  const [json] = blocks('json');
  assert.ok(json !== undefined);
  const files: Record<string, string> = { 'tests/doc.json': json };
  for (const f of readdirSync(EXAMPLE_POLICY_DIR).filter((n) => n.endsWith('.cedar'))) {
    files[f] = readFileSync(join(EXAMPLE_POLICY_DIR, f), 'utf8');
  }
  const report = runPolicyTests(policyDir(files));
  assert.deepEqual(blocks('text'), [formatPolicyTestReport(report)]);
});
