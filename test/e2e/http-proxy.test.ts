import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import YAML from 'yaml';
import { ConfigError } from '../../src/core/index.js';
import { loadConfig, redactConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http as api, until as waitUntil } from '../helpers.js';
import { verifies } from './verifies.js';

const UPSTREAM_TOKEN = 'Bearer upstream-secret-0000';
const BIG_BYTES = 64 * 1024;

/** The REST API behind the gateway, described by this document (written to a temp dir for the config). */
const OPENAPI = {
  openapi: '3.0.3',
  info: { title: 'billing', version: '1.0.0' },
  paths: {
    '/invoices': {
      get: { operationId: 'listInvoices', parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }] },
      post: { operationId: 'createInvoice', summary: 'create an invoice' },
    },
    '/invoices/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
      get: { operationId: 'getInvoice' },
      delete: { operationId: 'deleteInvoice' },
    },
    '/notes/{name}': { put: { operationId: 'putNote' } },
    '/payments': { post: { operationId: 'createPayment' } },
    '/headers': { get: { operationId: 'echoHeaders' } },
    '/events': { get: { operationId: 'streamEvents' } },
    '/download': { get: { operationId: 'download' } },
    '/download-sized': { get: { operationId: 'downloadSized' } },
    '/export': { get: { operationId: 'exportAll', summary: 'in the document, deliberately not mapped' } },
  },
};

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The shared bounded wait, with this file's deadline and polling interval. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5_000) => waitUntil(what, probe, timeoutMs, 10);

