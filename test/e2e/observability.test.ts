import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, exited, grantTask, http, memoryLogger, serve, startTestServer, until } from '../helpers.js';
import { scrape } from '../prometheus.js';
import { verifies } from './verifies.js';

const METRICS_TOKEN = 'metrics-scraper-token-0123456789';
const hrMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
const QUARTERLY = JSON.parse(readFileSync(join(ROOT, 'examples', 'mandates', 'quarterly-report.json'), 'utf8'));

describe('observability: Prometheus metrics', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ MANDATE_METRICS_TOKEN: METRICS_TOKEN });
  });
  after(async () => server?.close());

  verifies('observability:metrics', 'decisions by outcome and reason, their latency, approvals, revocations, audit lag and the store, behind a token', async () => {
    const base = server.url;
    for (const token of [undefined, 'not-the-metrics-token-0000', 'x']) {
      const res = await http(base, '/metrics', { token });
      assert.equal(res.status, 401, `token ${token}`);
      assert.equal(res.body.error.code, 'request.unauthorized');
    }
    const before = await scrape(base, ADMIN_TOKEN);
    assert.equal(before.count('mandate_decision_duration_seconds'), 0);

    const { credential, taskId } = await grantTask(base, 'report-bot', QUARTERLY);
    const calls = [
      { tool: 'files.read', args: { path: '/srv/reports/q3.csv' } },
      { tool: 'files.read', args: { path: '/srv/reports/q4.csv' } },
      { tool: 'files.read', args: { path: '/etc/shadow' } },
      { tool: 'payments.create', args: { amount: 120 } },
      { tool: 'email.send', args: { to: 'a@b.example' } },
    ];
    const decided = new Map<string, number>();
    const note = (d: { outcome: string; reason: { code: string } }) => decided.set(`${d.outcome} ${d.reason.code}`, (decided.get(`${d.outcome} ${d.reason.code}`) ?? 0) + 1);
    for (const call of calls) note((await http(base, '/v1/decide', { body: { credential, ...call } })).body);
    note((await http(base, '/v1/decide', { body: { credential: 'not.a.jwt', tool: 'files.read', args: {} } })).body);
    assert.deepEqual([...decided.keys()].map((k) => k.split(' ')[0]).sort(), ['allow', 'deny', 'deny', 'deny', 'step_up'], `allow, deny and step_up were all decided: ${[...decided.keys()]}`);

    const during = await scrape(base, METRICS_TOKEN);
    for (const [key, n] of decided) {
      const [outcome, reason] = key.split(' ') as [string, string];
      assert.equal(during.value('mandate_decisions_total', { outcome, reason }), n, key);
    }
    const total = [...decided.values()].reduce((a, b) => a + b, 0);
    assert.equal(during.series('mandate_decisions_total').reduce((n, m) => n + Number(m.value), 0), total, 'no decision counted that was not taken');
    assert.equal(during.count('mandate_decision_duration_seconds'), total);
    assert.equal(during.value('mandate_approvals_pending'), 1, 'the payment waits for a person');
    assert.equal(during.value('mandate_store_reachable'), 1);
    assert.ok(during.count('mandate_audit_append_lag_seconds') >= total, 'every decision record is durable before its answer');
    assert.ok(during.value('process_resident_memory_bytes') > 0, 'the process metrics are there too');

    // Completing the task revokes it, cancels its pending request, and the next call is denied as revoked.
    assert.equal((await http(base, `/v1/tasks/${taskId}/complete`, { token: credential, body: {} })).status, 200);
    const revoked = (await http(base, '/v1/decide', { body: { credential, ...calls[0] } })).body;
    assert.equal(revoked.reason.code, 'credential.revoked');
    const afterwards = await scrape(base, ADMIN_TOKEN);
    assert.equal(afterwards.value('mandate_revocations_total', { kind: 'task' }), 1);
    assert.ok(afterwards.value('mandate_revocations_active') >= 1);
    assert.equal(afterwards.value('mandate_approvals_pending'), 0);
    assert.equal(afterwards.value('mandate_decisions_total', { outcome: 'deny', reason: 'credential.revoked' }), 1);

    // Switched off, there is no route to ask.
    const off = await startTestServer({ MANDATE_METRICS_ENABLED: 'false' });
    try {
      assert.equal((await http(off.url, '/metrics', { token: ADMIN_TOKEN })).status, 404);
    } finally {
      await off.close();
    }
  });
});

