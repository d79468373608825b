import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http, until } from '../helpers.js';
import { verifies } from './verifies.js';

const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
type Meta = { 'mandate/decision'?: { outcome: string; code: string; approvalId: string | null } };
const decisionOf = (r: unknown) => (r as { _meta?: Meta })._meta?.['mandate/decision'];

describe('behaviour: labels that flow through a task, drift signals and responses', () => {
  let server: RunningServer;
  let dir: string;
  const clients: Client[] = [];
  let receiver: import('node:http').Server;
  const alerts: { signature: string; timestamp: string; body: string }[] = [];

  before(async () => {
    const { createServer } = await import('node:http');
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push({ signature: String(req.headers['x-mandate-signature']), timestamp: String(req.headers['x-mandate-timestamp']), body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    dir = mkdtempSync(join(tmpdir(), 'mandate-monitor-'));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    // Suspension is tested here; the default response to repeated denials (tighten) in provenance.test.ts.
    config.monitor = { webhook: { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/alerts`, secret: 'alert-secret-0123', attempts: 2, backoffMs: 20 }, responses: { repeated_denials: 'suspend' } };
    config.policy.dir = join(ROOT, 'examples', 'policies');
    // One real MCP server; the gateway's metadata says what each tool is and what its results carry.
    config.upstreams = {
      ev: {
        transport: 'stdio',
        command: process.execPath,
        args: [EVERYTHING, 'stdio'],
        tools: {
          echo: { kind: 'read', risk: 'low', labels: ['confidential'] },
          'get-annotated-message': { kind: 'read', risk: 'low', labels: ['untrusted'] },
          'get-sum': { kind: 'send', risk: 'medium' },
          'get-env': { kind: 'retrieve_secret', risk: 'high', labels: ['secret'] },
        },
      },
    };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'k'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' }));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.close();
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function task(mandate: Record<string, unknown>) {
    const granted = await grantTask(server.url, 'report-bot', { purpose: 'summarise and share', ttlSeconds: 600, ...mandate });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${granted.credential}` } } }));
    clients.push(client);
    const call = async (name: string, args: Record<string, unknown> = {}) => decisionOf(await client.callTool({ name, arguments: args }));
    return { ...granted, client, call };
  }
  const send = { a: 1, b: 2 };
  const view = async (taskId: string) => (await http(server.url, `/v1/tasks/${taskId}`, { token: ADMIN_TOKEN })).body;

  verifies('monitor:flow:confidential-egress-denied', 'after reading confidential data, sending out is denied with the flow reason; a declared flow is allowed', async () => {
    const clean = await task({ tools: ['ev.echo', 'ev.get-sum'] });
    assert.equal((await clean.call('ev.get-sum', send))?.outcome, 'allow', 'a clean task may send');
    assert.equal((await clean.call('ev.echo', { message: 'Q3 board minutes' }))?.outcome, 'allow');
    const refused = await clean.call('ev.get-sum', send);
    assert.deepEqual([refused?.outcome, refused?.code], ['deny', 'policy.forbid']);
    const trail = await http(server.url, `/v1/decisions?task=${clean.taskId}&limit=1`, { token: ADMIN_TOKEN });
    assert.deepEqual(trail.body.decisions[0].policies, ['forbid-undeclared-egress-of-confidential']);
    assert.deepEqual(trail.body.decisions[0].labels, ['confidential'], 'the trail shows why: what the task had read');
    assert.deepEqual(trail.body.decisions[0].toolsCalled, ['ev.get-sum', 'ev.echo']);
    const declared = await task({ tools: ['ev.echo', 'ev.get-sum'], egress: ['confidential'] });
    await declared.call('ev.echo', { message: 'Q3 board minutes' });
    assert.equal((await declared.call('ev.get-sum', send))?.outcome, 'allow', 'the mandate declared that flow');
  });

  verifies('monitor:flow:untrusted-send-step-up', 'after reading untrusted content, a send needs a person', async () => {
    const t = await task({ tools: ['ev.get-annotated-message', 'ev.get-sum'] });
    assert.equal((await t.call('ev.get-annotated-message', { messageType: 'success' }))?.outcome, 'allow');
    const held = await t.call('ev.get-sum', send);
    assert.deepEqual([held?.outcome, held?.code], ['step_up', 'policy.step_up']);
    assert.match(String(held?.approvalId), /^apr_/);
    assert.deepEqual((await view(t.taskId)).drift.labels, ['untrusted']);
  });

  verifies('monitor:flow:reported-results', 'an enforcement point without the gateway reports results: labels work the same', async () => {
    const t = await task({ tools: ['ev.get-sum'] });
    const report = await http(server.url, `/v1/tasks/${t.taskId}/results`, { token: t.credential, body: { tool: 'ev.get-sum', status: 'ok', bytes: 120, labels: ['untrusted'] } });
    assert.equal(report.status, 202);
    const d = await http(server.url, '/v1/decide', { body: { credential: t.credential, tool: 'ev.get-sum', args: send } });
    assert.equal(d.body.outcome, 'step_up');
    const forged = await http(server.url, `/v1/tasks/${t.taskId}/results`, { token: 'not-a-credential', body: { tool: 'ev.get-sum', status: 'ok' } });
    assert.equal(forged.status, 401);
  });

  verifies('monitor:flow:registered-tool', 'a tool registered through the API, never proxied: decide knows it, and its labels flow through reported results', async () => {
    const registered = await http(server.url, '/v1/tools/crm.lookup', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'read', risk: 'low', labels: ['confidential'] } });
    assert.deepEqual([registered.status, registered.body.name, registered.body.labels], [200, 'crm.lookup', ['confidential']]);
    assert.equal((await http(server.url, '/v1/tools/files.read', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'write' } })).body.error.code, 'request.conflict', 'configured tools stay as configured');
    assert.equal((await http(server.url, '/v1/tools/crm.other', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'teleport' } })).body.error.code, 'request.invalid');
    assert.equal((await http(server.url, '/v1/tools/crm.other', { method: 'PUT', body: { kind: 'read' } })).status, 401);
    const t = await grantTask(server.url, 'report-bot', { purpose: 'look up a customer and mail the team', tools: ['crm.lookup', 'email.send'] });
    assert.equal(t.status, 201, 'the registered tool can be declared');
    const decide = (tool: string, args: Record<string, unknown>) => http(server.url, '/v1/decide', { body: { credential: t.credential, tool, args } }).then((r) => r.body as { outcome: string; policies: string[] });
    assert.equal((await decide('crm.lookup', { id: 'c-9' })).outcome, 'allow');
    await http(server.url, `/v1/tasks/${t.taskId}/results`, { token: t.credential, body: { tool: 'crm.lookup', status: 'ok', bytes: 300 } });
    const mail = await decide('email.send', { to: 'team@example.com' });
    assert.deepEqual([mail.outcome, mail.policies], ['deny', ['forbid-undeclared-egress-of-confidential']], 'the labels came from the registered metadata');
  });

  verifies('monitor:alert-webhook-signed', 'an alert response is posted to the monitor webhook, signed', async () => {
    const t = await task({ tools: ['ev.echo'] });
    assert.equal((await t.call('ev.get-sum', send))?.code, 'mandate.tool_not_declared');
    const alert = await until('the alert', async () => alerts.find((a) => a.body.includes(t.taskId)), 5000, 20);
    assert.equal(alert.signature, `sha256=${createHmac('sha256', 'alert-secret-0123').update(`${alert.timestamp}.${alert.body}`).digest('hex')}`);
    assert.deepEqual(
      (({ type, signal }) => ({ type, signal }))(JSON.parse(alert.body) as { type: string; signal: string }),
      { type: 'monitor.alert', signal: 'undeclared_tools' },
    );
  });

  verifies('monitor:flow:labels-by-resource', 'labels by resource: a rule on the argument labels what a call touched', async () => {
    await http(server.url, '/v1/tools/hr.files', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'read', labelRules: [{ arg: 'path', prefix: '/srv/hr/', labels: ['confidential'] }] } });
    const t = await grantTask(server.url, 'report-bot', { purpose: 'read a file and mail it', tools: ['hr.files', 'email.send'] });
    const decide = (tool: string, args: Record<string, unknown>) => http(server.url, '/v1/decide', { body: { credential: t.credential, tool, args } }).then((r) => r.body.outcome as string);
    const read = async (path: string) => {
      assert.equal(await decide('hr.files', { path }), 'allow');
      await http(server.url, `/v1/tasks/${t.taskId}/results`, { token: t.credential, body: { tool: 'hr.files', status: 'ok', args: { path } } });
    };
    await read('/srv/public/menu.txt');
    assert.equal(await decide('email.send', { to: 'team@example.com' }), 'allow', 'nothing confidential read yet');
    await read('/srv/hr/salaries.csv');
    assert.equal(await decide('email.send', { to: 'team@example.com' }), 'deny', 'the HR file made the task confidential');
  });

  verifies('monitor:drift:suspend-until-resumed', 'repeated undeclared calls suspend the task until a person resumes it', async () => {
    const t = await task({ tools: ['ev.echo'] });
    for (let i = 0; i < 3; i++) assert.equal((await t.call('ev.get-sum', send))?.code, 'mandate.tool_not_declared');
    const suspended = await t.call('ev.echo', { message: 'declared, but the task is suspended' });
    assert.deepEqual([suspended?.outcome, suspended?.code], ['deny', 'monitor.drift.repeated_denials']);
    const drift = (await view(t.taskId)).drift;
    assert.deepEqual([drift.suspendedBy, [...drift.signals].sort()], ['repeated_denials', ['repeated_denials', 'undeclared_tools']]);
    assert.ok(drift.score >= 50);
    const resumed = await http(server.url, `/v1/tasks/${t.taskId}/resume`, { token: ADMIN_TOKEN, body: { reason: 'checked with the owner' } });
    assert.equal(resumed.body.drift.suspendedBy, null);
    assert.equal((await t.call('ev.echo', { message: 'again' }))?.outcome, 'allow');
  });

  verifies('monitor:drift:forbidden-secret-revokes-tree', 'reaching for a forbidden secret revokes the task and its children at once', async () => {
    const parent = await task({ tools: ['ev.echo'] });
    const child = await grantTask(server.url, 'report-bot', { purpose: 'a sub-step', tools: ['ev.echo'], parentTask: parent.taskId });
    assert.equal(child.status, 201);
    const attempt = await parent.call('ev.get-env');
    assert.equal(attempt?.code, 'mandate.tool_not_declared');
    assert.equal((await view(parent.taskId)).status, 'revoked');
    const childCall = await http(server.url, '/v1/decide', { body: { credential: child.credential, tool: 'ev.echo', args: { message: 'x' } } });
    assert.equal(childCall.body.reason.code, 'credential.revoked');
    await assert.rejects(parent.client.callTool({ name: 'ev.echo', arguments: { message: 'x' } }), /401|credential\.revoked/);
    await server.plane.audit.flush();
    const signals = (await server.plane.store.audit.list({ type: 'monitor.signal', taskId: parent.taskId as never })).map((e) => `${String(e.data.signal)}:${String(e.data.response)}`);
    assert.deepEqual(signals.sort(), ['forbidden_secret:revoke', 'undeclared_tools:alert']);
  });
});

