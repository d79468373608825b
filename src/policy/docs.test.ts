// docs/policy.md shows only what ships: its code blocks are checked against the schema and the examples.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_POLICY_DIR, policyDir } from './fixtures.js';
import { formatPolicyTestReport, runPolicyTests } from './run-policy-tests.js';
import { CEDAR_SCHEMA } from './schema.js';
import { PolicyEngine } from './engine.js';
import { buildCedarRequest } from './build-request.js';

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

test('the strict profile loads beside the example policies and steps up any high-risk call after an untrusted read', () => {
  const dir = fileURLToPath(new URL('../../../examples/profiles/strict/', import.meta.url));
  const files = [...readdirSync(EXAMPLE_POLICY_DIR), ...readdirSync(dir)]
    .filter((f) => f.endsWith('.cedar'))
    .map((f) => ({ name: f, text: readFileSync(join(readdirSync(dir).includes(f) ? dir : EXAMPLE_POLICY_DIR, f), 'utf8') }));
  const engine = PolicyEngine.fromFiles(files);
  const tool = { name: 'email.send', kind: 'send' as const, risk: 'medium' as const, labels: [], description: '', targets: ['to'] };
  const request = (call: { declared: number; trusted: number; counterparty: number; untrusted: number; unseen: number }) =>
    buildCedarRequest({
      agent: { name: 'bot', spiffeId: 'spiffe://t/agent/bot', groups: ['agents'] },
      tool,
      args: { to: 'bob@example.com' },
      task: { id: 'tsk_1', purpose: 'p', dataClasses: [], callCount: 0, labels: ['untrusted'], toolsCalled: [], delegationDepth: 0, egress: [] },
      call,
      environment: 'development',
    });
  const declared = engine.evaluate(request({ declared: 1, trusted: 0, counterparty: 0, untrusted: 0, unseen: 0 }));
  assert.equal(declared.outcome, 'step_up');
  assert.deepEqual(declared.policyIds, ['step-up-high-risk-after-any-untrusted']);
  // Without the profile the same call goes through.
  const examples = PolicyEngine.fromFiles(readdirSync(EXAMPLE_POLICY_DIR).filter((f) => f.endsWith('.cedar')).map((f) => ({ name: f, text: readFileSync(join(EXAMPLE_POLICY_DIR, f), 'utf8') })));
  assert.equal(examples.evaluate(request({ declared: 1, trusted: 0, counterparty: 0, untrusted: 0, unseen: 0 })).outcome, 'allow');
});