/** A REST upstream that records what reached it: `/ok` answers, `/broken` fails with 503. */
async function restUpstream(): Promise<{ server: Server; url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url?.startsWith('/broken')) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('observability: traces through the HTTP and MCP gateways', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let server: RunningServer;
  let upstream: Awaited<ReturnType<typeof restUpstream>>;
  let dir: string;

  before(async () => {
    // As the SDK is set up in production: AsyncLocalStorage context and W3C trace context.
    provider.register();
    upstream = await restUpstream();
    dir = mkdtempSync(join(tmpdir(), 'mandate-observability-'));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    config.apis = {
      reports: {
        baseUrl: upstream.url,
        routes: [
          { method: 'GET', path: '/ok/{year}', tool: 'summary', kind: 'read' },
          { method: 'GET', path: '/broken', tool: 'broken', kind: 'read' },
        ],
      },
      down: { baseUrl: `http://127.0.0.1:${await closedPort()}`, routes: [{ method: 'GET', path: '/anything', tool: 'anything', kind: 'read' }] },
    };
    config.upstreams = { fixture: { transport: 'stdio', command: process.execPath, args: [join(ROOT, 'dist/test/fixtures/fixture-mcp-server.js')], tools: { env_names: { kind: 'read' } } } };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    const env = { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'k'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' };
    server = await startServer(loadConfig(join(dir, 'mandate.yaml'), env), { tracerProvider: provider });
  });
  after(async () => {
    await server?.close();
    await new Promise((resolve) => upstream?.server.close(resolve));
    await provider.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
  const CALLER_SPAN = 'b7ad6b7169203331';
  const get = (path: string, credential: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${credential}`, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
  /** The finished spans of the trace, once the request's own has ended (after its response). */
  const spansOf = (requestSpan: (s: ReadableSpan) => boolean) =>
    until('the request span to end', async () => {
      const spans = exporter.getFinishedSpans();
      const root = spans.find(requestSpan);
      return root ? { root, spans: spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId) } : undefined;
    });

  verifies('observability:traces', 'a proxied call or an MCP tool call is request → decide → upstream in one trace, with the task and the decision on the spans', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', { purpose: 'read the yearly summary', tools: [{ name: 'reports.summary', args: { year: { oneOf: ['2025'] } } }, 'reports.broken', 'down.anything'], ttlSeconds: 600 });
    assert.ok(taskId);

    exporter.reset();
    const allowed = await get('/proxy/reports/ok/2025', credential);
    assert.equal(allowed.status, 200);
    await allowed.text();
    const { root, spans } = await spansOf((s) => s.kind === SpanKind.SERVER && s.attributes['http.route'] === '/proxy/:upstream/*');
    assert.equal(root.name, 'GET /proxy/:upstream/*');
    assert.equal(root.spanContext().traceId, CALLER_TRACE, 'the caller\'s trace goes on');
    assert.equal(root.parentSpanContext?.spanId, CALLER_SPAN);
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(typeof root.attributes['mandate.request_id'], 'string');

    const decide = spans.find((s) => s.name === 'mandate.decide');
    const call = spans.find((s) => s.name === 'upstream reports.summary');
    assert.ok(decide && call, `spans: ${spans.map((s) => s.name)}`);
    for (const child of [decide, call]) {
      assert.equal(child.parentSpanContext?.spanId, root.spanContext().spanId, `${child.name} is a child of the request`);
      assert.equal(child.attributes['mandate.task_id'], taskId);
      assert.equal(child.attributes['mandate.decision'], 'allow');
    }
    assert.equal(decide.attributes['mandate.reason'], 'policy.permit');
    assert.equal(call.attributes['mandate.decision_id'], decide.attributes['mandate.decision_id']);
    assert.equal(call.kind, SpanKind.CLIENT);
    assert.ok(hrMs(call.startTime) >= hrMs(decide.endTime), 'the upstream is called once decided');
    // The upstream continues the trace under the gateway's span, not the agent's.
    assert.equal(upstream.seen.at(-1)?.traceparent, `00-${CALLER_TRACE}-${call.spanContext().spanId}-01`);

    exporter.reset();
    const denied = await get('/proxy/reports/ok/1999', credential);
    assert.equal(denied.status, 403);
    await denied.text();
    const refusal = await spansOf((s) => s.kind === SpanKind.SERVER);
    const refused = refusal.spans.find((s) => s.name === 'mandate.decide');
    assert.equal(refused?.attributes['mandate.decision'], 'deny');
    assert.equal(refused?.attributes['mandate.reason'], 'mandate.arg_constraint');
    assert.equal(refusal.spans.some((s) => s.kind === SpanKind.CLIENT), false, 'a denied call never reaches an upstream');

    // Upstream failures are marked on the span and counted per upstream.
    for (const path of ['/proxy/reports/broken', '/proxy/down/anything']) await (await get(path, credential)).text();
    await until('the failed calls\' spans', async () => (exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT).length === 2 ? true : undefined));
    const failed = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    assert.deepEqual(failed.map((s) => [s.name, s.status.message]).sort(), [['upstream down.anything', 'gateway.upstream_error'], ['upstream reports.broken', 'http_5xx']]);

    // The MCP gateway: the same tree under `POST /mcp`.
    const mcp = await grantTask(server.url, 'report-bot', { purpose: 'list the variables', tools: ['fixture.env_names'], ttlSeconds: 600 });
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${mcp.credential}` } } }));
    exporter.reset();
    try {
      const result = await client.callTool({ name: 'fixture_env_names', arguments: {} });
      assert.notEqual(result.isError, true, JSON.stringify(result));
    } finally {
      await client.close();
    }
    const viaMcp = await until('the MCP call\'s spans', async () => {
      const spans = exporter.getFinishedSpans();
      const decided = spans.find((s) => s.name === 'mandate.decide');
      const called = spans.find((s) => s.name === 'upstream fixture.env_names');
      const request = spans.find((s) => s.spanContext().spanId === decided?.parentSpanContext?.spanId);
      return decided && called && request ? { decided, called, request } : undefined;
    });
    assert.equal(viaMcp.request.name, 'POST /mcp');
    assert.equal(viaMcp.called.parentSpanContext?.spanId, viaMcp.request.spanContext().spanId);
    for (const child of [viaMcp.decided, viaMcp.called]) {
      assert.equal(child.attributes['mandate.task_id'], mcp.taskId);
      assert.equal(child.attributes['mandate.decision'], 'allow');
    }
    assert.equal(viaMcp.called.attributes['mandate.gateway'], 'mcp');

    const metrics = await scrape(server.url, ADMIN_TOKEN);
    assert.equal(metrics.count('mandate_upstream_request_duration_seconds', { gateway: 'http', upstream: 'reports' }), 2);
    assert.equal(metrics.count('mandate_upstream_request_duration_seconds', { gateway: 'mcp', upstream: 'fixture' }), 1);
    assert.equal(metrics.value('mandate_upstream_errors_total', { gateway: 'http', upstream: 'reports', reason: 'http_5xx' }), 1);
    assert.equal(metrics.value('mandate_upstream_errors_total', { gateway: 'http', upstream: 'down', reason: 'gateway.upstream_error' }), 1);
  });
});

