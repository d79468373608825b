import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import * as Api from '../../src/server/api-schemas.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, grantTask, http, startTestServer } from '../helpers.js';

/** Parses a real response with its schema; nothing may be missing, mistyped, or left undescribed (parsing would drop it). */
function conforms(schema: z.ZodType, body: unknown, what: string): void {
  const parsed = schema.safeParse(body);
  assert.ok(parsed.success, `${what}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`);
  assert.deepEqual(parsed.data, body, `${what}: fields the schema does not describe`);
}

describe('the /v1 API: success responses and their schemas', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ MANDATE_MONITOR_DENIALS_PER_MINUTE: '1000' });
    base = server.url;
  });
  after(async () => server.close());

  it('the OpenAPI document gives a success response schema for every route', async () => {
    const doc = (await http(base, '/v1/openapi.json')).body as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
    const missing: string[] = [];
    let routes = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        routes++;
        const ok = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
        if (ok.length === 0 || ok.some(([, r]) => !r.content?.['application/json']?.schema)) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.ok(routes >= 30, `${routes} documented routes`);
    assert.deepEqual(missing, []);
  });

  it('real responses parse with their schemas', async () => {
    conforms(Api.Health, (await http(base, '/healthz')).body, 'healthz');
    conforms(Api.Readiness, (await http(base, '/readyz')).body, 'readyz');
    conforms(Api.TrustBundle, (await http(base, '/v1/bundle')).body, 'bundle');

    const agent = await http(base, '/v1/agents', { token: ADMIN_TOKEN, body: { name: 'schema-bot', groups: ['reporting'] } });
    assert.equal(agent.status, 201);
    conforms(Api.AgentView, agent.body, 'POST /v1/agents');
    conforms(Api.AgentList, (await http(base, '/v1/agents', { token: ADMIN_TOKEN })).body, 'GET /v1/agents');
    const token = await http(base, '/v1/agents/report-bot/join-tokens', { token: ADMIN_TOKEN, body: {} });
    conforms(Api.JoinToken, token.body, 'join token');
    conforms(Api.Svid, (await http(base, '/v1/attest/join-token', { body: { token: token.body.token } })).body, 'attest');

    const mandate = { purpose: 'check the response schemas', tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }, 'payments.create'], ttlSeconds: 300 };
    const granted = await grantTask(base, 'report-bot', mandate);
    assert.equal(granted.status, 201);
    conforms(Api.DeclaredTask, granted.body, 'POST /v1/tasks');
    const decide = async (tool: string, args: unknown) => (await http(base, '/v1/decide', { body: { credential: granted.credential, tool, args } })).body;
    const allow = await decide('files.read', { path: '/srv/reports/q3.csv' });
    const deny = await decide('files.read', { path: '/etc/shadow' });
    const stepUp = await decide('payments.create', { amount: 10 });
    assert.deepEqual([allow.outcome, deny.outcome, stepUp.outcome], ['allow', 'deny', 'step_up']);
    for (const d of [allow, deny, stepUp]) conforms(Api.Decision, d, `decision ${d.outcome}`);
    conforms(Api.DecisionList, (await http(base, `/v1/decisions?task=${granted.taskId}`, { token: ADMIN_TOKEN })).body, 'decisions');
    conforms(Api.TaskView, (await http(base, `/v1/tasks/${granted.taskId}`, { token: ADMIN_TOKEN })).body, 'GET /v1/tasks/:id');
    conforms(Api.TaskList, (await http(base, '/v1/tasks', { token: ADMIN_TOKEN })).body, 'GET /v1/tasks');

    const approver = await http(base, '/v1/approvers', { token: ADMIN_TOKEN, body: { id: 'alice', groups: ['approvers'] } });
    conforms(Api.RegisteredApprover, approver.body, 'approver');
    conforms(Api.ApprovalList, (await http(base, '/v1/approvals', { token: ADMIN_TOKEN })).body, 'GET /v1/approvals');
    conforms(Api.ApprovalView, (await http(base, `/v1/approvals/${stepUp.approvalId}`, { token: granted.credential })).body, 'GET /v1/approvals/:id');
    const approved = await http(base, `/v1/approvals/${stepUp.approvalId}/approve`, { token: approver.body.token, body: { reason: 'checked' } });
    assert.equal(approved.body.status, 'approved');
    conforms(Api.ApprovalView, approved.body, 'approve');

    const revoked = await http(base, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: granted.taskId } });
    assert.equal(revoked.status, 201);
    conforms(Api.Revocation, revoked.body, 'revocation');
    conforms(Api.ChainVerification, (await http(base, '/v1/audit/verify', { token: ADMIN_TOKEN })).body, 'audit verify');
  });
});
