import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../core/index.js';
import { policyDirectory } from '../server/adapters/index.js';
import { PolicyEngine } from './engine.js';
import { EXAMPLE_POLICY_DIR, PERMIT_AGENTS, policyDir, type MemoryPolicies } from './fixtures.js';
import { formatPolicyTestReport, runPolicyTests } from './run-policy-tests.js';

const TOOLS = [
  { name: 'files.read', kind: 'read', risk: 'low' },
  { name: 'files.write', kind: 'write', risk: 'medium' },
];

test('the example policies pass their own tests', () => {
  const report = runPolicyTests(policyDirectory(EXAMPLE_POLICY_DIR));
  assert.equal(report.failed, 0, formatPolicyTestReport(report));
  assert.ok(report.passed >= 10);
  const outcomes = new Set(report.results.map((r) => `${r.actual.outcome}/${r.actual.code ?? ''}`));
  for (const want of ['allow/', 'deny/policy.forbid', 'deny/policy.no_permit', 'step_up/policy.step_up']) assert.ok(outcomes.has(want), want);
});

test('every example test file declares the same tool catalog', () => {
  const dir = join(EXAMPLE_POLICY_DIR, 'tests');
  const catalogs = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.stringify((JSON.parse(readFileSync(join(dir, f), 'utf8')) as { tools: unknown }).tools));
  assert.ok(catalogs.length >= 4);
  assert.equal(new Set(catalogs).size, 1);
});

/** A policy directory with `tests/<name>` files holding `tests` as JSON. */
function suite(tests: Record<string, unknown>, policies: Record<string, string> = { 'p.cedar': PERMIT_AGENTS }): MemoryPolicies {
  const files: Record<string, string> = { ...policies };
  for (const [name, body] of Object.entries(tests)) files[`tests/${name}`] = JSON.stringify(body);
  return policyDir(files);
}

test('a wrong expectation is reported as a failure, with what was expected and what happened', () => {
  const dir = suite({
    'cases.json': {
      tools: TOOLS,
      cases: [
        { name: 'reads are allowed', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.read' }, expect: { outcome: 'allow' } },
        { name: 'wrongly expects a forbid', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.write', args: { path: '/tmp/x' } }, expect: { outcome: 'deny', code: 'policy.forbid' } },
        { name: 'wrong policy ids', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.read' }, expect: { outcome: 'allow', policies: ['other'] } },
        { name: 'unknown tool', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.nope' }, expect: { outcome: 'deny' } },
      ],
    },
  });
  const report = runPolicyTests(dir);
  assert.deepEqual([report.passed, report.failed], [1, 3]);
  assert.deepEqual(report.results.map((r) => [r.file, r.ok]), [
    ['tests/cases.json', true],
    ['tests/cases.json', false],
    ['tests/cases.json', false],
    ['tests/cases.json', false],
  ]);
  const text = formatPolicyTestReport(report);
  assert.equal(
    text,
    [
      'PASS reads are allowed',
      'FAIL wrongly expects a forbid: expected deny/policy.forbid, got allow',
      'FAIL wrong policy ids: expected allow [other], got allow [permit-agents]',
      'FAIL unknown tool: expected deny, got deny (tool `files.nope` is not in this file\'s `tools`)',
      '1 passed, 3 failed',
    ].join('\n'),
  );
});

test('task overrides and the environment reach the policies', () => {
  const dir = suite(
    {
      'ctx.json': {
        tools: TOOLS,
        cases: [
          { name: 'prod after 3 calls is forbidden', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.read', environment: 'production', task: { callCount: 3 } }, expect: { outcome: 'deny', code: 'policy.forbid', policies: ['cap'] } },
          { name: 'dev is not', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.read', task: { callCount: 3 } }, expect: { outcome: 'allow' } },
        ],
      },
    },
    { 'p.cedar': `${PERMIT_AGENTS}@id("cap") forbid (principal, action, resource) when { context.environment == "production" && context.task.callCount >= 3 };` },
  );
  const report = runPolicyTests(dir);
  assert.equal(report.failed, 0, formatPolicyTestReport(report));
});

test('unknown fields in a test file are a ConfigError naming the file and the field', () => {
  const dir = suite({
    'typo.json': {
      tools: TOOLS,
      cases: [{ name: 'x', request: { agent: { name: 'a', groups: [] }, tool: 'files.read', contxt: {} }, expect: { outcome: 'deny' } }],
    },
  });
  assert.throws(
    () => runPolicyTests(dir),
    (err: unknown) => err instanceof ConfigError && /tests\/typo\.json: cases\.0\.request: unknown field `contxt`/.test(err.message),
  );
});

test('an explicit engine is used instead of loading the directory', () => {
  const dir = suite({
    'c.json': { tools: TOOLS, cases: [{ name: 'nothing loaded', request: { agent: { name: 'a', groups: ['agents'] }, tool: 'files.read' }, expect: { outcome: 'deny', code: 'policy.none_loaded' } }] },
  });
  assert.equal(runPolicyTests(dir, PolicyEngine.empty()).failed, 0);
});
