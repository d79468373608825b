import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import type { z } from 'zod';
import * as Api from '../../src/server/api-schemas.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, grantTask, http, startTestServer } from '../helpers.js';

const MANDATE = {
  purpose: 'summarise last quarter reports',
  tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }, 'files.write', 'payments.create'],
  limits: { maxCalls: 5 },
  ttlSeconds: 300,
};

/** Parses a real response with its schema; nothing may be missing, mistyped, or left undescribed (parsing would drop it). */
function conforms(schema: z.ZodType, body: unknown, what: string): void {
  const parsed = schema.safeParse(body);
  assert.ok(parsed.success, `${what}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`);
  assert.deepEqual(parsed.data, body, `${what}: fields the schema does not describe`);
}

describe('control-plane API over HTTP', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    // These tests deny on purpose, many times a minute; drift responses are tested in test/e2e/monitor.test.ts.
    server = await startTestServer({ MANDATE_MONITOR_DENIALS_PER_MINUTE: '1000' });
    base = server.url;
  });
  after(async () => server.close());

  it('health, OpenAPI document, JWKS and SPIFFE bundle', async () => {
    const health = await http(base, '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    assert.ok(health.body.policyVersion >= 1);
    const doc = await http(base, '/v1/openapi.json');
    assert.equal(doc.body.openapi, '3.1.0');
    for (const path of ['/v1/agents', '/v1/tasks', '/v1/decide', '/v1/attest/join-token', '/v1/attest/oidc', '/v1/revocations', '/v1/tasks/{id}/complete', '/v1/decisions']) {
      assert.ok(doc.body.paths[path], `${path} documented`);
    }
    assert.ok(doc.body.paths['/v1/decide'].post.requestBody, 'request schema documented');
    const jwks = await http(base, '/v1/jwks.json');
    assert.equal(jwks.body.keys[0].alg, 'ES256');
    assert.equal(jwks.body.keys[0].d, undefined, 'no private part');
    const bundle = await http(base, '/v1/bundle');
    assert.equal(bundle.body.keys[0].use, 'jwt-svid');
    assert.equal(bundle.body.trust_domain, 'example.internal');
  });

  it('the full path: attest, declare, decide allow, deny, step_up, complete, revoked', async () => {
    const { taskId, credential, status } = await grantTask(base, 'report-bot', MANDATE);
    assert.equal(status, 201);
    const decide = (tool: string, args: unknown) => http(base, '/v1/decide', { body: { credential, tool, args } });
    const allow = await decide('files.read', { path: '/srv/reports/q3.csv' });
    assert.deepEqual([allow.status, allow.body.outcome, allow.body.reason.code, allow.body.callCount], [200, 'allow', 'policy.permit', 1]);
    assert.deepEqual(allow.body.policies, ['agents-call-tools']);
    assert.ok(allow.body.policyVersion >= 1);
    const notDeclared = await decide('email.send', {});
    assert.deepEqual([notDeclared.body.outcome, notDeclared.body.reason.code, notDeclared.body.layer], ['deny', 'mandate.tool_not_declared', 'mandate']);
    const arg = await decide('files.read', { path: '/etc/shadow' });
    assert.deepEqual([arg.body.reason.code, arg.body.layer], ['mandate.arg_constraint', 'mandate']);
    const forbid = await decide('files.write', { path: '/etc/passwd' });
    assert.deepEqual([forbid.body.outcome, forbid.body.reason.code, forbid.body.layer, forbid.body.policies], ['deny', 'policy.forbid', 'policy', ['forbid-write-system-config']]);
    const stepUp = await decide('payments.create', { amount: 10 });
    assert.deepEqual([stepUp.body.outcome, stepUp.body.reason.code, stepUp.body.stepUp], ['step_up', 'policy.step_up', ['human']]);

    const tasks = await http(base, `/v1/tasks?agent=report-bot&status=active`, { token: ADMIN_TOKEN });
    assert.ok(tasks.body.tasks.some((t: { id: string }) => t.id === taskId));
    const decisions = await http(base, `/v1/decisions?task=${taskId}`, { token: ADMIN_TOKEN });
    assert.deepEqual(decisions.body.decisions.map((d: { code: string }) => d.code).reverse(), ['policy.permit', 'mandate.tool_not_declared', 'mandate.arg_constraint', 'policy.forbid', 'policy.step_up']);
    assert.equal(JSON.stringify(decisions.body).includes('/etc/shadow'), false, 'argument values are not kept in the trail');

    const done = await http(base, `/v1/tasks/${taskId}/complete`, { token: credential, body: {} });
    assert.equal(done.body.status, 'completed');
    const after = await decide('files.read', { path: '/srv/reports/q3.csv' });
    assert.deepEqual([after.body.outcome, after.body.reason.code], ['deny', 'credential.revoked']);
  });

  it('limits: maxCalls is exact under concurrency', async () => {
    const { credential } = await grantTask(base, 'report-bot', { ...MANDATE, limits: { maxCalls: 3 } });
    const results = await Promise.all(Array.from({ length: 8 }, () => http(base, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/reports/a' } } })));
    const outcomes = results.map((r) => r.body.reason.code);
    assert.equal(outcomes.filter((c) => c === 'policy.permit').length, 3);
    assert.equal(outcomes.filter((c) => c === 'mandate.limit_exceeded').length, 5);
  });

  it('maxCallsPerMinute denies the burst', async () => {
    const { credential } = await grantTask(base, 'report-bot', { ...MANDATE, limits: { maxCallsPerMinute: 2 } });
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) codes.push((await http(base, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/reports/a' } } })).body.reason.code);
    assert.deepEqual(codes, ['policy.permit', 'policy.permit', 'mandate.limit_exceeded']);
  });

  it('a mandate the ceiling forbids is refused at grant time with a reason per item', async () => {
    const res = await grantTask(base, 'report-bot', { purpose: 'p', tools: ['files.read', 'shell.exec', 'nosuch.tool'] });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'mandate.refused');
    assert.deepEqual(
      res.body.error.refused.map((r: { item: string; code: string }) => [r.item, r.code]),
      [
        ['tools.shell.exec', 'policy.forbid'],
        ['tools.nosuch.tool', 'mandate.tool_unknown'],
      ],
    );
  });

  it('a tool registered with effects and tags keeps them; a tool whose effect is forbidden outright is refused at grant time', async () => {
    const put = await http(base, '/v1/tools/mail.notify', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'write', effects: ['send'], tags: ['mail'] } });
    assert.equal(put.status, 200);
    assert.deepEqual([put.body.effects, put.body.tags, put.body.labels], [['send'], ['mail'], []]);
    const { credential, status } = await grantTask(base, 'report-bot', { purpose: 'p', tools: ['mail.notify'] });
    assert.equal(status, 201);
    assert.equal((await http(base, '/v1/decide', { body: { credential, tool: 'mail.notify', args: {} } })).body.reason.code, 'policy.permit');
    assert.equal((await http(base, '/v1/tools/shell.notify', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'write', effects: ['execute'] } })).status, 200);
    const refused = await grantTask(base, 'report-bot', { purpose: 'p', tools: ['shell.notify'] });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body.error.refused.map((r: { item: string; code: string }) => [r.item, r.code]), [['tools.shell.notify', 'policy.forbid']]);
    assert.equal((await http(base, '/v1/tools/mail.other', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'read', effects: ['egress'] } })).body.error.code, 'request.invalid');
  });

  it('a constraint the tool parameters cannot meet is refused at grant time; one they can is decided per call', async () => {
    const params = { to: { type: 'array', items: { type: 'string' } }, payment: { type: 'object', properties: { iban: { type: 'string' } } } };
    const put = await http(base, '/v1/tools/mail.invite', { method: 'PUT', token: ADMIN_TOKEN, body: { kind: 'read', params } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.params, params);
    const refused = await grantTask(base, 'report-bot', { purpose: 'p', tools: [{ name: 'mail.invite', args: { to: { oneOf: ['a@x.com'] }, 'payment.bic': { equals: 'X' } } }] });
    assert.equal(refused.status, 403);
    assert.deepEqual(
      refused.body.error.refused.map((r: { item: string; code: string; reason: string }) => [r.item, r.code, r.reason]),
      [
        ['tools.mail.invite.args.to', 'mandate.arg_constraint', 'argument `to` of `mail.invite`: `oneOf` cannot apply to an array (use `each` or `subsetOf` for a list)'],
        ['tools.mail.invite.args.payment.bic', 'mandate.arg_constraint', 'argument `payment.bic` of `mail.invite`: the tool has no argument `payment.bic`'],
      ],
    );
    const { credential, status } = await grantTask(base, 'report-bot', { purpose: 'p', tools: [{ name: 'mail.invite', args: { to: { each: { oneOf: ['a@x.com', 'b@x.com'] } }, 'payment.iban': { prefix: 'DE', optional: true } } }] });
    assert.equal(status, 201);
    const decide = async (args: unknown) => (await http(base, '/v1/decide', { body: { credential, tool: 'mail.invite', args } })).body.reason.code;
    assert.equal(await decide({ to: ['a@x.com', 'b@x.com'] }), 'policy.permit');
    assert.equal(await decide({ to: ['a@x.com', 'eve@evil.io'] }), 'mandate.arg_constraint');
    assert.equal(await decide({ to: ['a@x.com'], payment: { iban: 'GB00' } }), 'mandate.arg_constraint');
  });

  it('revocation by agent and by principal ends tasks and cuts credentials on the next call', async () => {
    const a = await grantTask(base, 'billing-bot', { ...MANDATE, onBehalfOf: 'alice' });
    const b = await grantTask(base, 'report-bot', { ...MANDATE, onBehalfOf: 'alice' });
    const c = await grantTask(base, 'report-bot', { ...MANDATE, onBehalfOf: 'bob' });
    const byPrincipal = await http(base, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'principal', subject: 'alice', reason: 'left the company' } });
    assert.equal(byPrincipal.status, 201);
    assert.equal(byPrincipal.body.tasksEnded, 2);
    const call = (cred: string) => http(base, '/v1/decide', { body: { credential: cred, tool: 'files.read', args: { path: '/srv/reports/x' } } }).then((r) => r.body.reason.code);
    assert.deepEqual([await call(a.credential), await call(b.credential), await call(c.credential)], ['credential.revoked', 'credential.revoked', 'policy.permit']);
    await http(base, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'agent', subject: 'report-bot' } });
    assert.equal(await call(c.credential), 'credential.revoked');
    // A task granted after the agent revocation works again: revocation cuts what existed, not the agent forever.
    const fresh = await grantTask(base, 'report-bot', MANDATE);
    assert.equal(await call(fresh.credential), 'policy.permit');
  });

  it('revoking a parent task revokes its children', async () => {
    const parent = await grantTask(base, 'report-bot', MANDATE);
    // A child keeps its parent's constraint and limit: dropping them would widen the delegation.
    const wider = await grantTask(base, 'report-bot', { purpose: 'sub step', tools: ['files.read'], parentTask: parent.taskId });
    assert.equal(wider.status, 403);
    assert.deepEqual(wider.body.error.refused.map((r: { item: string; code: string }) => `${r.item}:${r.code}`), ['tools.files.read.args.path:mandate.delegation_widens', 'limits.maxCalls:mandate.delegation_widens']);
    const child = await grantTask(base, 'report-bot', { purpose: 'sub step', tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/q3/' } } }], limits: { maxCalls: 2 }, parentTask: parent.taskId });
    assert.equal(child.status, 201, JSON.stringify(child.body));
    await http(base, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: parent.taskId } });
    const res = await http(base, '/v1/decide', { body: { credential: child.credential, tool: 'files.read', args: {} } });
    assert.equal(res.body.reason.code, 'credential.revoked');
    assert.equal((await http(base, `/v1/tasks/${child.taskId}`, { token: ADMIN_TOKEN })).body.status, 'revoked');
  });

  describe('bad input: a clear 4xx naming the problem, never a 500 and never an allow', () => {
    let credential = '';
    let svid = '';
    before(async () => {
      const granted = await grantTask(base, 'report-bot', MANDATE);
      credential = granted.credential;
      svid = granted.svid;
    });

    const cases: [string, () => Promise<{ status: number; body: any }>, number, string, string?][] = [
      ['malformed JSON', () => http(base, '/v1/decide', { rawBody: '{"credential": ' }), 400, 'request.invalid', 'not valid JSON'],
      ['unknown field', () => http(base, '/v1/decide', { body: { credential: 'x', tool: 'a.b', args: {}, admin: true } }), 400, 'request.invalid', '`admin`'],
      ['wrong type', () => http(base, '/v1/decide', { body: { credential: 'x', tool: 5, args: {} } }), 400, 'request.invalid', 'tool'],
      ['args not an object', () => http(base, '/v1/decide', { body: { credential: 'x', tool: 'a.b', args: [1] } }), 400, 'request.invalid', 'args'],
      ['oversized body', () => http(base, '/v1/decide', { body: { credential: 'x', tool: 'a.b', args: { blob: 'x'.repeat(70_000) } } }), 413, 'request.too_large'],
      ['wrong content type', () => http(base, '/v1/decide', { rawBody: 'credential=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'request.invalid'],
      ['unknown route', () => http(base, '/v1/nothing'), 404, 'request.not_found'],
      ['admin endpoint without token', () => http(base, '/v1/agents'), 401, 'request.unauthorized'],
      ['admin endpoint with a wrong token', () => http(base, '/v1/agents', { token: 'wrong-token-123' }), 401, 'request.unauthorized'],
      ['declare without an SVID', () => http(base, '/v1/tasks', { body: MANDATE }), 401, 'request.unauthorized'],
      ['declare with a task credential instead of an SVID', () => http(base, '/v1/tasks', { token: credential, body: MANDATE }), 401, 'identity.svid_invalid'],
      ['mandate with an unknown field', () => http(base, '/v1/tasks', { token: svid, body: { ...MANDATE, scope: 'all' } }), 400, 'mandate.invalid', '`scope`'],
      ['mandate with a wrong type', () => http(base, '/v1/tasks', { token: svid, body: { ...MANDATE, ttlSeconds: 'long' } }), 400, 'mandate.invalid', 'ttlSeconds'],
      ['mandate with an unknown tool', () => http(base, '/v1/tasks', { token: svid, body: { purpose: 'p', tools: ['ghost.tool'] } }), 403, 'mandate.refused', 'ghost.tool'],
      ['used join token', async () => {
        const jt = await http(base, '/v1/agents/report-bot/join-tokens', { token: ADMIN_TOKEN, body: {} });
        await http(base, '/v1/attest/join-token', { body: { token: jt.body.token } });
        return http(base, '/v1/attest/join-token', { body: { token: jt.body.token } });
      }, 401, 'identity.join_token_invalid'],
      ['OIDC token from an untrusted issuer', async () => {
        const { privateKey } = await jose.generateKeyPair('ES256');
        const t = await new jose.SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer('https://evil.example').setSubject('x').setAudience('mandate').setExpirationTime('5m').sign(privateKey);
        return http(base, '/v1/attest/oidc', { body: { token: t } });
      }, 401, 'identity.oidc_untrusted'],
      ['register an agent with a bad name', () => http(base, '/v1/agents', { token: ADMIN_TOKEN, body: { name: '../root' } }), 400, 'request.invalid', 'name'],
      ['register a duplicate agent', () => http(base, '/v1/agents', { token: ADMIN_TOKEN, body: { name: 'report-bot' } }), 409, 'identity.agent_exists'],
      ['complete with someone else\u2019s credential', async () => {
        const other = await grantTask(base, 'billing-bot', MANDATE);
        const mine = await grantTask(base, 'report-bot', MANDATE);
        return http(base, `/v1/tasks/${mine.taskId}/complete`, { token: other.credential, body: {} });
      }, 401, 'request.unauthorized'],
      ['task query with an unknown status', () => http(base, '/v1/tasks?status=paused', { token: ADMIN_TOKEN }), 400, 'request.invalid', 'status'],
    ];
    for (const [title, run, status, code, needle] of cases) {
      it(title, async () => {
        const res = await run();
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.error.code, code);
        if (needle) assert.ok(res.body.error.message.includes(needle), `"${res.body.error.message}" names ${needle}`);
        assert.equal(JSON.stringify(res.body).includes('    at '), false, 'no stack trace');
      });
    }

    const tokenCases: [string, () => Promise<string>, string][] = [
      ['garbled token', async () => 'abc.def.ghi', 'credential.invalid'],
      ['alg none', async () => {
        const [, payload] = credential.split('.');
        return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'task+jwt' })).toString('base64url')}.${payload}.`;
      }, 'credential.invalid'],
      ['forged payload', async () => {
        const [h, p, s] = credential.split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
        return `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 })).toString('base64url')}.${s}`;
      }, 'credential.invalid'],
      ['signed by an unknown key', async () => {
        const claims = jose.decodeJwt(credential);
        const { privateKey } = await jose.generateKeyPair('ES256');
        return new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: jose.decodeProtectedHeader(credential).kid!, typ: 'task+jwt' }).sign(privateKey);
      }, 'credential.invalid'],
      ['an SVID used as a task credential', async () => svid, 'credential.invalid'],
      ['wrong audience', async () => {
        const claims = jose.decodeJwt(credential);
        return server.plane.keys.sign({ ...claims, aud: 'another-deployment' }, 'task+jwt');
      }, 'credential.invalid'],
      ['expired', async () => {
        const claims = jose.decodeJwt(credential);
        return server.plane.keys.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 5 }, 'task+jwt');
      }, 'credential.expired'],
    ];
    for (const [title, token, code] of tokenCases) {
      it(`decide with a ${title} denies with ${code}`, async () => {
        const res = await http(base, '/v1/decide', { body: { credential: await token(), tool: 'files.read', args: { path: '/srv/reports/a' } } });
        assert.equal(res.status, 200);
        assert.deepEqual([res.body.outcome, res.body.reason.code, res.body.layer], ['deny', code, 'credential']);
      });
    }
  });

  it('the audit chain verifies after all of the above', async () => {
    const res = await http(base, '/v1/audit/verify', { token: ADMIN_TOKEN });
    assert.equal(res.body.ok, true);
    assert.ok(res.body.segments[0].events > 20);
  });
  it('the OpenAPI document gives a success response schema for every route', async () => {
    const doc = (await http(base, '/v1/openapi.json')).body as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
    const missing: string[] = [];
    let routes = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        routes++;
        const ok = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
        // JSON everywhere but /metrics, which speaks the Prometheus text format.
        const mediaType = path === '/metrics' ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json';
        if (ok.length === 0 || ok.some(([, r]) => !r.content?.[mediaType]?.schema)) missing.push(`${method.toUpperCase()} ${path}`);
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

describe('start-up', () => {
  it('an invalid Cedar file stops start-up with an error naming file and line', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'mandate-badpolicy-'));
    writeFileSync(join(dir, 'ok.cedar'), '@id("p") permit (principal, action in Action::"call_tool", resource);\n');
    writeFileSync(join(dir, 'broken.cedar'), '// a comment\n\nforbid (principal, action in Action::"call_tool", resource)\nwhen { context.nope == 1 };\n');
    await assert.rejects(startTestServer({ MANDATE_POLICY_DIR: dir }), (e: unknown) => {
      assert.equal((e as Error).name, 'ConfigError');
      assert.match((e as Error).message, /broken\.cedar:4/);
      return true;
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('deregistering an agent revokes its tasks at once and stops attestation', async () => {
    const server = await startTestServer();
    try {
      const { credential } = await grantTask(server.url, 'billing-bot', MANDATE);
      const jt = await http(server.url, '/v1/agents/billing-bot/join-tokens', { token: ADMIN_TOKEN, body: {} });
      const res = await http(server.url, '/v1/agents/billing-bot', { method: 'DELETE', token: ADMIN_TOKEN });
      assert.equal(res.status, 200);
      assert.ok(res.body.disabledAtMs);
      const d = await http(server.url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/reports/a' } } });
      assert.equal(d.body.reason.code, 'credential.revoked');
      const at = await http(server.url, '/v1/attest/join-token', { body: { token: jt.body.token } });
      assert.equal(at.body.error.code, 'identity.agent_disabled');
    } finally {
      await server.close();
    }
  });

});
