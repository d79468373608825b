import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conformanceCli, conformanceNode, runConformance, startConformanceServer, SUITE_INSTALL, type RunningFixture } from './run-suite.js';

/**
 * The MCP conformance suite's server scenarios, run straight against the fixture server:
 * every check must pass. This is the baseline the same run through the gateway is held to.
 * The suite and its Node 22 are installed apart (`npm ci --prefix test/conformance/suite`);
 * without them the test is skipped, except under CI, where it fails.
 */
const missing = !conformanceNode() || !conformanceCli() ? `the conformance suite is not installed (${SUITE_INSTALL})` : undefined;
if (missing && process.env.CI) throw new Error(`${missing}; under CI the conformance suite must run`);

let fixture: RunningFixture | undefined;
before(async () => {
  if (!missing) fixture = await startConformanceServer();
});
after(async () => {
  await fixture?.stop();
});

test('the conformance fixture passes every server scenario of the MCP conformance suite', { timeout: 300_000, skip: missing ?? false }, async () => {
  const run = await runConformance(fixture!.url, { timeoutMs: 240_000 });
  const bad = run.checks.filter((c) => c.status !== 'pass' && c.status !== 'info');
  assert.deepEqual(
    bad.map((c) => `${c.name}: ${c.status}${c.detail ? ` (${c.detail})` : ''}`),
    [],
    `checks that did not pass:\n${bad.map((c) => `  ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}`).join('\n')}\n\nsuite output:\n${run.output}`,
  );
  assert.ok(run.scenarios.length >= 32, `the suite listed ${run.scenarios.length} server scenarios`);
  const withPass = new Set(run.checks.filter((c) => c.status === 'pass').map((c) => c.name.split('/')[0]));
  const silent = run.scenarios.filter((s) => !withPass.has(s));
  assert.deepEqual(silent, [], `scenarios without a passing check: ${silent.join(', ')}`);
  assert.equal(run.exitCode, 0);
});
