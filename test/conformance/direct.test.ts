import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { conformanceCli, conformanceNode, runConformance, startConformanceServer, SUITE_INSTALL, type RunningFixture, type SpecVersion } from './run-suite.js';

/**
 * The MCP conformance suite's server scenarios, run straight against the fixture server,
 * once per protocol revision it serves (each on that revision's wire): every check must
 * pass. This is the baseline the same runs through the gateway are held to.
 * The suite and its Node 22 are installed apart (`npm ci --prefix test/conformance/suite`);
 * without them the tests are skipped, except under CI, where that fails.
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

/** The server scenarios the suite lists for each revision (pending ones included, extensions not). */
const LEAST_SCENARIOS: Record<SpecVersion, number> = { '2025-11-25': 33, '2026-07-28': 40 };

async function passesEveryScenario(specVersion: SpecVersion): Promise<void> {
  const run = await runConformance(fixture!.url, { specVersion, timeoutMs: 240_000 });
  const bad = run.checks.filter((c) => c.status !== 'pass' && c.status !== 'info');
  assert.deepEqual(
    bad.map((c) => `${c.name}: ${c.status}${c.detail ? ` (${c.detail})` : ''}`),
    [],
    `checks that did not pass:\n${bad.map((c) => `  ${c.name}: ${c.status}${c.detail ? ` - ${c.detail}` : ''}`).join('\n')}\n\nsuite output:\n${run.output}`,
  );
  assert.ok(run.scenarios.length >= LEAST_SCENARIOS[specVersion], `the suite listed ${run.scenarios.length} server scenarios for ${specVersion}`);
  const withPass = new Set(run.checks.filter((c) => c.status === 'pass').map((c) => c.name.split('/')[0]));
  const silent = run.scenarios.filter((s) => !withPass.has(s));
  assert.deepEqual(silent, [], `scenarios without a passing check: ${silent.join(', ')}`);
  assert.equal(run.exitCode, 0);
}

test('the conformance fixture passes every 2025-11-25 server scenario of the MCP conformance suite', { timeout: 300_000, skip: missing ?? false }, () =>
  passesEveryScenario('2025-11-25'),
);

test('the conformance fixture passes every 2026-07-28 server scenario of the MCP conformance suite', { timeout: 300_000, skip: missing ?? false }, () =>
  passesEveryScenario('2026-07-28'),
);