/** A request with the path exactly as written: fetch would normalise `..` and `%2e%2e` before sending. */
function rawRequest(base: string, path: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'GET', headers: { ...headers, authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP API gateway: a real REST upstream behind /proxy', () => {
  let server: RunningServer;
  let dir: string;
  let upstream: http.Server;
  let junk: net.Server;
  let upstreamUrl: string;
  const seen: Seen[] = [];
  /** The streaming endpoint holds its second chunk until the test says it got the first. */
  let releaseStream: () => void = () => undefined;
  let streamFinished = false;

  before(async () => {
    upstream = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const url = new URL(req.url ?? '/', 'http://upstream');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const route = `${req.method} ${url.pathname}`;
      if (route === 'GET /invoices') return json(200, { invoices: [{ id: 1, customer: 'acme-corp' }, { id: 2, customer: 'globex' }], limit: url.searchParams.get('limit') });
      if (route === 'POST /invoices') return json(201, { created: JSON.parse(seen.at(-1)!.body) });
      if (req.method === 'GET' && url.pathname.startsWith('/invoices/')) return json(200, { id: Number(url.pathname.split('/')[2]), amount: 40 });
      if (req.method === 'PUT' && url.pathname.startsWith('/notes/')) return json(200, { stored: seen.at(-1)!.body, type: req.headers['content-type'] });
      if (route === 'GET /headers') return json(200, { ok: true });
      if (route === 'GET /events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        // Bounded: a gateway that buffered would never let the test see the first chunk.
        await Promise.race([new Promise<void>((r) => (releaseStream = r)), new Promise((r) => setTimeout(r, 5_000).unref())]);
        streamFinished = true;
        return res.end('data: two\n\n');
      }
      if (route === 'GET /download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < BIG_BYTES / 1024; i++) res.write(Buffer.alloc(1024, 'x'));
        return res.end();
      }
      if (route === 'GET /download-sized') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG_BYTES });
        return res.end(Buffer.alloc(BIG_BYTES, 'y'));
      }
      if (route === 'GET /reports-api/summary/2025') return json(200, { year: 2025, revenue: 'up 12%' });
      if (route === 'GET /reports-api/slow') return; // never answers
      return json(404, { error: 'no such route upstream' });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    // A port nothing listens on: connections to it are refused.
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));

    // An upstream that answers with something that is not HTTP.
    junk = net.createServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n')));
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));

    dir = mkdtempSync(join(tmpdir(), 'mandate-http-'));
    writeFileSync(join(dir, 'billing.openapi.json'), JSON.stringify(OPENAPI));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    delete config.upstreams; // the example's MCP upstreams are not under test here
    config.apis = {
      billing: {
        baseUrl: upstreamUrl,
        timeoutMs: 10_000,
        // A literal header and a brokered secret: the vault injects `k-123`, which no config file holds.
        headers: { Authorization: UPSTREAM_TOKEN, 'x-api-key': { secret: 'billing-key' } },
        openapi: {
          file: 'billing.openapi.json',
          operations: {
            listInvoices: { kind: 'read', labels: ['confidential'] },
            createInvoice: { kind: 'write', risk: 'medium' },
            getInvoice: { kind: 'read' },
            deleteInvoice: { kind: 'delete', risk: 'high' },
            putNote: { kind: 'write' },
            createPayment: { kind: 'payment', risk: 'high' },
            echoHeaders: { kind: 'read' },
            streamEvents: { kind: 'read' },
            download: { kind: 'read' },
            downloadSized: { kind: 'read' },
          },
        },
      },
      reports: {
        baseUrl: `${upstreamUrl}/reports-api/`,
        timeoutMs: 1_000,
        routes: [
          { method: 'GET', path: '/summary/{year}', tool: 'summary', kind: 'read', description: 'yearly summary' },
          { method: 'GET', path: '/slow', tool: 'slow', kind: 'read' },
        ],
      },
      down: { baseUrl: `http://127.0.0.1:${closedPort}`, routes: [{ method: 'GET', path: '/anything', tool: 'anything', kind: 'read' }] },
      junk: { baseUrl: `http://127.0.0.1:${(junk.address() as AddressInfo).port}`, routes: [{ method: 'GET', path: '/anything', tool: 'anything', kind: 'read' }] },
    };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(
      loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'secrets.key'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false', MANDATE_MONITOR_DENIALS_PER_MINUTE: '1000' }),
    );
    assert.equal((await api(server.url, '/v1/secrets/billing-key', { method: 'PUT', token: ADMIN_TOKEN, body: { value: 'k-123' } })).status, 201);
  });
  after(async () => {
    releaseStream();
    await server?.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
    await new Promise((r) => junk.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const mandate = (extra: Record<string, unknown> = {}) => ({
    purpose: 'reconcile this month’s invoices',
    tools: [
      'billing.listInvoices',
      { name: 'billing.getInvoice', args: { id: { oneOf: [1, 2] } } },
      { name: 'billing.createInvoice', args: { amount: { max: 100 }, currency: { oneOf: ['EUR', 'USD'] } } },
      'billing.putNote',
      'billing.createPayment',
      'billing.echoHeaders',
      'billing.streamEvents',
      'billing.download',
      'billing.downloadSized',
      { name: 'reports.summary', args: { year: { pattern: '20[0-9]{2}' } } },
      'reports.slow',
      'down.anything',
      'junk.anything',
    ],
    ttlSeconds: 600,
    ...extra,
  });

  async function call(path: string, credential: string | undefined, init: { method?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (credential) headers.authorization = `Bearer ${credential}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  }

  async function events(taskId: string, type: 'decision' | 'tool.result' | 'gateway.refused') {
    await server.plane.audit.flush();
    return server.plane.store.audit.list({ type, taskId: taskId as never });
  }

  verifies('gateway:http:auth-required', 'without a credential, or with a forged one: 401 with a Bearer challenge, and nothing forwarded', async () => {
    const before = seen.length;
    const none = await call('/proxy/billing/invoices', undefined);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="mandate"');
    assert.equal(none.body.error.code, 'credential.missing');
    const forged = await call('/proxy/billing/invoices', 'abc.def.ghi');
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="credential.invalid"/);
    assert.equal(seen.length, before);
  });

  verifies('gateway:http:allow-forwards-and-audits', 'an allowed GET returns the upstream’s real body; the result is audited without header values or bodies', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const res = await call('/proxy/billing/invoices?limit=2', credential);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { invoices: [{ id: 1, customer: 'acme-corp' }, { id: 2, customer: 'globex' }], limit: '2' });
    assert.match(res.headers.get('mandate-decision-id') ?? '', /^dcn_/);
    assert.equal(seen.at(-1)?.url, '/invoices?limit=2');
    const [decision] = await events(taskId, 'decision');
    assert.deepEqual([decision?.data.tool, decision?.data.outcome, decision?.data.argNames], ['billing.listInvoices', 'allow', ['limit']]);
    const [result] = await events(taskId, 'tool.result');
    assert.deepEqual(
      { ...result?.data, durationMs: undefined },
      { decisionId: decision?.data.decisionId, tool: 'billing.listInvoices', method: 'GET', status: 'ok', code: null, httpStatus: 200, bytes: Buffer.byteLength(res.text), labels: ['confidential'], durationMs: undefined, traceId: null },
    );
    const trail = JSON.stringify(await server.plane.store.audit.list({ taskId: taskId as never }));
    for (const secret of [credential, 'upstream-secret', 'k-123', 'acme-corp']) assert.equal(trail.includes(secret), false, `${secret.slice(0, 12)} is not in the trail`);
  });

  verifies('gateway:http:deny-before-upstream', 'an action outside the mandate is denied and the upstream never sees the request', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const before = seen.length;
    const res = await call('/proxy/billing/invoices/1', credential, { method: 'DELETE' });
    assert.equal(res.status, 403);
    assert.deepEqual([res.body.error.code, res.body.decision.outcome, res.body.decision.layer], ['mandate.tool_not_declared', 'deny', 'mandate']);
    assert.match(res.body.decision.id, /^dcn_/);
    assert.equal(seen.length, before);
  });

  verifies('gateway:http:argument-constraints', 'argument constraints hold on a path parameter and on a JSON body field', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const before = seen.length;
    const outside = await call('/proxy/billing/invoices/3', credential);
    assert.deepEqual([outside.status, outside.body.error.code], [403, 'mandate.arg_constraint']);
    assert.match(outside.body.error.message, /argument `id` must be one of/);
    const padded = await call('/proxy/billing/invoices/01', credential);
    assert.deepEqual([padded.status, padded.body.error.code], [403, 'mandate.arg_constraint'], 'only the canonical spelling reaches the decision as a number');
    const tooMuch = await call('/proxy/billing/invoices', credential, { method: 'POST', json: { amount: 5000, currency: 'EUR' } });
    assert.deepEqual([tooMuch.status, tooMuch.body.error.code], [403, 'mandate.arg_constraint']);
    assert.match(tooMuch.body.error.message, /argument `amount` must be at most 100/);
    // The same field twice: the upstream reads exactly what was decided (the body is re-serialized).
    const twice = await call('/proxy/billing/invoices', credential, { method: 'POST', body: '{"amount": 5000, "currency": "EUR", "amount": 50}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([twice.status, twice.body], [201, { created: { amount: 50, currency: 'EUR' } }]);
    assert.equal(seen.at(-1)?.body, '{"amount":50,"currency":"EUR"}');
    const ok = await call('/proxy/billing/invoices/2', credential);
    assert.deepEqual([ok.status, ok.body], [200, { id: 2, amount: 40 }]);
    assert.equal(seen.length, before + 2, 'only the two allowed calls reached the upstream');
  });

  verifies('gateway:http:body-handling', 'bodies: invalid JSON is refused, other content types are forwarded as received', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const before = seen.length;
    const broken = await call('/proxy/billing/invoices', credential, { method: 'POST', body: '{"amount": ', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([broken.status, broken.body.error.code], [400, 'request.invalid']);
    const big = await call('/proxy/billing/invoices', credential, { method: 'POST', json: { amount: 1, currency: 'EUR', pad: 'x'.repeat(2 * 1024 * 1024) } });
    assert.deepEqual([big.status, big.body?.error.code], [413, 'request.too_large']);
    assert.equal(seen.length, before);
    const note = await call('/proxy/billing/notes/q3%20summary', credential, { method: 'PUT', body: 'plain text, {not json}', headers: { 'content-type': 'text/plain; charset=utf-8' } });
    assert.deepEqual([note.status, note.body], [200, { stored: 'plain text, {not json}', type: 'text/plain; charset=utf-8' }]);
    assert.equal(seen.at(-1)?.url, '/notes/q3%20summary');
  });

  verifies('gateway:http:unmapped-route-denied', 'an unmapped route is denied with 404 gateway.route_unmapped and audited; nothing reaches the upstream', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const before = seen.length;
    for (const [method, path] of [
      ['GET', '/proxy/billing/export'], // in the OpenAPI document, not mapped
      ['GET', '/proxy/billing/no/such/route'],
      ['PATCH', '/proxy/billing/invoices/1'],
      ['GET', '/proxy/nosuchapi/invoices'],
      ['GET', '/proxy/billing'],
    ] as const) {
      const res = await call(path, credential, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'gateway.route_unmapped');
      assert.equal(typeof res.body.error.message, 'string');
    }
    assert.equal(seen.length, before);
    const decisions = await events(taskId, 'decision');
    assert.deepEqual(decisions.map((d) => [d.data.code, d.data.outcome]), Array(5).fill(['gateway.route_unmapped', 'deny']));
  });

  verifies('gateway:http:no-path-traversal', 'path traversal never reaches the upstream, however it is spelled', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const before = seen.length;
    for (const path of ['/proxy/billing/invoices/../export', '/proxy/billing/invoices/%2e%2e/export', '/proxy/billing/notes/..%2Fexport', '/proxy/billing/notes/a%5C..%5Cexport', '/proxy/reports/summary/..;/slow']) {
      const res = await rawRequest(server.url, path, credential);
      assert.deepEqual([res.status, res.body?.error?.code], [400, 'request.invalid'], path);
    }
    assert.equal(seen.length, before);
  });

  verifies('gateway:http:step-up-holds', 'step-up: a payment is held with 403 outcome step_up and is not forwarded', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const before = seen.length;
    const res = await call('/proxy/billing/payments', credential, { method: 'POST', json: { amount: 10 } });
    assert.equal(res.status, 403);
    assert.deepEqual(
      { ...res.body.decision, id: undefined, approvalId: undefined },
      { id: undefined, outcome: 'step_up', code: 'policy.step_up', layer: 'policy', stepUp: ['human'], approvalId: undefined },
    );
    assert.match(res.body.decision.approvalId, /^apr_/, 'the approval request the agent waits on');
    assert.equal(res.body.error.code, 'policy.step_up');
    assert.equal(seen.length, before);
  });

  verifies('gateway:http:header-brokering', 'the agent’s Authorization is not forwarded; the configured headers are', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    // node:http rather than fetch, which refuses to send a Connection header.
    const res = await rawRequest(server.url, '/proxy/billing/headers', credential, { 'x-forwarded-for': '6.6.6.6', 'x-trace': 't-1', connection: 'keep-alive, x-trace' });
    assert.equal(res.status, 200);
    const headers = seen.at(-1)!.headers;
    assert.equal(headers.authorization, UPSTREAM_TOKEN);
    assert.equal(headers['x-api-key'], 'k-123', 'the brokered secret was injected');
    await server.plane.audit.flush();
    const used = (await server.plane.store.audit.list({ type: 'secret.used', limit: 10 })).map((e) => e.data);
    assert.deepEqual(used, [{ name: 'billing-key', version: 1, usedBy: 'api:billing' }], 'audited by name and version, resolved once for many requests');
    assert.equal(JSON.stringify(headers).includes(credential), false, 'the task credential never leaves the gateway');
    assert.equal(headers['x-forwarded-for'], undefined);
    assert.equal(headers['x-trace'], undefined, 'a header named by Connection is hop-by-hop');
  });

  verifies('gateway:http:streaming', 'a streaming response arrives chunk by chunk, before the upstream has finished', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    streamFinished = false;
    const res = await fetch(`${server.url}/proxy/billing/events`, { headers: { authorization: `Bearer ${credential}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no first chunk within 4 s: the response was buffered')), 4_000).unref())]);
    assert.equal(new TextDecoder().decode(first.value), 'data: one\n\n');
    assert.equal(streamFinished, false, 'the first chunk arrived while the upstream was still writing');
    releaseStream();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    assert.equal(rest, 'data: two\n\n');
    assert.equal(streamFinished, true);
  });

  verifies('gateway:http:result-size-limit', 'limits.maxResultBytes cuts a large response off, or refuses it when its length is declared', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate({ limits: { maxResultBytes: 4096 } }));
    let received = 0;
    let failed = false;
    try {
      const res = await fetch(`${server.url}/proxy/billing/download`, { headers: { authorization: `Bearer ${credential}` } });
      const reader = res.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.length;
    } catch {
      failed = true;
    }
    assert.equal(failed, true, 'the response is cut off, not completed');
    assert.ok(received <= 4096, `received ${received} bytes`);
    const sized = await call('/proxy/billing/download-sized', credential);
    assert.deepEqual([sized.status, sized.body.error.code], [502, 'gateway.result_too_large']);
    const small = await call('/proxy/billing/invoices', credential);
    assert.equal(small.status, 200, 'a result under the limit passes');
    assert.equal(seen.at(-1)?.headers['accept-encoding'], 'identity', 'with a byte limit the gateway asks for uncompressed data');
    // The cut response is audited once the gateway has torn it down, which may be just after the client noticed.
    const audited = await until('three audited results', async () => {
      const list = await events(taskId, 'tool.result');
      return list.length === 3 ? list : undefined;
    });
    assert.deepEqual(
      audited.map((e) => [e.data.tool, e.data.code]),
      [['billing.download', 'gateway.result_too_large'], ['billing.downloadSized', 'gateway.result_too_large'], ['billing.listInvoices', null]],
    );
    assert.ok((audited[0]?.data.bytes as number) <= 4096);
  });

  verifies('gateway:http:explicit-routes', 'explicit routes work like OpenAPI operations, under the base URL’s path', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const res = await call('/proxy/reports/summary/2025', credential);
    assert.deepEqual([res.status, res.body], [200, { year: 2025, revenue: 'up 12%' }]);
    assert.equal(seen.at(-1)?.url, '/reports-api/summary/2025');
    const before = seen.length;
    const outside = await call('/proxy/reports/summary/1999', credential);
    assert.deepEqual([outside.status, outside.body.error.code], [403, 'mandate.arg_constraint']);
    assert.equal(seen.length, before);
  });

  verifies('gateway:http:upstream-timeout', 'an upstream that does not answer in time: 504 gateway.upstream_timeout, and the gateway keeps serving', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const res = await call('/proxy/reports/slow', credential);
    assert.deepEqual([res.status, res.body.error.code], [504, 'gateway.upstream_timeout']);
    const [result] = await events(taskId, 'tool.result');
    assert.deepEqual([result?.data.status, result?.data.code, result?.data.httpStatus], ['error', 'gateway.upstream_timeout', null]);
    assert.equal((await call('/proxy/reports/summary/2025', credential)).status, 200);
  });

  verifies('gateway:http:upstream-error', 'an upstream that refuses connections or does not speak HTTP: 502 gateway.upstream_error', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const refused = await call('/proxy/down/anything', credential);
    assert.deepEqual([refused.status, refused.body.error.code], [502, 'gateway.upstream_error']);
    const garbage = await call('/proxy/junk/anything', credential);
    assert.deepEqual([garbage.status, garbage.body.error.code], [502, 'gateway.upstream_error']);
    const results = await events(taskId, 'tool.result');
    assert.deepEqual(results.map((r) => [r.data.tool, r.data.status, r.data.code]), [['down.anything', 'error', 'gateway.upstream_error'], ['junk.anything', 'error', 'gateway.upstream_error']]);
  });

  verifies('gateway:http:revocation-next-request', 'a revoked task is refused on its very next request', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    assert.equal((await call('/proxy/billing/invoices', credential)).status, 200);
    const revoked = await api(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: taskId } });
    assert.equal(revoked.status, 201);
    const before = seen.length;
    const res = await call('/proxy/billing/invoices', credential);
    assert.deepEqual([res.status, res.body.error.code], [401, 'credential.revoked']);
    assert.match(res.headers.get('www-authenticate') ?? '', /error_description="credential.revoked"/);
    assert.equal(seen.length, before);
    // The refused try is in the task's trail: a credential used after revocation is evidence.
    const refused = await events(taskId, 'gateway.refused');
    assert.deepEqual(refused.map((e) => [e.data.gateway, e.data.code, e.data.method, e.data.upstream]), [['http', 'credential.revoked', 'GET', 'billing']]);
  });

  verifies('gateway:http:outside-openapi', 'the proxy is not part of the /v1 OpenAPI document', async () => {
    const doc = await api(server.url, '/v1/openapi.json');
    assert.equal(Object.keys(doc.body.paths).some((p) => p.startsWith('/proxy')), false);
  });

  verifies('gateway:http:config-validation', 'configuration: a broken OpenAPI document stops start-up naming the file; clashes and header values', async () => {
    const env = { MANDATE_STORE_URL: ':memory:', MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' };
    const write = (name: string, apis: unknown, extra: Record<string, unknown> = {}) => {
      const config = { ...YAML.parse(readFileSync(join(dir, 'mandate.yaml'), 'utf8')), apis, ...extra };
      writeFileSync(join(dir, name), YAML.stringify(config));
      return join(dir, name);
    };
    writeFileSync(join(dir, 'broken.json'), '{"openapi": "3.0.0", "paths": ');
    const broken = loadConfig(write('broken.yaml', { billing: { baseUrl: upstreamUrl, openapi: { file: 'broken.json', operations: { listInvoices: { kind: 'read' } } } } }), env);
    await assert.rejects(startServer(broken), (e: unknown) => e instanceof ConfigError && e.message.includes(`apis.billing.openapi.file: \`${join(dir, 'broken.json')}\` is not valid JSON`));
    const routes = [{ method: 'GET', path: '/x', tool: 'read', kind: 'read' }];
    assert.throws(
      () => loadConfig(write('clash.yaml', { fs: { baseUrl: upstreamUrl, routes } }, { upstreams: { fs: { transport: 'http', url: 'http://127.0.0.1:1/mcp', tools: { read: { kind: 'read' } } } } }), env),
      (e: unknown) => e instanceof ConfigError && /apis\.fs: `fs` is already the name of an MCP upstream/.test(e.message) && /tool `fs\.read` is also served by an MCP upstream/.test(e.message),
    );
    assert.throws(() => loadConfig(write('clash2.yaml', { files: { baseUrl: upstreamUrl, routes } }, { tools: [{ name: 'files.read', kind: 'read' }] }), env), /tools\.0\.name: tool `files\.read` is listed twice \(or also served by an upstream or an API\)/);
    const printed = JSON.stringify(redactConfig(server.plane.config));
    assert.equal(printed.includes('upstream-secret') || printed.includes('k-123'), false, '`mandate config print` redacts header values');
    assert.match(printed, /"Authorization":"\[redacted\]"/);
    assert.match(printed, /"x-api-key":\{"secret":"billing-key","prefix":""\}/, 'a secret reference names the secret, which is safe to show');
  });
});