describe('a step_up drift response', () => {
  verifies('monitor:drift:step-up', 'after the configured signal, high-risk calls need a person even where policy allows them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-monitor-stepup-'));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    delete config.upstreams;
    config.monitor = { responses: { arg_violations: 'step_up' } };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    const server = await startServer(loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'k'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' }));
    try {
      const t = await grantTask(server.url, 'report-bot', { purpose: 'tidy the reports share', tools: [{ name: 'files.read', args: { path: { prefix: '/srv/' } } }, 'files.delete'] });
      const decide = (tool: string, args: Record<string, unknown>) => http(server.url, '/v1/decide', { body: { credential: t.credential, tool, args } }).then((r) => r.body as { outcome: string; reason: { code: string }; layer: string });
      assert.equal((await decide('files.delete', { path: '/srv/old.csv' })).outcome, 'allow', 'policy allows a high-risk delete');
      assert.equal((await decide('files.read', { path: '/etc/passwd' })).reason.code, 'mandate.arg_constraint');
      const held = await decide('files.delete', { path: '/srv/older.csv' });
      assert.deepEqual([held.outcome, held.reason.code, held.layer], ['step_up', 'monitor.drift.arg_violations', 'monitor']);
      assert.equal((await decide('files.read', { path: '/srv/a.csv' })).outcome, 'allow', 'low-risk calls go on');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
