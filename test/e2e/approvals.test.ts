import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import YAML from 'yaml';
import { skewableClock } from '../../src/core/index.js';
import { AgentClient } from '../../src/sdk/index.js';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http, until as waitUntil } from '../helpers.js';
import { verifies } from './verifies.js';

const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const WEBHOOK_SECRET = 'whsec-test-0123456789';
type Meta = { 'mandate/decision'?: { outcome: string; code: string; approvalId: string | null; pollUrl?: string } };
const text = (r: unknown) => (r as { content: { text?: string }[] }).content.map((c) => c.text ?? '').join('');
const decisionOf = (r: unknown) => (r as { _meta?: Meta })._meta?.['mandate/decision'];

/** The shared bounded wait, with this file's deadline and polling interval. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000) => waitUntil(what, probe, timeoutMs, 50);

describe('step-up approvals through the real MCP gateway', () => {
  let server: RunningServer;
  let dir: string;
  let receiver: Server;
  const hooks: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let failing = false;
  const clock = skewableClock();
  let alice = '';
  let bob = '';
  const clients: Client[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(failing ? 503 : 204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    dir = mkdtempSync(join(tmpdir(), 'mandate-approvals-'));
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    // A payment tool: the example policies step every payment up to a human.
    config.upstreams = { pay: { transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'], tools: { echo: { kind: 'payment', risk: 'high' } } } };
    config.approvals = {
      approvers: ['group:approvers'],
      expirySeconds: 600,
      webhook: { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, secret: WEBHOOK_SECRET, attempts: 3, backoffMs: 20 },
    };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(
      loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'k'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' }),
      { clock },
    );
    alice = (await http(server.url, '/v1/approvers', { token: ADMIN_TOKEN, body: { id: 'alice', groups: ['approvers'] } })).body.token;
    bob = (await http(server.url, '/v1/approvers', { token: ADMIN_TOKEN, body: { id: 'bob', groups: ['interns'] } })).body.token;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.close();
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function agent(mandate: Record<string, unknown> = {}): Promise<{ client: Client; credential: string; taskId: string }> {
    const { credential, taskId } = await grantTask(server.url, 'billing-bot', { purpose: 'pay the printing invoice', tools: ['pay.echo'], ttlSeconds: 3600, ...mandate });
    const client = new Client({ name: 'billing-bot', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
    clients.push(client);
    return { client, credential, taskId };
  }
  const pay = (client: Client, message: string, waitMs = 0) => client.callTool({ name: 'pay.echo', arguments: { message }, ...(waitMs ? { _meta: { 'mandate/wait_ms': waitMs } } : {}) });
  const pendingFor = (taskId: string) =>
    until('the approval request', async () => {
      const res = await http(server.url, `/v1/approvals?status=pending&task=${taskId}`, { token: alice });
      return res.body.approvals[0] as { id: string; args: Record<string, unknown>; tool: string } | undefined;
    });
  const decide = (id: string, verdict: 'approve' | 'deny', token = alice, reason = 'checked the invoice') => http(server.url, `/v1/approvals/${id}/${verdict}`, { token, body: { reason } });

  verifies('approvals:held-call-proceeds-once', 'a risky call waits, is approved through the API, and proceeds exactly once; the next identical call needs a new approval', async () => {
    const { client, taskId } = await agent();
    const held = pay(client, 'invoice 42', 10_000);
    const request = await pendingFor(taskId);
    assert.deepEqual([request.tool, request.args], ['pay.echo', { message: 'invoice 42' }]);
    assert.equal((await decide(request.id, 'approve')).body.status, 'approved');
    const result = await held;
    assert.equal(text(result), 'Echo: invoice 42', 'the upstream ran the call');
    assert.deepEqual([decisionOf(result)?.code, decisionOf(result)?.approvalId], ['approval.approved', request.id]);
    const again = await pay(client, 'invoice 42');
    assert.equal(decisionOf(again)?.outcome, 'step_up');
    assert.notEqual(decisionOf(again)?.approvalId, request.id, 'single use: a new request');
    assert.match(text(again), new RegExp(`poll ${server.url}/v1/approvals/apr_`));
    assert.equal((await decide(request.id, 'approve')).body.error.code, 'approval.not_pending', 'a consumed approval cannot be approved again');
  });

  verifies('approvals:bound-to-exact-call', 'changed arguments need their own approval', async () => {
    const { client, taskId } = await agent();
    await pay(client, 'pay 10 EUR');
    const request = await pendingFor(taskId);
    await decide(request.id, 'approve');
    const other = await pay(client, 'pay 10000 EUR');
    assert.equal(decisionOf(other)?.outcome, 'step_up', 'approving one call never approves another');
    assert.equal(text(await pay(client, 'pay 10 EUR')), 'Echo: pay 10 EUR', 'the approved call still goes through');
  });

  verifies('approvals:denial-denies-held-and-repeat', 'a denial denies the held call and the same call afterwards', async () => {
    const { client, taskId } = await agent();
    const held = pay(client, 'wire everything', 10_000);
    const request = await pendingFor(taskId);
    await decide(request.id, 'deny', alice, 'not on the approved vendor list');
    const result = await held;
    assert.deepEqual([decisionOf(result)?.outcome, decisionOf(result)?.code], ['deny', 'approval.denied']);
    assert.match(text(result), /not on the approved vendor list/);
    assert.equal(decisionOf(await pay(client, 'wire everything'))?.code, 'approval.denied');
  });

  verifies('approvals:expiry-denies-held', 'expiry denies the held call', async () => {
    const { client, taskId } = await agent();
    const held = pay(client, 'late payment', 8_000);
    const request = await pendingFor(taskId);
    clock.advance(11 * 60_000);
    try {
      const result = await held;
      assert.deepEqual([decisionOf(result)?.outcome, decisionOf(result)?.code], ['deny', 'approval.expired']);
      const late = await decide(request.id, 'approve');
      assert.deepEqual([late.status, late.body.error.code], [409, 'approval.not_pending'], 'an expired request cannot be approved');
      assert.match(late.body.error.message, /expired/);
    } finally {
      clock.advance(-11 * 60_000);
    }
  });

  verifies('approvals:approver-checks', 'refusals: a wrong token, an approver outside the group, separation of duties, an unknown request, no reason', async () => {
    const { client, taskId } = await agent({ onBehalfOf: 'alice' });
    await pay(client, 'for alice');
    const request = await pendingFor(taskId);
    assert.equal((await decide(request.id, 'approve', 'mapr_forged-token')).status, 401);
    const intern = await decide(request.id, 'approve', bob);
    assert.deepEqual([intern.status, intern.body.error.code], [403, 'approval.not_allowed']);
    const self = await decide(request.id, 'approve', alice);
    assert.deepEqual([self.status, self.body.error.code], [403, 'approval.not_allowed']);
    assert.match(self.body.error.message, /principal/);
    assert.equal((await decide('apr_doesnotexist', 'approve')).status, 404);
    const noReason = await http(server.url, `/v1/approvals/${request.id}/approve`, { token: alice, body: { reason: ' ' } });
    assert.deepEqual([noReason.status, noReason.body.error.code], [400, 'request.invalid']);
    await server.plane.audit.flush();
    const refused = (await server.plane.store.audit.list({ type: 'approval.refused', limit: 100 })).map((e) => e.data.code);
    assert.ok(refused.includes('approval.not_allowed'));
  });

  verifies('approvals:webhook-signed', 'the webhook is signed: the receiver verifies the HMAC of timestamp and body', async () => {
    const { client, taskId } = await agent();
    await pay(client, 'hooked');
    const request = await pendingFor(taskId);
    const hook = await until('the webhook', async () => hooks.find((h) => h.body.includes(request.id)));
    const timestamp = String(hook.headers['x-mandate-timestamp']);
    const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${hook.body}`).digest('hex')}`;
    assert.equal(hook.headers['x-mandate-signature'], expected);
    const payload = JSON.parse(hook.body) as { type: string; approval: { id: string; tool: string; args: unknown }; links: { approve: string } };
    assert.deepEqual([payload.type, payload.approval.tool, payload.approval.args], ['approval.requested', 'pay.echo', { message: 'hooked' }]);
    assert.equal(payload.links.approve, `${server.url}/v1/approvals/${request.id}/approve`);
  });

  verifies('approvals:webhook-retry-then-failed', 'a webhook endpoint that is down: retried, then marked failed; the request stays pending', async () => {
    failing = true;
    try {
      const { client, taskId } = await agent();
      const before = hooks.length;
      await pay(client, 'nobody listens');
      const request = await pendingFor(taskId);
      const failed = await until('the delivery to fail', async () => {
        const a = (await http(server.url, `/v1/approvals/${request.id}`, { token: alice })).body as { notify: string; status: string };
        return a.notify === 'failed' ? a : undefined;
      });
      assert.equal(failed.status, 'pending');
      assert.equal(hooks.filter((h) => h.body.includes(request.id)).length, 3, 'three attempts');
      assert.ok(hooks.length - before >= 3);
    } finally {
      failing = false;
    }
  });

  verifies('approvals:sdk-waits', 'the SDK waits for the approval and returns the allowed decision', async () => {
    const joinToken = (await http(server.url, '/v1/agents/billing-bot/join-tokens', { token: ADMIN_TOKEN, body: {} })).body.token;
    const sdk = await AgentClient.connect({ url: server.url, joinToken, now: () => clock.nowMs() });
    const task = await sdk.declare({ purpose: 'pay', tools: ['pay.echo'], ttlSeconds: 3600 });
    const pending = await task.authorize('pay.echo', { message: 'via sdk' });
    assert.equal(pending.outcome, 'step_up');
    assert.equal((await task.approval(pending.approvalId!)).status, 'pending', 'the agent reads its own request with its credential');
    const waiting = task.authorize('pay.echo', { message: 'via sdk' }, { waitMs: 10_000, pollMs: 50 });
    await decide(pending.approvalId!, 'approve');
    const allowed = await waiting;
    assert.deepEqual([allowed.outcome, allowed.reason.code, allowed.approvalId], ['allow', 'approval.approved', pending.approvalId]);
  });

  const pendingIds = async (taskId: string) => ((await http(server.url, `/v1/approvals?status=pending&task=${taskId}`, { token: alice })).body.approvals as { id: string }[]).map((a) => a.id);

  verifies('approvals:task-complete-cancels', 'completing a task cancels its pending request: no longer listed as pending, and it cannot be approved or denied', async () => {
    const { client, credential, taskId } = await agent();
    assert.equal(decisionOf(await pay(client, 'pay after the task is done'))?.outcome, 'step_up');
    const request = await pendingFor(taskId);
    assert.equal((await http(server.url, `/v1/tasks/${taskId}/complete`, { token: credential, body: { reason: 'done' } })).status, 200);
    assert.deepEqual(await pendingIds(taskId), [], '`approve list` shows it no more');
    const shown = (await http(server.url, `/v1/approvals/${request.id}`, { token: alice })).body;
    assert.deepEqual([shown.status, shown.decidedBy], ['cancelled', null]);
    const late = await decide(request.id, 'approve');
    assert.deepEqual([late.status, late.body.error.code], [409, 'approval.not_pending']);
    assert.match(late.body.error.message, /cancelled: its task `tsk_[\w-]+` is no longer active \(task completed: done\)/);
    assert.equal(shown.reason, 'task completed: done', 'the request says how its task ended');
    assert.equal((await decide(request.id, 'deny')).body.error.code, 'approval.not_pending', 'nor denied');
    await server.plane.audit.flush();
    const cancelled = (await server.plane.store.audit.list({ type: 'approval.cancelled', limit: 100 })).filter((e) => e.data.approvalId === request.id);
    assert.equal(cancelled.length, 1, 'audited once');
    assert.equal(cancelled[0]?.taskId, taskId);
  });

  verifies('approvals:task-revoke-cancels', 'revoking a task cancels its request and releases a call held for it, denied as revoked', async () => {
    const { client, taskId } = await agent();
    const held = pay(client, 'held while the task is revoked', 30_000);
    const request = await pendingFor(taskId);
    assert.equal((await http(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: taskId, reason: 'incident' } })).status, 201);
    const result = await held;
    assert.deepEqual([decisionOf(result)?.outcome, decisionOf(result)?.code], ['deny', 'credential.revoked']);
    const cancelled = (await http(server.url, `/v1/approvals/${request.id}`, { token: alice })).body;
    assert.deepEqual([cancelled.status, cancelled.reason], ['cancelled', 'task revoked: incident']);
    assert.equal((await decide(request.id, 'approve')).body.error.code, 'approval.not_pending');
  });

  verifies('approvals:task-ended-elsewhere-cancels', 'a request of a task that ended elsewhere (another replica, or past its expiry) is cancelled when listed or decided', async () => {
    const ended = await agent();
    await pay(ended.client, 'ended on another replica');
    const first = await pendingFor(ended.taskId);
    // What another replica does when it ends the task: the row changes, this replica is not told.
    await server.plane.store.tasks.end(ended.taskId as never, 'revoked', clock.nowMs(), 'ended elsewhere');
    assert.deepEqual(await pendingIds(ended.taskId), []);
    const elsewhere = (await http(server.url, `/v1/approvals/${first.id}`, { token: alice })).body;
    assert.deepEqual([elsewhere.status, elsewhere.reason], ['cancelled', 'task revoked: ended elsewhere']);

    const short = await agent({ ttlSeconds: 60 });
    await pay(short.client, 'outlived by its request');
    const second = await pendingFor(short.taskId);
    clock.advance(2 * 60_000); // past the task's expiry, well before the request's
    try {
      const late = await decide(second.id, 'approve');
      assert.deepEqual([late.status, late.body.error.code], [409, 'approval.not_pending']);
      assert.deepEqual(await pendingIds(short.taskId), []);
      assert.equal((await http(server.url, `/v1/approvals/${second.id}`, { token: alice })).body.reason, 'task expired', 'decided after its task expired: refused, then cancelled as expired');
    } finally {
      clock.advance(-2 * 60_000);
    }
  });

  verifies('approvals:audited', 'everything is audited: requested, notified, approved, consumed by which decision', async () => {
    await server.plane.audit.flush();
    const types = new Set((await server.plane.store.audit.list({ limit: 1000 })).map((e) => e.type));
    for (const t of ['approval.requested', 'approval.notified', 'approval.notify_failed', 'approval.approved', 'approval.denied', 'approval.expired', 'approval.cancelled', 'approval.consumed']) assert.ok(types.has(t as never), t);
    const consumed = (await server.plane.store.audit.list({ type: 'approval.consumed', limit: 1 }))[0];
    assert.match(String(consumed?.data.decisionId), /^dcn_/);
    assert.equal((await http(server.url, '/v1/audit/verify', { token: ADMIN_TOKEN })).body.ok, true);
  });
});
