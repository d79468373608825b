import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { decodeJwt } from 'jose';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, grantTask, http, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';


const spiffe = (name: string) => `spiffe://example.test/agent/${name}`;

/** A child mandate within the orchestrator's: its constraint on `path` and its call limit kept. */
const within = (purpose: string) => ({ purpose, tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }], limits: { maxCalls: 5 } });

/** SVIDs of the agents the test delegates to: a delegated credential works only beside its actor's. */
const svids: Record<string, string> = {};

/** A delegated credential, and the SVID of the agent it was issued to. */
type Held = string | { credential: string; svid: string };
const credentialOf = (h: Held) => (typeof h === 'string' ? h : h.credential);
const svidHeader = (h: Held): Record<string, string> => (typeof h === 'string' ? {} : { 'mandate-svid': h.svid });

async function exchange(server: RunningServer, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params).toString() });
  return { status: res.status, body: await res.json() };
}

/** Delegates from what `holder` holds to `actor`; the answer's `held` is the child credential with the actor's SVID. */
async function delegate(server: RunningServer, holder: Held, actor: string, mandate: unknown): Promise<{ status: number; body: any; held: Held }> {
  const res = await exchange(server, { grant_type: TOKEN_EXCHANGE, subject_token: credentialOf(holder), subject_token_type: JWT, audience: spiffe(actor), mandate: JSON.stringify(mandate) }, svidHeader(holder));
  return { ...res, held: { credential: res.body.access_token, svid: svids[actor] ?? '' } };
}

