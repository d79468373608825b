import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as jose from 'jose';
import YAML from 'yaml';
import { z } from 'zod';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { TransactionTokenError, verifyMandateDocument, verifyTransactionToken, type TransactionTokenClaims } from '../../src/sdk/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http as api } from '../helpers.js';
import { verifies } from './verifies.js';

const TRUST_DOMAIN = 'example.internal';
const STDIO_SERVER = join(ROOT, 'dist/test/fixtures/txn-token-stdio-server.js');
/** The MCP methods that act; the rest (initialize, lists) are the gateway's own, on nobody's behalf. */
const ACTIONS = new Set(['tools/call', 'resources/read', 'prompts/get']);

type TextResult = { isError?: boolean; content: { type: string; text?: string }[]; _meta?: Record<string, any> };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text ?? '').join('');

describe('transaction tokens: services behind the gateway refuse calls no decision allowed', () => {
  let server: RunningServer;
  let dir: string;
  let rest: http.Server;
  let restUrl = '';
  let mcp: http.Server;
  let mcpUrl = '';
  /** Why the services refused what reached them: every refusal is a call that did not come through a decision. */
  const refusals: string[] = [];
  const clients: Client[] = [];

  /** What a service does with each request: check its Txn-Token with the SDK against the control plane's JWKS. */
  async function check(headers: IncomingHttpHeaders, audience: string): Promise<{ claims: TransactionTokenClaims } | { refused: string }> {
    const token = headers['txn-token'];
    if (typeof token !== 'string') return { refused: 'missing' };
    try {
      return { claims: await verifyTransactionToken(token, { jwksUrl: `${server.url}/v1/jwks.json`, audience, trustDomain: TRUST_DOMAIN, issuer: `spiffe://${TRUST_DOMAIN}/mandate` }) };
    } catch (err) {
      if (err instanceof TransactionTokenError) return { refused: err.code };
      throw err;
    }
  }

  /** The MCP upstream's own server: each answer names the token its request carried (already verified). */
  function ledgerServer(): McpServer {
    const s = new McpServer({ name: 'ledger', version: '1.0.0' });
    const claimsOf = (extra: { requestInfo?: { headers: IncomingHttpHeaders } }) => JSON.stringify(jose.decodeJwt(String(extra.requestInfo?.headers['txn-token'])));
    s.registerTool('lookup', { description: 'look an account up', inputSchema: { account: z.string() } }, async (_args, extra) => ({ content: [{ type: 'text', text: claimsOf(extra) }] }));
    s.registerResource('summary', 'ledger://summary', { description: 'the ledger summary' }, async (uri, extra) => ({ contents: [{ uri: uri.href, text: claimsOf(extra) }] }));
    s.registerPrompt('review', { description: 'review the ledger' }, async (extra) => ({ messages: [{ role: 'user', content: { type: 'text', text: claimsOf(extra) } }] }));
    return s;
  }

  before(async () => {
    // A REST service: `/billing` checks tokens, `/plain` (no token configured) says what it received.
    rest = http.createServer(async (req, res) => {
      for await (const _ of req);
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url?.startsWith('/plain/')) return json(200, { txnToken: req.headers['txn-token'] ?? null });
      const checked = await check(req.headers, `${restUrl}/billing`);
      if ('refused' in checked) {
        refusals.push(`rest:${checked.refused}`);
        return json(401, { error: checked.refused });
      }
      return json(200, { invoice: 7, token: req.headers['txn-token'], claims: checked.claims });
    });
    await new Promise<void>((r) => rest.listen(0, '127.0.0.1', r));
    restUrl = `http://127.0.0.1:${(rest.address() as AddressInfo).port}`;

    // An MCP server over Streamable HTTP (the SDK's, stateless): a call, a read or a prompt needs a valid token.
    mcp = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
      if (req.method === 'POST' && ACTIONS.has(body?.method)) {
        const checked = await check(req.headers, mcpUrl);
        if ('refused' in checked) {
          refusals.push(`mcp:${checked.refused}`);
          return res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id ?? null, error: { code: -32001, message: `transaction token refused: ${checked.refused}` } }));
        }
      }
      const s = ledgerServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void transport.close().then(() => s.close()));
      await s.connect(transport);
      await transport.handleRequest(req, res, body);
    });
    await new Promise<void>((r) => mcp.listen(0, '127.0.0.1', r));
    mcpUrl = `http://127.0.0.1:${(mcp.address() as AddressInfo).port}/mcp`;

    dir = mkdtempSync(join(tmpdir(), 'mandate-txn-'));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    config.upstreams = {
      ledger: { transport: 'http', url: mcpUrl, transactionToken: {}, tools: { lookup: { kind: 'read' } }, resources: { kind: 'read' }, prompts: { kind: 'read' } },
      journal: { transport: 'stdio', command: process.execPath, args: [STDIO_SERVER], transactionToken: { ttlSeconds: 30 }, tools: { post_entry: { kind: 'write', risk: 'medium' } } },
    };
    config.apis = {
      billing: {
        baseUrl: `${restUrl}/billing`,
        transactionToken: { header: 'Txn-Token', ttlSeconds: 60 },
        routes: [
          { method: 'GET', path: '/invoices/{id}', tool: 'getInvoice', kind: 'read' },
          { method: 'POST', path: '/invoices', tool: 'createInvoice', kind: 'write', risk: 'medium' },
        ],
      },
      plain: { baseUrl: `${restUrl}/plain`, routes: [{ method: 'GET', path: '/echo', tool: 'echo', kind: 'read' }] },
    };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(
      loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'secrets.key'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' }),
    );
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    for (const s of [rest, mcp]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const mandate = {
    purpose: 'reconcile the ledger with the invoices',
    onBehalfOf: 'alice@example.com',
    tools: ['billing.getInvoice', 'billing.createInvoice', 'plain.echo', 'ledger.lookup', 'ledger.resources', 'ledger.prompts', 'journal.post_entry'],
    ttlSeconds: 600,
  };

  const proxy = (credential: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) =>
    fetch(`${server.url}/proxy${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${credential}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  async function connect(credential: string): Promise<Client> {
    const client = new Client({ name: 'txn-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
    clients.push(client);
    return client;
  }

  /** A JSON-RPC call straight to the MCP upstream, past the gateway. */
  const direct = (headers: Record<string, string>) =>
    fetch(mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'lookup', arguments: { account: 'acme' } } }),
    });

  verifies('provenance:txn-token-http', 'A REST upstream receives, on each allowed request, a token naming the decision, the principal, the action and the task; the agent cannot supply one; an API without the setting gets none', async () => {
    const granted = await grantTask(server.url, 'report-bot', mandate);
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const got = await proxy(granted.credential, '/billing/invoices/7');
    const body = (await got.json()) as { claims: TransactionTokenClaims };
    assert.equal(got.status, 200, JSON.stringify(body));
    const { claims } = body;
    assert.equal(claims.txn, got.headers.get('mandate-decision-id'), 'txn is the decision id');
    assert.equal(claims.sub, 'alice@example.com');
    assert.equal(claims.scope, 'billing.getInvoice');
    assert.deepEqual(claims.aud, [TRUST_DOMAIN, `${restUrl}/billing`]);
    assert.equal(claims.req_wl, `spiffe://${TRUST_DOMAIN}/mandate/gateway/http`);
    assert.equal(claims.exp - claims.iat, 60);
    assert.deepEqual(
      { purpose: claims.tctx.purpose, task: claims.tctx.task_id, agent: claims.tctx.agent, decision: claims.tctx.decision_id, depth: claims.tctx.delegation_depth },
      { purpose: mandate.purpose, task: granted.taskId, agent: `spiffe://${TRUST_DOMAIN}/agent/report-bot`, decision: claims.txn, depth: 0 },
    );
    assert.equal(typeof claims.tctx.policy_version, 'number');

    // The agent's own Txn-Token is dropped: the upstream sees the gateway's, for this decision.
    const posted = await proxy(granted.credential, '/billing/invoices', { method: 'POST', body: { amount: 40 }, headers: { 'txn-token': 'eyJhbGciOiJub25lIn0.e30.' } });
    const postedBody = (await posted.json()) as { claims: TransactionTokenClaims };
    assert.equal(posted.status, 200, JSON.stringify(postedBody));
    assert.equal(postedBody.claims.txn, posted.headers.get('mandate-decision-id'));
    assert.equal(postedBody.claims.scope, 'billing.createInvoice');
    const plain = await proxy(granted.credential, '/plain/echo', { headers: { 'txn-token': 'from-the-agent' } });
    assert.deepEqual(await plain.json(), { txnToken: null }, 'off by default, and never the agent\'s');

    // The decision record of the trail carries the same id: the txn needs no field of its own.
    const trail = await api(server.url, `/v1/audit?task=${granted.taskId}&type=decision,tool.result&limit=1000`, { method: 'GET', token: ADMIN_TOKEN });
    assert.equal(trail.status, 200, trail.text);
    const named = (trail.body.events as { type: string; data: { decisionId?: string } }[]).filter((e) => e.data.decisionId === claims.txn).map((e) => e.type);
    assert.deepEqual(named.sort(), ['decision', 'tool.result']);
    assert.deepEqual(refusals, []);
  });

  verifies('provenance:txn-token-mcp', 'An HTTP MCP upstream receives a token in the Txn-Token header on each allowed tools/call, resources/read and prompts/get, a stdio upstream in the request\'s _meta; each names its decision', async () => {
    const granted = await grantTask(server.url, 'report-bot', mandate);
    const client = await connect(granted.credential);
    const called = await client.callTool({ name: 'ledger_lookup', arguments: { account: 'acme' } });
    assert.ok(!called.isError, text(called));
    const callClaims = JSON.parse(text(called)) as TransactionTokenClaims;
    assert.equal(callClaims.txn, (called as TextResult)._meta?.['mandate/decision']?.id);
    assert.equal(callClaims.scope, 'ledger.lookup');
    assert.deepEqual(callClaims.aud, [TRUST_DOMAIN, mcpUrl]);
    assert.equal(callClaims.req_wl, `spiffe://${TRUST_DOMAIN}/mandate/gateway/mcp`);
    assert.equal(callClaims.tctx.task_id, granted.taskId);

    const read = await client.readResource({ uri: 'ledger://summary' });
    assert.equal((JSON.parse((read.contents[0] as { text: string }).text) as TransactionTokenClaims).scope, 'ledger.resources');
    const prompt = await client.getPrompt({ name: 'ledger_review' });
    const promptClaims = JSON.parse((prompt.messages[0]!.content as { text: string }).text) as TransactionTokenClaims;
    assert.equal(promptClaims.scope, 'ledger.prompts');
    assert.notEqual(promptClaims.txn, callClaims.txn, 'one token per decided call');

    // Stdio has no headers: the token is in `_meta["mandate/txn-token"]`, for the upstream's name.
    const posted = await client.callTool({ name: 'journal_post_entry', arguments: { amount: 12 } });
    assert.ok(!posted.isError, text(posted));
    const stdioClaims = await verifyTransactionToken(text(posted), { jwksUrl: `${server.url}/v1/jwks.json`, audience: 'journal', trustDomain: TRUST_DOMAIN });
    assert.equal(stdioClaims.txn, (posted as TextResult)._meta?.['mandate/decision']?.id);
    assert.equal(stdioClaims.scope, 'journal.post_entry');
    assert.equal(stdioClaims.exp - stdioClaims.iat, 30);
    assert.deepEqual(refusals, []);
  });

  verifies('provenance:txn-token-verifier', 'With the SDK verifier and the control plane\'s JWKS, a service refuses a call that skipped the gateway: no token, a forged or altered one, or one replayed from another upstream; tokens signed after a key rotation verify', async () => {
    const granted = await grantTask(server.url, 'report-bot', mandate);
    const got = (await (await proxy(granted.credential, '/billing/invoices/7')).json()) as { token: string };
    refusals.length = 0;

    const status = async (res: Promise<Response>) => (await res).status;
    assert.equal(await status(direct({})), 401);
    assert.equal(await status(fetch(`${restUrl}/billing/invoices/7`)), 401);
    const { privateKey } = await jose.generateKeyPair('ES256');
    const kid = jose.decodeProtectedHeader(got.token).kid!;
    const forged = await new jose.SignJWT(jose.decodeJwt(got.token)).setProtectedHeader({ alg: 'ES256', typ: 'txntoken+jwt', kid }).sign(privateKey);
    assert.equal(await status(direct({ 'txn-token': forged })), 401);
    const [h, , sig] = got.token.split('.');
    const widened = Buffer.from(JSON.stringify({ ...jose.decodeJwt(got.token), scope: 'billing.createPayment' })).toString('base64url');
    assert.equal(await status(fetch(`${restUrl}/billing/invoices/7`, { headers: { 'txn-token': `${h}.${widened}.${sig}` } })), 401);
    // Captured at the billing API and replayed to the ledger: the audience is not the ledger's.
    assert.equal(await status(direct({ 'txn-token': got.token })), 401);
    assert.deepEqual(refusals, ['mcp:missing', 'rest:missing', 'mcp:bad_signature', 'rest:bad_signature', 'mcp:wrong_audience']);

    // After a rotation the gateway signs with the new key; the services read the JWKS again for it.
    assert.equal((await api(server.url, '/v1/keys/rotate', { token: ADMIN_TOKEN, body: {} })).status, 200);
    await new Promise((r) => setTimeout(r, 1_100)); // past the verifier's re-read interval for an unseen key
    const after = await proxy(granted.credential, '/billing/invoices/7');
    assert.equal(after.status, 200);
    const afterToken = ((await after.json()) as { token: string }).token;
    assert.notEqual(jose.decodeProtectedHeader(afterToken).kid, kid);
    assert.equal(refusals.length, 5, 'nothing the gateway sent was refused');
  });

  verifies('provenance:mandate-document', 'A service holding a transaction token reads the task\'s mandate as a signed document and checks it with the SDK; the agent reads its own; another task\'s token or credential, a forged token and an altered document are refused', async () => {
    const granted = await grantTask(server.url, 'report-bot', mandate);
    const { token } = (await (await proxy(granted.credential, '/billing/invoices/7')).json()) as { token: string };
    const read = (headers: Record<string, string>, taskId = granted.taskId) => fetch(`${server.url}/v1/tasks/${taskId}/mandate`, { headers });

    // The service that received the call asks the control plane with the token it was given.
    const res = await read({ 'txn-token': token });
    assert.equal(res.status, 200, await res.clone().text());
    const { document, taskId } = (await res.json()) as { document: string; taskId: string };
    assert.equal(taskId, granted.taskId);
    assert.equal(jose.decodeProtectedHeader(document).typ, 'mandate+jwt');
    const claims = await verifyMandateDocument(document, { jwksUrl: `${server.url}/v1/jwks.json`, trustDomain: TRUST_DOMAIN });
    assert.deepEqual([claims.jti, claims.sub, claims.principal, claims.mandate.purpose], [granted.taskId, `spiffe://${TRUST_DOMAIN}/agent/report-bot`, 'alice@example.com', mandate.purpose]);
    for (const tool of mandate.tools) assert.ok(JSON.stringify(claims.mandate.tools).includes(`"${tool}"`), tool);
    assert.equal(claims.iss, `spiffe://${TRUST_DOMAIN}/mandate`);

    // The agent reads its own with its credential; a viewer with the admin token.
    assert.equal((await read({ authorization: `Bearer ${granted.credential}` })).status, 200);
    assert.equal((await read({ authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200);

    // Refused: nothing, another task's credential or token, a token signed by another key.
    const other = await grantTask(server.url, 'report-bot', mandate);
    const otherToken = ((await (await proxy(other.credential, '/billing/invoices/7')).json()) as { token: string }).token;
    const { privateKey } = await jose.generateKeyPair('ES256');
    const forged = await new jose.SignJWT(jose.decodeJwt(token)).setProtectedHeader({ alg: 'ES256', typ: 'txntoken+jwt', kid: jose.decodeProtectedHeader(token).kid! }).sign(privateKey);
    const refusedHeaders: Record<string, string>[] = [{}, { authorization: `Bearer ${other.credential}` }, { 'txn-token': otherToken }, { 'txn-token': forged }];
    for (const headers of refusedHeaders) {
      const refused = await read(headers);
      assert.equal(refused.status, 401, JSON.stringify(headers).slice(0, 40));
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'request.unauthorized');
    }

    // A mandate widened on its way downstream no longer verifies.
    const [h, , sig] = document.split('.');
    const widened = Buffer.from(JSON.stringify({ ...jose.decodeJwt(document), mandate: { ...claims.mandate, tools: [...(claims.mandate.tools as unknown[]), 'payments.create'] } })).toString('base64url');
    await assert.rejects(verifyMandateDocument(`${h}.${widened}.${sig}`, { jwksUrl: `${server.url}/v1/jwks.json`, trustDomain: TRUST_DOMAIN }), (e: unknown) => e instanceof TransactionTokenError && e.code === 'bad_signature');
    await assert.rejects(verifyMandateDocument(document, { jwksUrl: `${server.url}/v1/jwks.json`, trustDomain: 'elsewhere.internal' }), (e: unknown) => e instanceof TransactionTokenError && e.code === 'wrong_audience');
  });
});
