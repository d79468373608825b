import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http, until as waitUntil } from '../helpers.js';
import { verifies } from './verifies.js';

const FS_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const EVERYTHING_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const GARBAGE_SERVER = join(ROOT, 'dist/test/fixtures/garbage-stdio-server.js');
/** Long enough that an answer before it cannot be the timeout. */
const GARBAGE_TIMEOUT_MS = 20_000;

type TextResult = { isError?: boolean; content: { type: string; text?: string }[]; _meta?: Record<string, any> };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text ?? '').join('');

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The shared bounded wait, with this file's deadline and polling interval. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000) => waitUntil(what, probe, timeoutMs, 50);

describe('MCP gateway: a real MCP client, real upstream MCP servers', () => {
  let server: RunningServer;
  let dir: string;
  let share: string;
  let garbage: import('node:http').Server;
  const clients: Client[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-mcp-'));
    share = realpathSync(dir);
    mkdirSync(join(share, 'reports'));
    mkdirSync(join(share, 'out'));
    writeFileSync(join(share, 'reports', 'q3.txt'), 'revenue up 12%');
    writeFileSync(join(share, 'private.txt'), 'not for this task');
    // An "MCP server" that answers every request with something that is not JSON-RPC.
    const { createServer } = await import('node:http');
    garbage = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>'));
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    const garbagePort = (garbage.address() as { port: number }).port;
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    config.upstreams = {
      junk: { transport: 'http', url: `http://127.0.0.1:${garbagePort}/mcp`, tools: { anything: { kind: 'read' } } },
      garbled: { transport: 'stdio', command: process.execPath, args: [GARBAGE_SERVER], timeoutMs: GARBAGE_TIMEOUT_MS, tools: { call: { kind: 'read' }, json: { kind: 'read' } } },
      noisy: { transport: 'stdio', command: process.execPath, args: [GARBAGE_SERVER], env: { GARBAGE_AT_START: '1' }, timeoutMs: GARBAGE_TIMEOUT_MS, tools: { call: { kind: 'read' } } },
      idle: { transport: 'stdio', command: process.execPath, args: [EVERYTHING_SERVER, 'stdio'], idleStopMs: 1000, tools: { echo: { kind: 'read' } } },
      fs: {
        transport: 'stdio',
        command: process.execPath,
        args: [FS_SERVER, share],
        timeoutMs: 10_000,
        tools: {
          read_text_file: { kind: 'read', risk: 'low' },
          write_file: { kind: 'write', risk: 'medium' },
          list_directory: { kind: 'read', risk: 'low' },
        },
      },
      everything: {
        transport: 'stdio',
        command: process.execPath,
        args: [EVERYTHING_SERVER, 'stdio'],
        timeoutMs: 3_000,
        resources: { kind: 'read', risk: 'low', labels: ['internal'] },
        prompts: { kind: 'read', risk: 'low' },
        tools: {
          echo: { kind: 'read', risk: 'low' },
          'trigger-long-running-operation': { kind: 'read', risk: 'low' },
        },
      },
    };
    writeFileSync(join(share, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(loadConfig(join(share, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false', MANDATE_MONITOR_DENIALS_PER_MINUTE: '1000' }));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.close();
    garbage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function connect(credential: string): Promise<Client> {
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
    clients.push(client);
    return client;
  }

  const mandate = (extra: Record<string, unknown> = {}) => ({
    purpose: 'summarise the quarterly reports',
    tools: [
      { name: 'fs.read_text_file', args: { path: { prefix: `${share}/reports/` } } },
      { name: 'fs.write_file', args: { path: { prefix: `${share}/out/` } } },
      'everything.echo',
      'everything.trigger-long-running-operation',
    ],
    ttlSeconds: 600,
    ...extra,
  });

  verifies('gateway:mcp:auth-required', 'without a credential: 401 pointing at the protected-resource metadata (RFC 9728)', async () => {
    const res = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }) });
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    assert.ok(metadataUrl, challenge);
    const metadata = (await (await fetch(metadataUrl)).json()) as { resource: string };
    assert.equal(metadata.resource, `${server.url}/mcp`);
    const garbled = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { authorization: 'Bearer abc.def.ghi', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(garbled.status, 401);
    assert.match(garbled.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="credential.invalid"/);
  });

  verifies('gateway:mcp:oauth-honest', 'an OAuth-aware client without a credential is told where task credentials come from, not sent to a dead end', async () => {
    const res = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }) });
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /POST \/v1\/attest\/join-token.*POST \/v1\/tasks/);
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    assert.equal(metadata.authorization_servers, undefined, 'no authorization server is claimed');
    // The SDK's own OAuth flow, as desktop clients run it: discovery, then dynamic registration.
    const saved: Record<string, unknown> = {};
    const provider: OAuthClientProvider = {
      redirectUrl: 'http://127.0.0.1:1/callback',
      clientMetadata: { client_name: 'desktop', redirect_uris: ['http://127.0.0.1:1/callback'] },
      clientInformation: () => undefined,
      saveClientInformation: (info) => void (saved.client = info),
      tokens: () => undefined,
      saveTokens: (tokens) => void (saved.tokens = tokens),
      redirectToAuthorization: () => assert.fail('must not be sent to authorize anywhere'),
      saveCodeVerifier: () => undefined,
      codeVerifier: () => '',
    };
    const client = new Client({ name: 'desktop', version: '1' });
    await assert.rejects(client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { authProvider: provider })), /not an OAuth authorization server.*POST \/v1\/tasks/);
    assert.deepEqual(saved, {});
  });

  verifies('gateway:mcp:transport-checks', 'Origin, method, protocol version and body are checked as the transport specifies, with JSON-RPC errors', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const post = (headers: Record<string, string>, body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: {} }), method = 'POST') =>
      fetch(`${server.url}/mcp`, { method, headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
    const rebinding = await post({ origin: 'http://attacker.example:8080' });
    assert.equal(rebinding.status, 403);
    assert.equal(((await rebinding.json()) as { error: { data: { code: string } } }).error.data.code, 'gateway.origin_forbidden');
    // A page on this machine, and an agent (no Origin at all), get through to the session check.
    assert.equal((await post({ origin: 'http://localhost:6274' })).status, 400, 'past the Origin check: ping without a session');
    const put = await post({}, '{}', 'PUT');
    assert.deepEqual([put.status, put.headers.get('allow')], [405, 'GET, POST, DELETE']);
    const version = await post({ 'mcp-protocol-version': '1999-01-01' });
    assert.equal(version.status, 400);
    assert.match(((await version.json()) as { error: { message: string } }).error.message, /unsupported MCP-Protocol-Version `1999-01-01`/);
    const garbled = await post({}, '{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(garbled.status, 400);
    assert.equal(((await garbled.json()) as { error: { code: number } }).error.code, -32700);
    assert.equal((await post({ 'content-type': 'text/plain' })).status, 415);
    // Headers an intermediary routes on must say what the body says.
    const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fs_write_file', arguments: {} } });
    const lying = await post({ 'mcp-method': 'tools/call', 'mcp-name': 'fs_read_text_file' }, call);
    assert.equal(lying.status, 400);
    assert.match(((await lying.json()) as { error: { message: string } }).error.message, /header and body disagree: Mcp-Name `fs_read_text_file`, body `fs_write_file`/);
    assert.equal((await post({ 'mcp-method': 'tools/list' }, call)).status, 400);
  });

  verifies('gateway:mcp:list-filtered-by-mandate', 'tools/list shows only the tools the mandate declares', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['everything_echo', 'everything_trigger-long-running-operation', 'fs_read_text_file', 'fs_write_file']);
    assert.ok(tools.find((t) => t.name === 'fs_read_text_file')?.inputSchema, 'upstream input schema passed through');
  });

  verifies('gateway:mcp:exposed-names', 'agents see provider-safe names and call by them; the decision and the trail keep `<upstream>.<tool>`', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    const { tools } = await client.listTools();
    for (const t of tools) assert.match(t.name, /^[A-Za-z0-9_-]{1,64}$/, `${t.name} is a valid function name for every model provider`);
    assert.equal(tools.find((t) => t.name === 'fs_read_text_file')?._meta?.['mandate/tool'], 'fs.read_text_file');
    const result = await client.callTool({ name: 'fs_read_text_file', arguments: { path: `${share}/reports/q3.txt` } });
    assert.equal(text(result), 'revenue up 12%');
    const denied = await client.callTool({ name: 'fs_list_directory', arguments: { path: share } });
    assert.equal(((denied._meta as Record<string, { code: string }>)['mandate/decision'])!.code, 'mandate.tool_not_declared');
    await server.plane.audit.flush();
    const decided = (await server.plane.store.audit.list({ type: 'decision', taskId: taskId as never, limit: 10 })).map((e) => e.data.tool);
    assert.deepEqual(decided, ['fs.read_text_file', 'fs.list_directory']);
  });

  verifies('gateway:mcp:allow-forwards-and-audits', 'an allowed call reaches the upstream and returns its real result; the result is audited', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    const result = await client.callTool({ name: 'fs.read_text_file', arguments: { path: `${share}/reports/q3.txt` } });
    assert.equal(result.isError ?? false, false);
    assert.equal(text(result), 'revenue up 12%');
    const echo = await client.callTool({ name: 'everything.echo', arguments: { message: 'hello' } });
    assert.match(text(echo), /hello/);
    const decisions = await http(server.url, `/v1/decisions?task=${taskId}`, { token: ADMIN_TOKEN });
    assert.deepEqual(decisions.body.decisions.map((d: { code: string }) => d.code), ['policy.permit', 'policy.permit']);
    await server.plane.audit.flush();
    const results = await server.plane.store.audit.list({ type: 'tool.result', taskId: taskId as never });
    assert.deepEqual(results.map((e) => [e.data.tool, e.data.status]), [['fs.read_text_file', 'ok'], ['everything.echo', 'ok']]);
    assert.ok((results[0]?.data.bytes as number) > 10);
  });

  verifies('gateway:mcp:deny-before-upstream', 'a denied call never reaches the upstream: the file is not written; the error names the code', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    const outside = await client.callTool({ name: 'fs.write_file', arguments: { path: `${share}/reports/forged.txt`, content: 'x' } });
    assert.equal(outside.isError, true);
    assert.match(text(outside), /^denied \(mandate\.arg_constraint\): argument `path` must start with/);
    assert.equal((outside as TextResult)._meta?.['mandate/decision']?.code, 'mandate.arg_constraint');
    assert.equal(existsSync(join(share, 'reports', 'forged.txt')), false);
    const undeclared = await client.callTool({ name: 'fs.list_directory', arguments: { path: share } });
    assert.match(text(undeclared), /mandate\.tool_not_declared/);
    const escape = await client.callTool({ name: 'fs.read_text_file', arguments: { path: `${share}/reports/../private.txt` } });
    assert.match(text(escape), /mandate\.arg_constraint/);
    const inside = await client.callTool({ name: 'fs.write_file', arguments: { path: `${share}/out/summary.txt`, content: 'done' } });
    assert.equal(inside.isError ?? false, false, text(inside));
    assert.equal(readFileSync(join(share, 'out', 'summary.txt'), 'utf8'), 'done');
  });

  verifies('gateway:mcp:result-size-limit', 'a result larger than limits.maxResultBytes is withheld', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate({ limits: { maxResultBytes: 20 } }));
    const client = await connect(credential);
    const result = await client.callTool({ name: 'fs.read_text_file', arguments: { path: `${share}/reports/q3.txt` } });
    assert.equal(result.isError, true);
    assert.match(text(result), /gateway\.result_too_large/);
    assert.doesNotMatch(text(result), /revenue/);
  });

  verifies('gateway:mcp:revocation-next-request', 'revocation mid-session: the very next request is refused', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    assert.equal(text(await client.callTool({ name: 'everything.echo', arguments: { message: 'before' } })), 'Echo: before');
    await http(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: taskId } });
    await assert.rejects(client.callTool({ name: 'everything.echo', arguments: { message: 'after' } }), /401|credential\.revoked|Unauthorized/i);
  });

  verifies('gateway:mcp:session-bound-to-task', 'a session belongs to the task that opened it', async () => {
    const a = await grantTask(server.url, 'report-bot', mandate());
    const b = await grantTask(server.url, 'billing-bot', mandate());
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${a.credential}` } } });
    const client = new Client({ name: 'a', version: '1' });
    await client.connect(transport);
    clients.push(client);
    const res = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.credential}`, 'mcp-session-id': transport.sessionId!, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} }),
    });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /gateway\.session_invalid/);
  });

  verifies('gateway:mcp:upstream-timeout', 'an upstream that hangs times out with a clear error and the gateway keeps serving', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    const slow = await client.callTool({ name: 'everything.trigger-long-running-operation', arguments: { duration: 5, steps: 1 } });
    assert.equal(slow.isError, true);
    assert.match(text(slow), /gateway\.upstream_timeout/);
    const fine = await client.callTool({ name: 'fs.read_text_file', arguments: { path: `${share}/reports/q3.txt` } });
    assert.equal(text(fine), 'revenue up 12%');
  });

  verifies('gateway:mcp:upstream-crash-restart', 'an upstream that crashes is restarted on a later call; other upstreams are untouched', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const client = await connect(credential);
    await client.callTool({ name: 'fs.read_text_file', arguments: { path: `${share}/reports/q3.txt` } });
    const pid = await server.plane.upstreams.pid('fs');
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const read = () => client.callTool({ name: 'fs.read_text_file', arguments: { path: `${share}/reports/q3.txt` } });
    const during = await until('the crash to be noticed', async () => {
      const r = await read();
      return r.isError ? r : undefined;
    });
    assert.match(text(during), /gateway\.upstream_(unavailable|error)/);
    assert.equal(text(await client.callTool({ name: 'everything.echo', arguments: { message: 'still here' } })), 'Echo: still here');
    const recovered = await until('the restart', async () => {
      const r = await read();
      return r.isError ? undefined : r;
    });
    assert.equal(text(recovered), 'revenue up 12%');
    assert.notEqual(await server.plane.upstreams.pid('fs'), pid);
  });

  verifies('gateway:mcp:upstream-garbage-and-idle', 'an upstream that answers garbage yields a clear error; an idle stdio upstream stops and starts again on demand', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', { purpose: 'p', tools: ['junk.anything', 'idle.echo'] });
    const client = await connect(credential);
    const junk = await client.callTool({ name: 'junk.anything', arguments: {} });
    assert.equal(junk.isError, true);
    assert.match(text(junk), /gateway\.upstream_unavailable: upstream `junk` could not be started/);
    assert.equal(text(await client.callTool({ name: 'idle.echo', arguments: { message: 'one' } })), 'Echo: one');
    const first = await server.plane.upstreams.pid('idle');
    assert.ok(first);
    await until('the idle upstream to stop', async () => ((await server.plane.upstreams.pid('idle')) === null ? true : undefined), 10_000);
    assert.equal(text(await client.callTool({ name: 'idle.echo', arguments: { message: 'two' } })), 'Echo: two');
    const second = await server.plane.upstreams.pid('idle');
    assert.ok(second && second !== first);
    // The first process exiting late must not make the pool forget the second: it is stopped when idle too.
    await until('both idle processes to be gone', async () => (isRunning(first) || isRunning(second) ? undefined : true), 15_000);
  });

  verifies('gateway:mcp:stdio-protocol-error', 'a stdio upstream that writes something other than JSON-RPC fails the call at once as a protocol error, not a timeout', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', { purpose: 'p', tools: ['garbled.call', 'garbled.json', 'noisy.call'] });
    const client = await connect(credential);
    const broke = /gateway\.upstream_protocol_error: upstream `garbled` broke the MCP protocol: it wrote a line that is not a JSON-RPC message/;
    const startedMs = Date.now();
    const garbled = await client.callTool({ name: 'garbled.call', arguments: {} }, undefined, { timeout: 2 * GARBAGE_TIMEOUT_MS });
    assert.ok(Date.now() - startedMs < GARBAGE_TIMEOUT_MS, 'answered before the upstream timeout would have fired');
    assert.equal(garbled.isError, true);
    assert.match(text(garbled), broke);
    assert.doesNotMatch(text(garbled), /upstream_timeout/);
    // The process is stopped and starts again on a later call; JSON that is not JSON-RPC breaks the protocol too.
    const json = await until('the upstream to start again', async () => {
      const r = await client.callTool({ name: 'garbled.json', arguments: {} }, undefined, { timeout: 2 * GARBAGE_TIMEOUT_MS });
      return /restarting/.test(text(r)) ? undefined : r;
    });
    assert.match(text(json), broke);
    // Garbage before the handshake fails the start at once, with the same code.
    const noisyStartedMs = Date.now();
    const noisy = await client.callTool({ name: 'noisy.call', arguments: {} }, undefined, { timeout: 2 * GARBAGE_TIMEOUT_MS });
    assert.ok(Date.now() - noisyStartedMs < GARBAGE_TIMEOUT_MS, 'answered before the upstream timeout would have fired');
    assert.match(text(noisy), /gateway\.upstream_protocol_error: upstream `noisy` broke the MCP protocol/);
    await server.plane.audit.flush();
    const results = await server.plane.store.audit.list({ type: 'tool.result', limit: 1000 });
    assert.ok(results.some((e) => e.data.tool === 'garbled.call' && e.data.code === 'gateway.upstream_protocol_error'), 'the result is audited with the code');
  });

  verifies('gateway:mcp:resources-prompts-decided', 'resources/read and prompts/get are decided like tool calls, with the URI and prompt name as arguments', async () => {
    const docs = 'demo://resource/static/document/';
    const { credential } = await grantTask(server.url, 'report-bot', {
      purpose: 'read the docs',
      tools: [{ name: 'everything.resources', args: { uri: { prefix: docs } } }, { name: 'everything.prompts', args: { name: { equals: 'args-prompt' } } }],
    });
    const client = await connect(credential);
    const { resources } = await client.listResources();
    assert.ok(resources.some((r) => r.uri === `${docs}architecture.md`));
    const read = await client.readResource({ uri: `${docs}architecture.md` });
    assert.ok(JSON.stringify(read.contents).length > 50);
    await assert.rejects(client.readResource({ uri: 'demo://resource/dynamic/text/1' }), /denied \(mandate\.arg_constraint\)/);
    const { prompts } = await client.listPrompts();
    assert.ok(prompts.some((p) => p.name === 'everything_args-prompt'));
    const prompt = await client.getPrompt({ name: 'everything_args-prompt', arguments: { city: 'Lyon', state: 'ARA' } });
    assert.match(JSON.stringify(prompt.messages), /Lyon/);
    await assert.rejects(client.getPrompt({ name: 'everything.simple-prompt' }), /denied \(mandate\.arg_constraint\)/);
    // A prompt no upstream has is not found, not a refusal of some made-up action.
    await assert.rejects(client.getPrompt({ name: 'no-such-prompt' }), /-32602.*request\.not_found: no upstream this task may use has the prompt `no-such-prompt`/);
    // A task that declared neither sees neither.
    const other = await connect((await grantTask(server.url, 'report-bot', mandate())).credential);
    assert.deepEqual((await other.listResources()).resources, []);
    await assert.rejects(other.readResource({ uri: `${docs}architecture.md` }), /mandate\.tool_not_declared/);
  });

  verifies('gateway:mcp:protocol-errors', 'malformed JSON-RPC and unknown methods get protocol errors, not crashes', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const headers = { authorization: `Bearer ${credential}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const garbage = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: '{"jsonrpc": ' });
    assert.equal(garbage.status, 400);
    const noInit = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    assert.equal(noInit.status, 400);
    // The reason code travels as data, not only inside the message text.
    assert.deepEqual(((await noInit.json()) as { error: { data: { code: string } } }).error.data.code, 'request.invalid');
    const client = await connect(credential);
    await assert.rejects(client.request({ method: 'no/such_method', params: {} } as never, (await import('@modelcontextprotocol/sdk/types.js')).EmptyResultSchema), /-32601|not found/i);
    const big = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }) });
    assert.equal(big.status, 413);
    await server.plane.audit.flush();
    const refused = (await server.plane.store.audit.list({ type: 'gateway.refused', limit: 1000 })).map((e) => [e.data.code, e.data.method]);
    assert.ok(refused.some(([code, method]) => code === 'request.invalid' && method === 'no/such_method'), JSON.stringify(refused));
    assert.ok(refused.some(([code]) => code === 'credential.missing'));
    assert.ok(refused.some(([code]) => code === 'credential.invalid'));
  });

  verifies('gateway:mcp:session-cap', 'a task holds at most 16 sessions: the oldest is closed', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', mandate());
    const transports: StreamableHTTPClientTransport[] = [];
    for (let i = 0; i < 17; i++) {
      const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } });
      const client = new Client({ name: `s${i}`, version: '1' });
      await client.connect(transport);
      clients.push(client);
      transports.push(transport);
    }
    const listWith = (sessionId: string) =>
      fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'mcp-session-id': sessionId, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
    assert.equal((await listWith(transports[0]!.sessionId!)).status, 404, 'the oldest session was closed');
    assert.equal((await listWith(transports[16]!.sessionId!)).status, 200);
  });
});
