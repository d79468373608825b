import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe } from 'node:test';
import { runDemo } from '../../src/cli/demo.js';
import { ADMIN_TOKEN, ROOT, http, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const run = promisify(execFile);

describe('mandate demo', () => {
  verifies('demo:steps-match-script', 'every scripted step gets the decision the script expects, through the SDK', async () => {
    const steps = await runDemo(() => undefined);
    assert.deepEqual(
      steps.map((s) => [s.decision, s.reason]),
      [
        ['allow', 'policy.permit'],
        ['deny', 'mandate.tool_not_declared'],
        ['deny', 'mandate.arg_constraint'],
        ['step_up', 'policy.step_up'],
        ['deny', 'policy.forbid'],
        ['allow', 'policy.permit'],
        ['deny', 'monitor.drift.repeated_denials'],
        ['deny', 'credential.revoked'],
        ['allow', 'policy.permit'],
        ['deny', 'mandate.arg_constraint'],
        ['deny', 'credential.expired'],
      ],
    );
    assert.ok(steps.every((s) => s.ok));
  });

  verifies('demo:json-output', '`mandate demo --json` prints one object per step and exits 0', async () => {
    const { stdout } = await run(process.execPath, [`${ROOT}bin/mandate.js`, 'demo', '--json'], { cwd: ROOT });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.equal(lines.length, 11);
    for (const line of lines) assert.deepEqual(Object.keys(line), ['step', 'decision', 'reason']);
    assert.equal(lines[3]?.decision, 'step_up');
  });
  verifies('demo:against-running', '`mandate demo --url` plays against a running control plane: every step but the expiry, each decision in its trail', async () => {
    const server = await startTestServer();
    try {
      const { stdout } = await run(process.execPath, [`${ROOT}bin/mandate.js`, 'demo', '--url', `${server.url}/`, '--admin-token', ADMIN_TOKEN], { cwd: ROOT });
      const lines = stdout.trim().split('\n');
      assert.equal(lines.at(-1), '10 of 10 steps got the expected decision');
      assert.ok(lines.slice(0, -1).every((l) => l.startsWith('ok  ')), stdout);
      const history = await http(server.url, '/v1/audit?type=decision&limit=50', { token: ADMIN_TOKEN });
      assert.equal(history.status, 200, JSON.stringify(history.body));
      assert.equal(history.body.events.length, 10, 'each step is a decision in the running server\'s trail');
      // Without the admin token it says what is missing.
      await assert.rejects(run(process.execPath, [`${ROOT}bin/mandate.js`, 'demo', '--url', server.url], { cwd: ROOT, env: { ...process.env, MANDATE_ADMIN_TOKEN: '' } }), /--admin-token/);
    } finally {
      await server.close();
    }
  });
});