describe('observability: JSON logs', () => {
  let instance: { url: string; child: ChildProcess; output: string[] } | undefined;
  after(async () => {
    instance?.child.kill('SIGTERM');
    if (instance) await exited(instance.child);
  });

  verifies('observability:logs', 'serve writes JSON lines, one per request with its request id, at the configured level', async () => {
    instance = await serve(EXAMPLE_CONFIG, { MANDATE_STORE_URL: ':memory:', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' });
    const given = await fetch(`${instance.url}/healthz`, { headers: { 'x-request-id': 'lb-7f3a.42' } });
    assert.equal(given.headers.get('x-request-id'), 'lb-7f3a.42', 'a plain id from the caller is kept');
    const forged = await fetch(`${instance.url}/v1/tasks?agent=alice%40example.com`, { headers: { 'x-request-id': 'x" "level":"fatal' } });
    const minted = forged.headers.get('x-request-id') ?? '';
    assert.match(minted, /^[0-9a-f-]{36}$/, 'anything else is replaced');

    const output = instance.output;
    const lineOf = (id: string) => until(`the log line of ${id}`, async () => output.find((l) => l.includes(id)));
    await Promise.all([lineOf('lb-7f3a.42'), lineOf(minted)]);
    const records = output.map((line) => {
      assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
      return JSON.parse(line) as Record<string, unknown>;
    });
    for (const r of records) assert.ok(typeof r.level === 'string' && typeof r.time === 'string' && typeof r.msg === 'string', JSON.stringify(r));
    assert.ok(records.some((r) => String(r.msg).startsWith('mandate listening on ') && r.url === instance!.url));
    const health = records.find((r) => r.reqId === 'lb-7f3a.42');
    assert.deepEqual({ msg: health?.msg, level: health?.level, route: health?.route, statusCode: health?.statusCode }, { msg: 'request completed', level: 'info', route: '/healthz', statusCode: 200 });
    const tasks = records.find((r) => r.reqId === minted);
    assert.equal(tasks?.route, '/v1/tasks', 'the route pattern');
    assert.equal(JSON.stringify(records).includes('alice'), false, 'never the URL: its path and query can carry personal data');

    // The level comes from the configuration: at warn, requests write nothing, a generated admin token is still shown.
    const config = loadConfig(EXAMPLE_CONFIG, { MANDATE_STORE_URL: ':memory:', MANDATE_SERVER_PORT: '0', MANDATE_POLICY_WATCH: 'false', MANDATE_LOG_LEVEL: 'warn' });
    assert.equal(config.log.level, 'warn');
    const logged = memoryLogger(config.log.level);
    const embedded = await startServer(config, { logger: logged.logger });
    try {
      assert.equal((await http(embedded.url, '/healthz')).status, 200);
      assert.equal((await http(embedded.url, '/v1/no-such-route')).status, 404);
    } finally {
      await embedded.close();
    }
    assert.deepEqual(logged.records().map((r) => [r.level, String(r.msg).replace(/madm_\S+/, 'madm_…')]), [['warn', 'admin token (shown once, keep it): madm_…']]);
  });
});
