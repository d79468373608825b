import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import YAML from 'yaml';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, exited, grantTask, http, serve, until } from '../helpers.js';
import { Scraped, parseExposition } from '../prometheus.js';
import { verifies } from './verifies.js';

/**
 * Each request on a connection of its own, so the cluster hands consecutive
 * requests to different workers (fetch would keep one connection, one worker).
 */
function fresh(base: string, path: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        agent: false,
        method: init.method ?? (body ? 'POST' : 'GET'),
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers ?? {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `GET /metrics` on a connection of its own (so on whichever worker the cluster picks), parsed. */
function scrapeFresh(base: string): Promise<Scraped> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/metrics`, { agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? parseExposition(text).then((m) => resolve(new Scraped(m)), reject) : reject(new Error(`${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The worker processes of a primary (Linux: /proc lists a process's children). */
function workerPids(primary: ChildProcess): number[] {
  return readFileSync(`/proc/${primary.pid}/task/${primary.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('mandate serve --workers 2 on one SQLite file', () => {
  let dir: string;
  let instance: { url: string; child: ChildProcess; output: string[] };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-workers-'));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy = { dir: join(ROOT, 'examples', 'policies'), watch: false, source: 'store' };
    // One upstream that asks the agent's client to sample during a call: each worker runs its own copy.
    config.upstreams = {
      everything: {
        transport: 'stdio',
        command: process.execPath,
        args: [join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
        timeoutMs: 20_000,
        sampling: { kind: 'read', risk: 'low' },
        tools: { 'trigger-sampling-request': { kind: 'read', risk: 'low' } },
      },
    };
    config.store = { url: `file:${join(dir, 'mandate.db')}`, answerWithinMs: 2000 };
    config.server = { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN };
    config.secrets = { keyFile: join(dir, 'secrets.key') };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    instance = await serve(join(dir, 'mandate.yaml'), { MANDATE_SERVER_WORKERS: '2' });
  });
  after(async () => {
    instance?.child.kill('SIGTERM');
    if (instance) await exited(instance.child);
    rmSync(dir, { recursive: true, force: true });
  });

  const decide = async (credential: string, path = '/srv/reports/a') =>
    (await fresh(instance.url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path } } })).body as { outcome: string; reason: { code: string }; policyVersion: number };

  verifies('workers:serve', 'two workers answer on one port, each writing its own audit segment; every chain verifies', async () => {
    assert.match(instance.output.join('\n'), /mandate listening on \S+ .*2 workers/);
    assert.equal(workerPids(instance.child).length, 2);
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    const codes = await Promise.all(Array.from({ length: 8 }, () => decide(credential)));
    assert.deepEqual(new Set(codes.map((d) => d.reason.code)), new Set(['policy.permit']));
    const verified = (await http(instance.url, '/v1/audit/verify', { token: ADMIN_TOKEN })).body as { ok: boolean; segments: { segment: string; events: number }[] };
    assert.equal(verified.ok, true);
    assert.deepEqual(verified.segments.map((s) => s.segment).sort(), ['main', 'main.2'], 'both workers decided and wrote their own segment');
  });

  verifies('observability:metrics', 'a scrape answered by any worker holds every worker\'s series, labelled by worker', async () => {
    const allowed = (m: Scraped) => m.series('mandate_decisions_total', { outcome: 'allow', reason: 'policy.permit' }).reduce((n, s) => n + (s.value ?? 0), 0);
    const before = allowed(await scrapeFresh(instance.url));
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    await Promise.all(Array.from({ length: 8 }, () => decide(credential)));
    for (const m of await Promise.all(Array.from({ length: 4 }, () => scrapeFresh(instance.url)))) {
      assert.deepEqual(m.series('mandate_store_reachable').map((s) => [s.labels.worker, s.value]).sort(), [['1', 1], ['2', 1]]);
      assert.equal(allowed(m) - before, 8, 'the decisions of both workers, counted once each');
    }
  });

  verifies('workers:revocation', 'revoked through one worker, the task is refused by every worker on the very next call', async () => {
    const { credential, taskId } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    // Both workers have the credential verified and the task cached before the revocation.
    assert.deepEqual(new Set((await Promise.all(Array.from({ length: 4 }, () => decide(credential)))).map((d) => d.reason.code)), new Set(['policy.permit']));
    assert.equal((await fresh(instance.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: taskId } })).status, 201);
    const after = await Promise.all(Array.from({ length: 6 }, () => decide(credential)));
    assert.deepEqual(new Set(after.map((d) => d.reason.code)), new Set(['credential.revoked']));
  });

  verifies('workers:exact-limits', 'maxCalls holds across workers: counted in the store file', async () => {
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], limits: { maxCalls: 5 }, ttlSeconds: 600 });
    const codes = await Promise.all(Array.from({ length: 12 }, () => decide(credential)));
    assert.equal(codes.filter((d) => d.reason.code === 'policy.permit').length, 5, JSON.stringify(codes.map((d) => d.reason.code)));
  });

  verifies('workers:policy-pushed', 'a policy set pushed through one worker is served by every worker under the new version', async () => {
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    const before = await decide(credential);
    const files = readdirSync(join(ROOT, 'examples', 'policies'))
      .filter((f) => f.endsWith('.cedar'))
      .map((name) => ({ name, text: readFileSync(join(ROOT, 'examples', 'policies', name), 'utf8') }));
    const freeze = { name: 'freeze.cedar', text: '@id("freeze-reads")\nforbid (principal, action == Action::"read", resource == Tool::"files.read");\n' };
    const pushed = await fresh(instance.url, '/v1/policies', { method: 'PUT', token: ADMIN_TOKEN, body: { files: [...files, freeze] } });
    assert.equal(pushed.body.version, before.policyVersion + 1);
    await until('every worker to serve the new set', async () => {
      const round = await Promise.all(Array.from({ length: 4 }, () => decide(credential)));
      return round.every((d) => d.outcome === 'deny' && d.policyVersion === pushed.body.version) ? true : undefined;
    });
    const restored = await fresh(instance.url, '/v1/policies', { method: 'PUT', token: ADMIN_TOKEN, body: { files } });
    assert.equal(restored.status, 200);
  });

  verifies('workers:mcp-session', 'an MCP session opened on one worker is taken up by the other; closed on one, it is closed on both', async () => {
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    const headers = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const opened = await new Promise<string>((resolve, reject) => {
      const req = request(`${instance.url}/mcp`, { agent: false, method: 'POST', headers: { ...headers, 'content-type': 'application/json', authorization: `Bearer ${credential}` } }, (res) => {
        res.resume();
        if (res.statusCode !== 200) reject(new Error(`initialize answered ${res.statusCode}`));
        resolve(String(res.headers['mcp-session-id']));
      });
      req.on('error', reject);
      req.end(JSON.stringify(initialize));
    });
    const list = () => fresh(instance.url, '/mcp', { token: credential, headers: { ...headers, 'mcp-session-id': opened }, body: { jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} } });
    assert.deepEqual((await Promise.all(Array.from({ length: 4 }, list))).map((r) => r.status), [200, 200, 200, 200]);
    const forged = opened.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await fresh(instance.url, '/mcp', { token: credential, headers: { ...headers, 'mcp-session-id': forged }, body: { jsonrpc: '2.0', id: 4, method: 'tools/list', params: {} } })).status, 404);
    assert.equal((await fresh(instance.url, '/mcp', { method: 'DELETE', token: credential, headers: { ...headers, 'mcp-session-id': opened } })).status, 200);
    await until('every worker to refuse the closed session', async () => ((await Promise.all(Array.from({ length: 4 }, list))).every((r) => r.status === 404) ? true : undefined));
  });

  verifies('workers:mcp-relay', 'an agent answers a request relayed during a call on another connection, which may reach another worker: the call completes', async () => {
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['everything.trigger-sampling-request', 'everything.sampling'], ttlSeconds: 600 });
    const client = new Client({ name: 'agent', version: '1' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: 'assistant', model: 'scripted', content: { type: 'text', text: 'sampled' } }));
    // Each answer to the gateway on a connection of its own, so that the cluster hands consecutive ones to different workers.
    const answerOnFreshConnection = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      const body = typeof init?.body === 'string' ? init.body : undefined;
      if (!body || !/"result"/.test(body) || /"method"/.test(body)) return fetch(url, init);
      const posted = await fresh(instance.url, '/mcp', { headers: Object.fromEntries(new Headers(init!.headers).entries()), body: JSON.parse(body) });
      return new Response(null, { status: posted.status });
    };
    await client.connect(new StreamableHTTPClientTransport(new URL(`${instance.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } }, fetch: answerOnFreshConnection }));
    try {
      for (let i = 0; i < 4; i++) {
        const result = await client.callTool({ name: 'everything_trigger-sampling-request', arguments: { prompt: `p${i}`, maxTokens: 5 } });
        assert.match(JSON.stringify(result.content), /sampled/);
      }
    } finally {
      await client.close();
    }
  });

  verifies('workers:restart', 'a worker killed is started again and the instance keeps answering', async () => {
    const { credential } = await grantTask(instance.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    const [victim, survivor] = workerPids(instance.child);
    process.kill(victim!, 'SIGKILL');
    await until('the primary to start a new worker', async () => {
      const pids = workerPids(instance.child);
      return pids.length === 2 && !pids.includes(victim!) && pids.includes(survivor!) ? true : undefined;
    }, 30_000);
    const events = async () => Object.fromEntries(((await http(instance.url, '/v1/audit/verify', { token: ADMIN_TOKEN })).body as { segments: { segment: string; events: number }[] }).segments.map((s) => [s.segment, s.events]));
    const before = await events();
    await until('the new worker to decide too', async () => {
      assert.deepEqual(new Set((await Promise.all(Array.from({ length: 4 }, () => decide(credential)))).map((d) => d.reason.code)), new Set(['policy.permit']));
      const now = await events();
      return Object.keys(before).every((segment) => now[segment]! > before[segment]!) ? true : undefined;
    }, 30_000);
    assert.match(instance.output.join('\n'), /worker \d exited with SIGKILL; starting it again/);
    const verified = (await http(instance.url, '/v1/audit/verify', { token: ADMIN_TOKEN })).body as { ok: boolean };
    assert.equal(verified.ok, true, 'the restarted worker continued its segment');
  });
});