async function decide(server: RunningServer, holder: Held, tool: string, args: Record<string, unknown> = { path: '/srv/reports/q3.csv' }): Promise<any> {
  const res = await http(server.url, '/v1/decide', { body: { credential: credentialOf(holder), tool, args }, headers: svidHeader(holder) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/**
 * Delegation by token exchange: an orchestrator hands a narrower task to a
 * researcher, which hands a narrower one to a writer; each hop is checked on every
 * axis, against the ceiling's `delegate`, and within the configured depth and width.
 */
describe('delegation by token exchange (RFC 8693)', () => {
  let server: RunningServer;
  let orchestrator: { taskId: string; credential: string };
  before(async () => {
    server = await startTestServer({ MANDATE_TRUST_DOMAIN: 'example.test', MANDATE_DELEGATION_MAX_CHILDREN: '3' });
    for (const name of ['researcher', 'writer', 'outsider']) {
      const res = await http(server.url, '/v1/agents', { token: ADMIN_TOKEN, body: { name, groups: name === 'outsider' ? ['others'] : ['agents'], attestation: { joinToken: true } } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const jt = await http(server.url, `/v1/agents/${name}/join-tokens`, { token: ADMIN_TOKEN, body: {} });
      svids[name] = (await http(server.url, '/v1/attest/join-token', { body: { token: jt.body.token } })).body.svid;
    }
    orchestrator = await grantTask(server.url, 'report-bot', {
      purpose: 'write the quarterly report',
      tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }, 'files.write', 'email.send'],
      dataClasses: ['finance'],
      onBehalfOf: 'alice',
      limits: { maxCalls: 50 },
      ttlSeconds: 600,
    });
  });
  after(async () => server?.close());

  verifies('delegation:token-exchange', 'a task credential is exchanged for a narrower child credential of another agent, carrying the chain as nested act claims', async () => {
    const res = await delegate(server, orchestrator.credential, 'researcher', { purpose: 'find the q3 figures', tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/q3/' } } }], dataClasses: ['finance'], limits: { maxCalls: 10 }, ttlSeconds: 300 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.issued_token_type, JWT);
    assert.equal(res.body.token_type, 'Bearer');
    assert.ok(res.body.expires_in > 0 && res.body.expires_in <= 300);
    const claims = decodeJwt(res.body.access_token);
    assert.equal(claims.sub, spiffe('researcher'), 'the credential is the actor\'s');
    assert.equal(claims.principal, 'alice', 'the person the chain acts for');
    assert.deepEqual(claims.act, { sub: spiffe('report-bot'), task: orchestrator.taskId });
    assert.deepEqual(claims.cnf, { spiffe_id: spiffe('researcher') }, 'usable only beside the researcher\'s SVID');
    assert.equal(res.body.task.parentTask, orchestrator.taskId);

    // The researcher hands one step on to the writer: the chain nests, newest first.
    const write = await delegate(server, res.held, 'writer', { purpose: 'quote the q3 total', tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/q3/' } } }], dataClasses: ['finance'], limits: { maxCalls: 2 } });
    assert.equal(write.status, 200, JSON.stringify(write.body));
    const writerClaims = decodeJwt(write.body.access_token);
    assert.deepEqual(writerClaims.act, { sub: spiffe('researcher'), task: claims.task, act: { sub: spiffe('report-bot'), task: orchestrator.taskId } });
    assert.ok((writerClaims.exp ?? 0) <= (claims.exp ?? 0), 'a child never outlives its parent');

    // Each hop's calls are decided within its own mandate and recorded with the whole chain.
    const allowed = await decide(server, write.held, 'files.read', { path: '/srv/reports/q3/total.csv' });
    assert.equal(allowed.outcome, 'allow', JSON.stringify(allowed));
    assert.equal((await decide(server, write.held, 'files.read', { path: '/srv/reports/q4/total.csv' })).reason.code, 'mandate.arg_constraint');
    const record = await http(server.url, `/v1/audit?type=decision&task=${String(writerClaims.task)}`, { token: ADMIN_TOKEN });
    const data = record.body.events[0].data;
    assert.equal(data.principal, 'alice');
    assert.equal(data.delegationDepth, 2);
    assert.deepEqual(data.chain, [{ taskId: claims.task, spiffeId: spiffe('researcher') }, { taskId: orchestrator.taskId, spiffeId: spiffe('report-bot') }]);

    // Revoking the orchestrator's task ends every descendant.
    const top = await grantTask(server.url, 'report-bot', { purpose: 'a short job', tools: ['files.read'], ttlSeconds: 600 });
    const child = await delegate(server, top.credential, 'researcher', { purpose: 'part of it', tools: ['files.read'] });
    const grandchild = await delegate(server, child.held, 'writer', { purpose: 'a bit of it', tools: ['files.read'] });
    assert.equal((await decide(server, grandchild.held, 'files.read')).outcome, 'allow');
    assert.equal((await http(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: top.taskId, reason: 'done' } })).status, 201);
    for (const held of [child.held, grandchild.held]) assert.equal((await decide(server, held, 'files.read')).reason.code, 'credential.revoked');
    const refusedParent = await delegate(server, top.credential, 'researcher', { purpose: 'after the end', tools: ['files.read'] });
    assert.deepEqual([refusedParent.status, refusedParent.body.error, refusedParent.body.code], [400, 'invalid_request', 'credential.revoked']);
  });

  verifies('delegation:actor-only', 'a child credential works only beside the SVID of the agent it was issued to, at every enforcement point', async () => {
    const child = await delegate(server, orchestrator.credential, 'researcher', within('read a figure'));
    assert.equal(child.status, 200, JSON.stringify(child.body));
    const credential = child.body.access_token as string;
    // The delegating agent received the credential, but it is not the researcher.
    const bare = await decide(server, credential, 'files.read');
    assert.deepEqual([bare.outcome, bare.reason.code], ['deny', 'credential.holder_unproven']);
    const ownSvid = (await grantTask(server.url, 'report-bot', { purpose: 'x', tools: ['files.read'] })).svid;
    const wrong = await decide(server, { credential, svid: ownSvid }, 'files.read');
    assert.deepEqual([wrong.outcome, wrong.reason.code], ['deny', 'credential.holder_unproven']);
    assert.match(wrong.reason.message, /researcher/);
    const forged = await decide(server, { credential, svid: `${svids.researcher!.slice(0, -6)}AAAAAA` }, 'files.read');
    assert.equal(forged.reason.code, 'credential.holder_unproven');
    assert.equal((await decide(server, child.held, 'files.read')).outcome, 'allow');
    // Nor can it delegate further, or report results, without the actor's SVID.
    const onward = await delegate(server, credential, 'writer', within('y'));
    assert.deepEqual([onward.status, onward.body.code], [400, 'credential.holder_unproven']);
    const task = String(decodeJwt(credential).task);
    const report = await http(server.url, `/v1/tasks/${task}/results`, { token: credential, body: { tool: 'files.read', status: 'ok' } });
    assert.deepEqual([report.status, report.body.error.code], [401, 'credential.holder_unproven']);
  });

  verifies('delegation:widening-refused', 'a child mandate wider than its parent on any axis is refused naming the axis and item', async () => {
    const cases: [string, unknown, string][] = [
      ['a tool', { purpose: 'p', tools: ['files.delete'] }, 'tools.files.delete'],
      ['a data class', { purpose: 'p', tools: ['files.read'], dataClasses: ['pii'] }, 'dataClasses.pii'],
    ];
    for (const [axis, mandate, item] of cases) {
      const res = await delegate(server, orchestrator.credential, 'researcher', mandate);
      assert.equal(res.status, 400, axis);
      assert.equal(res.body.error, 'invalid_scope', axis);
      assert.equal(res.body.code, 'mandate.refused', axis);
      assert.ok(res.body.refused.some((r: { item: string }) => r.item === item), `${axis}: ${JSON.stringify(res.body.refused)}`);
    }
  });

  verifies('delegation:gated', 'the ceiling must permit `delegate` for the pair, and depth and live children stay within their limits', async () => {
    const outsider = await delegate(server, orchestrator.credential, 'outsider', { purpose: 'p', tools: ['files.read'] });
    assert.deepEqual([outsider.status, outsider.body.error, outsider.body.code], [400, 'unauthorized_client', 'delegation.not_permitted']);
    assert.match(outsider.body.error_description, /outsider/);
    const unknown = await delegate(server, orchestrator.credential, 'nobody', { purpose: 'p', tools: ['files.read'] });
    assert.deepEqual([unknown.status, unknown.body.error, unknown.body.code], [400, 'invalid_target', 'delegation.actor_unknown']);

    // The example policy permits three hops; a fourth is refused by the ceiling.
    const root = await grantTask(server.url, 'report-bot', { purpose: 'deep', tools: ['files.read'], ttlSeconds: 600 });
    const one = await delegate(server, root.credential, 'researcher', { purpose: 'one', tools: ['files.read'] });
    const two = await delegate(server, one.held, 'writer', { purpose: 'two', tools: ['files.read'] });
    const three = await delegate(server, two.held, 'researcher', { purpose: 'three', tools: ['files.read'] });
    assert.equal(three.status, 200, JSON.stringify(three.body));
    const four = await delegate(server, three.held, 'writer', { purpose: 'four', tools: ['files.read'] });
    assert.deepEqual([four.status, four.body.code], [400, 'delegation.not_permitted']);

    // At most three live children per task (MANDATE_DELEGATION_MAX_CHILDREN).
    const wide = await grantTask(server.url, 'report-bot', { purpose: 'wide', tools: ['files.read'], ttlSeconds: 600 });
    for (let i = 0; i < 3; i++) assert.equal((await delegate(server, wide.credential, 'researcher', { purpose: `child ${i}`, tools: ['files.read'] })).status, 200);
    const fourth = await delegate(server, wide.credential, 'researcher', { purpose: 'child 3', tools: ['files.read'] });
    assert.deepEqual([fourth.status, fourth.body.error, fourth.body.code], [400, 'invalid_grant', 'delegation.children_exceeded']);

    // Each refusal is in the trail.
    const refused = await http(server.url, '/v1/audit?type=task.refused&limit=100', { token: ADMIN_TOKEN });
    const codes = refused.body.events.flatMap((e: any) => e.data.refused.map((r: any) => r.code));
    for (const code of ['delegation.not_permitted', 'delegation.actor_unknown', 'delegation.children_exceeded']) assert.ok(codes.includes(code), code);
  });

  verifies('delegation:bad-requests', 'a token request that is not a well-formed token exchange is refused as RFC 6749 says', async () => {
    const base = { grant_type: TOKEN_EXCHANGE, subject_token: orchestrator.credential, subject_token_type: JWT, audience: spiffe('researcher'), mandate: JSON.stringify(within('p')) };
    const cases: [Record<string, string>, string, string][] = [
      [{ ...base, grant_type: 'client_credentials' }, 'unsupported_grant_type', 'request.invalid'],
      [{ ...base, subject_token: '' }, 'invalid_request', 'request.invalid'],
      [{ ...base, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }, 'invalid_request', 'request.invalid'],
      [{ ...base, subject_token: 'not-a-jwt' }, 'invalid_request', 'credential.invalid'],
      [{ ...base, actor_token: 'x', actor_token_type: JWT }, 'invalid_request', 'request.invalid'],
      [{ ...base, mandate: '{' }, 'invalid_request', 'mandate.invalid'],
      [{ ...base, mandate: JSON.stringify({ ...within('p'), parentTask: 'tsk_other' }) }, 'invalid_grant', 'mandate.parent_invalid'],
    ];
    for (const [params, error, code] of cases) {
      const res = await exchange(server, params);
      assert.deepEqual([res.status, res.body.error, res.body.code], [400, error, code], JSON.stringify(params).slice(0, 120));
      assert.equal(typeof res.body.error_description, 'string');
    }
    // JSON works as well as the form.
    const json = await http(server.url, '/v1/token', { body: { ...base, mandate: within('p') } });
    assert.equal(json.status, 200, JSON.stringify(json.body));
  });
});

/** Policies that read where a delegated task sits: `context.delegation.depth` and the agents of `context.delegation.chain`. */
describe('policies see the delegation chain', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-chain-policies-'));
    cpSync(join(ROOT, 'examples', 'policies'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'chain.cedar'),
      `// Work that passed through the researcher writes nothing, however deep.
@id("nothing-written-after-the-researcher")
forbid (principal, action == Action::"write", resource)
when { context.delegation.chain.contains("${spiffe('researcher')}") };

// Past two hops, nothing is sent out.
@id("no-sends-past-two-hops")
forbid (principal, action == Action::"send", resource)
when { context.delegation.depth >= 2 };
`,
    );
    server = await startTestServer({ MANDATE_TRUST_DOMAIN: 'example.test', MANDATE_POLICY_DIR: dir });
    for (const name of ['researcher', 'writer']) {
      assert.equal((await http(server.url, '/v1/agents', { token: ADMIN_TOKEN, body: { name, groups: ['agents'], attestation: { joinToken: true } } })).status, 201);
      const jt = await http(server.url, `/v1/agents/${name}/join-tokens`, { token: ADMIN_TOKEN, body: {} });
      svids[name] = (await http(server.url, '/v1/attest/join-token', { body: { token: jt.body.token } })).body.svid;
    }
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  verifies('delegation:policy-context', 'policies read `context.delegation.depth` and the SPIFFE ids of `context.delegation.chain`, for calls and for `delegate`', async () => {
    const tools = ['files.write', 'email.send'];
    const args = { path: '/srv/reports/out.txt', to: 'me@example.com' };
    const root = await grantTask(server.url, 'report-bot', { purpose: 'write and send the report', tools, ttlSeconds: 600 });
    const viaWriter = await delegate(server, root.credential, 'writer', { purpose: 'write it', tools });
    const viaResearcher = await delegate(server, root.credential, 'researcher', { purpose: 'pass it on', tools });
    const deep = await delegate(server, viaResearcher.held, 'writer', { purpose: 'write it', tools });
    for (const step of [viaWriter, viaResearcher, deep]) assert.equal(step.status, 200, JSON.stringify(step.body));

    // The writer's own hop came straight from report-bot: it writes and sends.
    assert.equal((await decide(server, viaWriter.held, 'files.write', args)).outcome, 'allow');
    assert.equal((await decide(server, viaWriter.held, 'email.send', args)).outcome, 'allow');
    // The researcher is not in its own chain (the chain is who delegated to a task)...
    assert.equal((await decide(server, viaResearcher.held, 'files.write', args)).outcome, 'allow');
    // ...but the writer below it is: the same agent and tool, refused by the chain it came through.
    const written = await decide(server, deep.held, 'files.write', args);
    assert.deepEqual([written.outcome, written.reason.code, written.policies], ['deny', 'policy.forbid', ['nothing-written-after-the-researcher']]);
    const sent = await decide(server, deep.held, 'email.send', args);
    assert.deepEqual([sent.outcome, sent.policies], ['deny', ['no-sends-past-two-hops']]);

    // The example `delegate` permit reads context.delegation.depth: three hops, not four.
    const three = await delegate(server, deep.held, 'researcher', { purpose: 'three', tools: ['files.write'] });
    assert.equal(three.status, 200, JSON.stringify(three.body));
    const four = await delegate(server, three.held, 'writer', { purpose: 'four', tools: ['files.write'] });
    assert.deepEqual([four.status, four.body.code], [400, 'delegation.not_permitted']);
  });
});
