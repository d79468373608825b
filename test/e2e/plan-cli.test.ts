import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { MandateSchema, mandateFromPlan } from '../../src/mandate/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, http, runCli, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const PLAN_FILE = join(ROOT, 'examples/plans/send-report.json');

const mandate = runCli;

describe('CLI: mandates from a plan', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  verifies('cli:plan-show', '`mandate plan show` prints the mandate a plan gives, from a file or standard input', async () => {
    const expected = mandateFromPlan(JSON.parse(readFileSync(PLAN_FILE, 'utf8')));
    const shown = await mandate(['plan', 'show', 'examples/plans/send-report.json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout), expected);
    assert.ok(MandateSchema.safeParse(JSON.parse(shown.stdout)).success);
    const piped = await mandate(['plan', 'show', '-'], {}, readFileSync(PLAN_FILE, 'utf8'));
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(JSON.parse(piped.stdout), expected);

    const bad = await mandate(['plan', 'show', '-'], {}, JSON.stringify({ purpose: 'p', steps: [{ tool: 'email.send', args: { to: '' } }], tools: [] }));
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /mandate\.invalid: plan: .*unknown field `tools`/);
    const missing = await mandate(['plan', 'show', 'no/such/plan.json']);
    assert.equal(missing.code, 2, missing.stderr);
  });

  verifies('cli:declare-from-plan', '`mandate task declare --from-plan` declares the plan\'s mandate: the stated recipient is allowed and another denied; with --mandate too it is a usage error', async () => {
    const env = { MANDATE_URL: server.url };
    const join = (await http(server.url, '/v1/agents/report-bot/join-tokens', { token: ADMIN_TOKEN, body: {} })).body.token as string;
    const declared = await mandate(['task', 'declare', '--from-plan', 'examples/plans/send-report.json', '--join-token', join, '--quiet'], env);
    assert.equal(declared.code, 0, declared.stderr);
    const credential = declared.stdout.trim();

    const bob = await mandate(['decide', '--credential', credential, '--tool', 'email.send', '--args', '{"to":["bob@example.com"],"subject":"Q3 report"}'], env);
    assert.equal(bob.code, 0, bob.stdout + bob.stderr);
    const eve = await mandate(['decide', '--credential', credential, '--tool', 'email.send', '--args', '{"to":["eve@example.com"],"subject":"Q3 report"}'], env);
    assert.equal(eve.code, 3, eve.stdout + eve.stderr);
    assert.match(eve.stdout, /mandate\.arg_constraint/);

    const both = await mandate(['task', 'declare', '-m', 'examples/mandates/quarterly-report.json', '--from-plan', 'examples/plans/send-report.json', '--svid', 'x'], env);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /cannot be used with/);
    const neither = await mandate(['task', 'declare', '--svid', 'x'], env);
    assert.equal(neither.code, 2, neither.stderr);
    const badPlan = await mandate(['task', 'declare', '--from-plan', '-', '--svid', 'x'], env, '{"purpose":"p","steps":[{"tool":"email.send","args":{"to":[]}}]}');
    assert.equal(badPlan.code, 2, badPlan.stderr);
    assert.match(badPlan.stderr, /steps\.0\.args\.to: an empty list/);
  });
});
