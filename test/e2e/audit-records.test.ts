import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { AuditPage } from '../../src/server/api-schemas.js';
import type { ApiAuditPage, RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, grantTask, http, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

type AuditEvent = ApiAuditPage['events'][number];

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** Every event of `type` (and `query`), oldest first. */
async function events(server: RunningServer, type: string, query = ''): Promise<AuditEvent[]> {
  const res = await http(server.url, `/v1/audit?order=asc&limit=1000&type=${type}${query ? `&${query}` : ''}`, { token: ADMIN_TOKEN });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return AuditPage.parse(res.body).events;
}

async function decide(server: RunningServer, credential: string, tool: string, args: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ id: string; outcome: string }> {
  const res = await http(server.url, '/v1/decide', { body: { credential, tool, args }, headers });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { id: string; outcome: string };
}

const decisionOf = async (server: RunningServer, id: string): Promise<Record<string, unknown>> => {
  const found = (await events(server, 'decision')).find((e) => e.data.decisionId === id);
  assert.ok(found, `decision ${id} is in the trail`);
  return found.data;
};

/**
 * What each record holds on its own: who the task acts for, where it sits in a
 * delegation, what it declared, what was asked and decided, the trace it belongs
 * to; who asked for each admin action; and a record of every refusal.
 */
describe('audit records', () => {
  let server: RunningServer;
  let withValues: RunningServer;
  before(async () => {
    server = await startTestServer();
    withValues = await startTestServer({ MANDATE_AUDIT_ARGUMENTS: 'values' });
  });
  after(async () => {
    await server?.close();
    await withValues?.close();
  });

  verifies('audit:records-self-contained', 'a decision and a result carry the task, its principal and purpose, the action, the reason and the trace', async () => {
    const parent = await grantTask(server.url, 'report-bot', { purpose: 'compile the quarterly report', tools: ['files.read', 'email.send'], onBehalfOf: 'alice', ttlSeconds: 600 });
    const child = await grantTask(server.url, 'report-bot', { purpose: 'read one figure', tools: ['files.read'], parentTask: parent.taskId, ttlSeconds: 300 });
    assert.equal(child.status, 201, JSON.stringify(child.body));
    const allowed = await decide(server, child.credential, 'files.read', { path: '/srv/reports/q3.csv' }, { traceparent: TRACEPARENT });
    assert.equal(allowed.outcome, 'allow');
    const d = await decisionOf(server, allowed.id);
    assert.equal(d.principal, 'alice', 'a delegated task acts for its parent\'s principal');
    assert.equal(d.parentTaskId, parent.taskId);
    assert.equal(d.delegationDepth, 1);
    assert.equal(d.purpose, 'read one figure');
    assert.equal(d.action, 'read', 'the tool\'s kind, the Cedar action');
    assert.equal(d.tool, 'files.read');
    assert.equal(typeof d.message, 'string');
    assert.equal(d.traceId, TRACE_ID, 'the caller\'s traceparent');
    assert.ok(typeof d.decideUs === 'number' && d.decideUs >= 0, `decideUs: ${String(d.decideUs)}`);
    assert.equal(d.args, undefined, 'no argument value by default');
    assert.deepEqual(d.argNames, ['path']);
    assert.equal(JSON.stringify(d).includes('/srv/reports'), false, 'the value is nowhere in the record');

    // A refusal says why in words as well as by code; a request without a trace records none.
    const refused = await decide(server, parent.credential, 'files.delete', { path: '/srv/x' });
    const r = await decisionOf(server, refused.id);
    assert.equal(r.code, 'mandate.tool_not_declared');
    assert.match(String(r.message), /files\.delete/);
    assert.equal(r.traceId, null);
    assert.equal(r.delegationDepth, 0);

    // Target provenance is recorded with the decision, never the value.
    const send = await decide(server, parent.credential, 'email.send', { to: 'mallory@evil.example', subject: 'x', body: 'y' });
    const s = await decisionOf(server, send.id);
    assert.deepEqual(s.targets, [{ arg: 'to', provenance: 'unseen' }]);

    const reported = await http(server.url, `/v1/tasks/${child.taskId}/results`, { token: child.credential, headers: { traceparent: TRACEPARENT }, body: { tool: 'files.read', decisionId: allowed.id, status: 'ok', bytes: 10, durationMs: 42.5 } });
    assert.equal(reported.status, 202, JSON.stringify(reported.body));
    const result = (await events(server, 'tool.result', `task=${child.taskId}`)).at(-1)!;
    assert.equal(result.data.traceId, TRACE_ID);
    assert.equal(result.data.durationMs, 42.5);
  });

  verifies('audit:records-arguments', 'with `audit.arguments: values` the arguments are recorded, secrets masked', async () => {
    const task = await grantTask(withValues.url, 'report-bot', { purpose: 'send the report', tools: ['email.send'], ttlSeconds: 600 });
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const args = { to: 'bob@example.com', subject: 'q3', body: 'attached', headers: { Authorization: 'Bearer abcdefghijkl', 'x-trace': 'plain' }, apiKey: 'k-123', note: jwt };
    const decided = await decide(withValues, task.credential, 'email.send', args);
    const d = await decisionOf(withValues, decided.id);
    assert.deepEqual(d.args, { to: 'bob@example.com', subject: 'q3', body: 'attached', headers: { Authorization: '[redacted]', 'x-trace': 'plain' }, apiKey: '[redacted]', note: '[redacted]' });
    assert.equal(JSON.stringify(d).includes('k-123'), false);
    // Too large to keep: the hash stands for it.
    const big = await decide(withValues, task.credential, 'email.send', { to: 'bob@example.com', body: 'x'.repeat(20_000) });
    assert.match(String((await decisionOf(withValues, big.id)).args), /^\[omitted: \d+ bytes\]$/);
  });

  verifies('audit:records-actor', 'every admin action names who asked; a task completed by its own credential names the task', async () => {
    const admin = { token: ADMIN_TOKEN };
    assert.equal((await http(server.url, '/v1/agents', { ...admin, body: { name: 'actor-bot', attestation: { joinToken: true } } })).status, 201);
    assert.equal((await http(server.url, '/v1/agents/actor-bot/join-tokens', { ...admin, body: {} })).status, 201);
    assert.equal((await http(server.url, '/v1/approvers', { ...admin, body: { id: 'carol', groups: ['security'] } })).status, 201);
    assert.equal((await http(server.url, '/v1/secrets/actor-secret', { ...admin, method: 'PUT', body: { value: 's3cret-value' } })).status, 201);
    const own = await grantTask(server.url, 'report-bot', { purpose: 'finish by itself', tools: ['files.read'], ttlSeconds: 600 });
    assert.equal((await http(server.url, `/v1/tasks/${own.taskId}/complete`, { token: own.credential, body: {} })).status, 200);
    const ended = await grantTask(server.url, 'report-bot', { purpose: 'ended by an operator', tools: ['files.read'], ttlSeconds: 600 });
    assert.equal((await http(server.url, '/v1/revocations', { ...admin, body: { kind: 'task', subject: ended.taskId, reason: 'stop' } })).status, 201);

    const by = async (type: string, match: (e: AuditEvent) => boolean = () => true) => (await events(server, type)).filter(match).map((e) => e.data.by);
    assert.deepEqual(await by('agent.registered', (e) => e.data.name === 'actor-bot'), ['admin']);
    assert.ok((await by('join_token.created')).every((b) => b === 'admin'));
    assert.deepEqual(await by('approver.registered', (e) => e.data.approverId === 'carol'), ['admin']);
    assert.deepEqual(await by('secret.stored', (e) => e.data.name === 'actor-secret'), ['admin']);
    assert.deepEqual(await by('task.completed', (e) => e.taskId === own.taskId), [`task:${own.taskId}`]);
    assert.deepEqual(await by('revocation', (e) => e.taskId === own.taskId), [`task:${own.taskId}`]);
    assert.deepEqual(await by('revocation', (e) => e.taskId === ended.taskId), ['admin']);
    const registered = await events(server, 'approver.registered');
    assert.equal(JSON.stringify(registered).includes('mapr_'), false, 'never the approver\'s token');
  });

  verifies('audit:refused-credential-in-trail', 'a call with the credential of a completed task is in that task\'s trail, through the API and the MCP gateway; a forged one names no task', async () => {
    const revoked = await grantTask(server.url, 'report-bot', { purpose: 'read one figure', tools: ['files.read', 'fs.read_text_file'], ttlSeconds: 300 });
    assert.equal((await http(server.url, `/v1/tasks/${revoked.taskId}/complete`, { token: revoked.credential, body: { reason: 'done' } })).status, 200);
    const late = await decide(server, revoked.credential, 'files.read', { path: '/srv/reports/q3.csv' });
    assert.equal(late.outcome, 'deny');
    const mcp = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${revoked.credential}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'late', version: '1' } } }),
    });
    assert.equal(mcp.status, 401);
    const forged = await decide(server, `${revoked.credential.slice(0, -4)}AAAA`, 'files.read', { path: '/srv/reports/q3.csv' });

    const ofTask = await events(server, 'decision', `task=${revoked.taskId}`);
    assert.deepEqual(ofTask.filter((e) => e.data.decisionId === late.id).map((e) => [e.agentId !== null, e.data.code]), [[true, 'credential.revoked']]);
    const atGateway = await events(server, 'gateway.refused', `task=${revoked.taskId}`);
    assert.deepEqual(atGateway.map((e) => [e.data.gateway, e.data.code]), [['mcp', 'credential.revoked']]);
    const unattributed = (await events(server, 'decision')).find((e) => e.data.decisionId === forged.id);
    assert.deepEqual([unattributed?.taskId, unattributed?.data.code], [null, 'credential.invalid']);
  });

  verifies('audit:records-refusals', 'a mandate refused whole, a deregistered agent\'s attestation and a failed renewal are each recorded', async () => {
    const jt = await http(server.url, '/v1/agents/billing-bot/join-tokens', { token: ADMIN_TOKEN, body: {} });
    const svid = (await http(server.url, '/v1/attest/join-token', { body: { token: jt.body.token } })).body.svid as string;
    const before = (await events(server, 'task.refused')).length;
    assert.equal((await http(server.url, '/v1/tasks', { token: svid, body: { purpose: 'no tools at all', tools: 'files.read' } })).status, 400);
    assert.equal((await http(server.url, '/v1/tasks', { token: svid, body: { purpose: 'child of nothing', tools: ['files.read'], parentTask: 'tsk_doesnotexist0000' } })).status, 403);
    // A task id is no secret: naming another agent's task as parent would inherit its principal. That goes by token exchange.
    const others = await grantTask(server.url, 'report-bot', { purpose: 'act for alice', tools: ['files.read'], onBehalfOf: 'alice' });
    const adopted = await http(server.url, '/v1/tasks', { token: svid, body: { purpose: 'child of another agent\'s task', tools: ['files.read'], parentTask: others.taskId } });
    assert.deepEqual([adopted.status, adopted.body.error.code], [403, 'mandate.parent_invalid']);
    assert.match(adopted.body.error.message, /token exchange/);
    const refused = (await events(server, 'task.refused')).slice(before);
    assert.deepEqual(refused.map((e) => [e.data.purpose, (e.data.refused as { item: string; code: string }[]).map((r) => `${r.item}:${r.code}`)]), [
      ['no tools at all', ['mandate:mandate.invalid']],
      ['child of nothing', ['parentTask:mandate.parent_invalid']],
      ['child of another agent\'s task', ['parentTask:mandate.parent_invalid']],
    ]);
    assert.ok(refused.every((e) => e.agentId !== null));

    // A deregistered agent's join token, and a renewal with a forged SVID.
    assert.equal((await http(server.url, '/v1/agents', { token: ADMIN_TOKEN, body: { name: 'leaving-bot', attestation: { joinToken: true } } })).status, 201);
    const leaving = await http(server.url, '/v1/agents/leaving-bot/join-tokens', { token: ADMIN_TOKEN, body: {} });
    const agentId = (await events(server, 'agent.registered')).find((e) => e.data.name === 'leaving-bot')!.agentId;
    assert.equal((await http(server.url, '/v1/agents/leaving-bot', { token: ADMIN_TOKEN, method: 'DELETE' })).status, 200);
    assert.equal((await http(server.url, '/v1/attest/join-token', { body: { token: leaving.body.token } })).status, 403);
    assert.notEqual((await http(server.url, '/v1/attest/renew', { token: `${svid.slice(0, -4)}AAAA`, body: {} })).status, 200);
    const failed = await events(server, 'attestation.failed');
    assert.ok(failed.some((e) => e.agentId === agentId && e.data.method === 'join_token' && e.data.code === 'identity.agent_disabled'), JSON.stringify(failed));
    assert.ok(failed.some((e) => e.data.method === 'renewal' && e.data.code === 'identity.svid_invalid'), JSON.stringify(failed));
  });
});
