import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { ConsoleSession } from '../../src/server/api-schemas.js';
import { ADMIN_TOKEN, grantTask, http } from '../helpers.js';
import { CookieJar, authorizeAt, browse, signIn, startConsoleServer, startIdentityProvider, type IdentityProvider } from '../fixtures/identity-provider.js';
import { verifies } from './verifies.js';

/** A Mandate server on the example configuration and policies, with console sign-in at `idp`. */
/** A request as the console's page makes it: the session cookie, and for unsafe methods its CSRF token and origin. */
function asPerson(base: string, path: string, cookie: string, init: { method?: string; body?: unknown; csrf?: string; origin?: string } = {}) {
  const headers: Record<string, string> = { cookie };
  if (init.csrf !== undefined) headers['x-csrf-token'] = init.csrf;
  if (init.origin !== undefined) headers.origin = init.origin;
  return http(base, path, { method: init.method, body: init.body, headers });
}

/** `GET /console/login` with the `Host` a browser would send for another name of this server (fetch cannot set `Host`). */
function loginAddressedTo(base: string, host: string): Promise<{ cookie: string; location: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/console/login`, { headers: { host } }, (res) => {
      res.resume();
      resolve({ cookie: String(res.headers['set-cookie']?.[0]), location: String(res.headers.location) });
    });
    req.on('error', reject);
    req.end();
  });
}

const auditOf = async (base: string, type: string) => (await http(base, `/v1/audit?type=${type}&limit=1000`, { token: ADMIN_TOKEN })).body.events as { data: Record<string, unknown> }[];

describe('console sign-in with a real OpenID provider', () => {
  let idp: IdentityProvider;
  let server: RunningServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-console-'));
    idp = await startIdentityProvider();
    server = await startConsoleServer(idp, dir);
  });
  after(async () => {
    await server?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('console:sign-in', 'the code flow with PKCE against the provider opens a session the single-page app can read', async () => {
    const jar = new CookieJar();
    const login = await browse(jar, `${server.url}/console/login?return=${encodeURIComponent('/console/approvals/apr_1?tab=args')}`);
    assert.equal(login.status, 302);
    const authorize = new URL(login.headers.get('location')!);
    assert.equal(authorize.origin, idp.issuer, 'sent to the provider discovered from the issuer');
    assert.deepEqual(
      [authorize.searchParams.get('response_type'), authorize.searchParams.get('client_id'), authorize.searchParams.get('redirect_uri'), authorize.searchParams.get('code_challenge_method'), authorize.searchParams.get('scope')],
      ['code', idp.clientId, `${server.url}/console/callback`, 'S256', 'openid profile email'],
    );
    for (const p of ['state', 'nonce', 'code_challenge']) assert.ok((authorize.searchParams.get(p) ?? '').length >= 32, `${p} is random`);
    const pending = login.headers.getSetCookie().find((c) => c.startsWith('mandate_console_login='))!;
    assert.match(pending, /; HttpOnly/);
    assert.match(pending, /; SameSite=Lax/, 'it must come back on the provider\'s cross-site redirect');
    assert.match(pending, /; Path=\/console\/callback/);

    const callback = await authorizeAt(jar, authorize.href, 'alice');
    assert.ok(callback.startsWith(`${server.url}/console/callback?`));
    const done = await browse(jar, callback);
    assert.equal(done.status, 302);
    assert.equal(done.headers.get('location'), '/console/approvals/apr_1?tab=args', 'back where the person asked to go');
    const cookie = `mandate_console=${jar.get(server.url, 'mandate_console')}`;

    const session = await asPerson(server.url, '/console/api/session', cookie);
    assert.equal(session.status, 200);
    const view = ConsoleSession.parse(session.body);
    assert.deepEqual([view.subject, view.name, view.email, view.issuer, view.roles], ['alice', 'Alice Approver', 'alice@example.com', idp.issuer, ['approver']]);
    assert.ok(view.csrfToken.length >= 32);
    assert.ok(Math.abs(view.expiresAtMs - (Date.now() + 8 * 3600_000)) < 60_000, 'eight hours by default');
    const signedIn = (await auditOf(server.url, 'console.signed_in')).find((e) => e.data.subject === 'alice')!;
    assert.deepEqual([signedIn.data.by, signedIn.data.roles, signedIn.data.groups], ['person:alice', ['approver'], ['approvers', 'staff']]);

    const signedOut = await http(server.url, '/console/api/session');
    assert.deepEqual([signedOut.status, signedOut.body.error.code], [401, 'console.signed_out']);
    assert.deepEqual((await asPerson(server.url, '/console/api/session', 'mandate_console=forged')).body.error.code, 'console.signed_out');
  });

  verifies('console:cookie-attributes', 'the session cookie is HttpOnly, SameSite=Strict, Path=/, and Secure except over plain http to a loopback address', async () => {
    const jar = new CookieJar();
    const login = await browse(jar, `${server.url}/console/login`);
    const done = await browse(jar, await authorizeAt(jar, login.headers.get('location')!, 'victor'));
    const set = done.headers.getSetCookie().find((c) => c.startsWith('mandate_console='))!;
    const attributes = set.split(';').slice(1).map((a) => a.trim());
    assert.deepEqual(attributes.filter((a) => !a.startsWith('Max-Age')).sort(), ['HttpOnly', 'Path=/', 'SameSite=Strict'], 'no Secure over http to 127.0.0.1, or the browser would drop it');
    assert.ok(attributes.includes(`Max-Age=${8 * 3600}`));
    assert.ok(done.headers.getSetCookie().some((c) => /^mandate_console_login=;.*Max-Age=0/.test(c)), 'the pre-login cookie is spent');

    // The same server addressed by a name that is not loopback (as behind a proxy): Secure.
    const viaName = await loginAddressedTo(server.url, 'mandate.example.com');
    assert.match(viaName.cookie, /; Secure$/);
    assert.equal(new URL(viaName.location).searchParams.get('redirect_uri'), 'http://mandate.example.com/console/callback');
    assert.doesNotMatch((await loginAddressedTo(server.url, `localhost:${new URL(server.url).port}`)).cookie, /Secure/);
  });

  verifies('console:sign-in-refused', 'a wrong state, a replayed code, another client\'s code, a wrong nonce and a callback without a sign-in in progress are each refused', async () => {
    const refusedBefore = (await auditOf(server.url, 'console.sign_in_refused')).length;
    const begin = async () => {
      const jar = new CookieJar();
      const login = await browse(jar, `${server.url}/console/login`);
      return { jar, authorizationUrl: login.headers.get('location')! };
    };
    const refused = async (res: Response, code: string, why: RegExp) => {
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.deepEqual([res.status >= 400, body.error.code], [true, code], JSON.stringify(body));
      assert.match(body.error.message, why);
      assert.equal(res.headers.getSetCookie().some((c) => c.startsWith('mandate_console=') && !c.startsWith('mandate_console=;')), false, 'no session');
    };

    // State: the answer to another sign-in (an attacker's code sent to the victim) does not match this browser's.
    const a = await begin();
    const wrongState = new URL(await authorizeAt(a.jar, a.authorizationUrl, 'alice'));
    wrongState.searchParams.set('state', 'an-attackers-state');
    await refused(await browse(a.jar, wrongState.href), 'console.sign_in_failed', /state/);

    // A code works once: replaying the callback (the same code, the same pre-login cookie) is refused by the provider.
    const b = await begin();
    const callback = await authorizeAt(b.jar, b.authorizationUrl, 'alice');
    const pending = b.jar.get(server.url, 'mandate_console_login')!;
    assert.equal((await browse(b.jar, callback)).status, 302);
    b.jar.set(server.url, 'mandate_console_login', pending);
    await refused(await browse(b.jar, callback), 'console.sign_in_failed', /invalid_grant/);

    // Another client's code: issued to `other-app`, it does not redeem for the console.
    const c = await begin();
    const ours = new URL(c.authorizationUrl);
    const theirs = new URL(ours.href);
    theirs.searchParams.set('client_id', idp.otherClient.clientId);
    theirs.searchParams.set('redirect_uri', idp.otherClient.redirectUri);
    const otherCode = new URL(await authorizeAt(new CookieJar(), theirs.href, 'alice')).searchParams.get('code')!;
    await refused(await browse(c.jar, `${server.url}/console/callback?code=${otherCode}&state=${ours.searchParams.get('state')}`), 'console.sign_in_failed', /invalid_grant/);

    // Nonce: an id token minted for another sign-in's nonce is not this one's.
    const d = await begin();
    const dCallback = await authorizeAt(d.jar, d.authorizationUrl, 'alice');
    const tampered = JSON.parse(Buffer.from(d.jar.get(server.url, 'mandate_console_login')!, 'base64url').toString());
    d.jar.set(server.url, 'mandate_console_login', Buffer.from(JSON.stringify({ ...tampered, nonce: 'another-sign-ins-nonce' })).toString('base64url'));
    await refused(await browse(d.jar, dCallback), 'console.sign_in_failed', /nonce/);

    // No sign-in in progress in this browser: refused, and not recorded (nothing began here).
    await refused(await fetch(`${server.url}/console/callback?code=x&state=y`, { redirect: 'manual' }), 'console.sign_in_failed', /no sign-in is in progress/);

    const all = await auditOf(server.url, 'console.sign_in_refused');
    const recorded = all.slice(0, all.length - refusedBefore); // newest first
    assert.equal(recorded.length, 4, 'each refusal of a sign-in that began here is recorded');
    assert.ok(recorded.every((e) => e.data.code === 'console.sign_in_failed' && typeof e.data.why === 'string'));
    assert.ok(recorded.some((e) => e.data.subject === 'alice' && /nonce/.test(String(e.data.why))));
  });

  verifies('console:no-role-refused', 'a person in no mapped group is refused with a page that says so, and the refusal is recorded', async () => {
    const jar = new CookieJar();
    const login = await browse(jar, `${server.url}/console/login`);
    const callback = await authorizeAt(jar, login.headers.get('location')!, 'vera');
    const res = await fetch(callback, { headers: { cookie: jar.header(server.url), accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('content-type')!, /text\/html/);
    const page = await res.text();
    assert.match(page, /No console role/);
    assert.match(page, /console\.no_role/);
    assert.equal(res.headers.getSetCookie().some((c) => c.startsWith('mandate_console=')), false);
    const refusal = (await auditOf(server.url, 'console.sign_in_refused')).find((e) => e.data.subject === 'vera')!;
    assert.deepEqual([refusal.data.code, refusal.data.groups], ['console.no_role', ['staff']]);
  });

  verifies('console:roles-enforced', 'roles decide what a person may do: a viewer reads but cannot revoke, an operator revokes and is recorded as the person; a bearer token ignores cookies', async () => {
    const viewer = (await signIn(server.url, 'victor')).cookie;
    const operator = await signIn(server.url, 'olga');
    const csrfOf = async (cookie: string) => (await asPerson(server.url, '/console/api/session', cookie)).body.csrfToken as string;
    const { taskId, credential } = await grantTask(server.url, 'report-bot', { purpose: 'q3 report', tools: ['files.read'], ttlSeconds: 600 });

    assert.equal((await asPerson(server.url, '/v1/tasks', viewer)).status, 200, 'a viewer lists tasks');
    const denied = await asPerson(server.url, '/v1/revocations', viewer, { body: { kind: 'task', subject: taskId }, csrf: await csrfOf(viewer), origin: server.url });
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'console.forbidden']);
    assert.match(denied.body.error.message, /`operator`/);
    assert.equal((await asPerson(server.url, '/v1/secrets', operator.cookie)).body.error.code, 'console.forbidden', 'an operator is not an admin');

    const revoked = await asPerson(server.url, '/v1/revocations', operator.cookie, { body: { kind: 'task', subject: taskId, reason: 'suspicious' }, csrf: await csrfOf(operator.cookie), origin: server.url });
    assert.equal(revoked.status, 201);
    const decided = await http(server.url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } } });
    assert.equal(decided.body.reason.code, 'credential.revoked');
    const record = (await auditOf(server.url, 'revocation')).find((e) => e.data.subject === taskId)!;
    assert.equal(record.data.by, 'person:olga');

    // An API client's bearer token is judged alone: a wrong token with a valid session cookie is still refused.
    const bearerWins = await http(server.url, '/v1/tasks', { token: 'not-the-admin-token', headers: { cookie: operator.cookie } });
    assert.deepEqual([bearerWins.status, bearerWins.body.error.code], [401, 'request.unauthorized']);
    assert.equal((await http(server.url, '/v1/tasks', { token: ADMIN_TOKEN, headers: { cookie: 'mandate_console=forged' } })).status, 200);
  });

  verifies('console:csrf', 'an unsafe request with a session cookie needs the session\'s CSRF token and no foreign origin', async () => {
    const { cookie } = await signIn(server.url, 'olga');
    const csrf = (await asPerson(server.url, '/console/api/session', cookie)).body.csrfToken as string;
    const { taskId } = await grantTask(server.url, 'report-bot', { purpose: 'q3 report', tools: ['files.read'], ttlSeconds: 600 });
    const revoke = (init: { csrf?: string; origin?: string }) => asPerson(server.url, '/v1/revocations', cookie, { body: { kind: 'task', subject: taskId }, ...init });
    for (const [what, init] of [
      ['no token', {}],
      ['a wrong token', { csrf: 'x'.repeat(csrf.length) }],
      ['a foreign origin', { csrf, origin: 'https://evil.example' }],
      ['another port of this host', { csrf, origin: server.url.replace(/:\d+$/, ':1') }],
    ] as const) {
      const res = await revoke(init);
      assert.deepEqual([res.status, res.body.error.code], [403, 'console.csrf'], what);
    }
    assert.equal((await auditOf(server.url, 'revocation')).some((e) => e.data.subject === taskId), false, 'nothing was revoked');
    assert.equal((await revoke({ csrf })).status, 201, 'the console page itself: no Origin sent is allowed too');
    const logout = await asPerson(server.url, '/console/logout', cookie, { method: 'POST' });
    assert.deepEqual([logout.status, logout.body.error.code], [403, 'console.csrf'], 'sign-out is CSRF-checked');
    assert.equal((await asPerson(server.url, '/console/api/session', cookie)).status, 200, 'the session lives on');
  });

  verifies('console:approver-decides', 'a person with the approver role approves a step-up as their e-mail with their groups; a viewer may read it but not decide', async () => {
    const { credential } = await grantTask(server.url, 'billing-bot', { purpose: 'pay the printing invoice', tools: ['payments.create'], ttlSeconds: 600 });
    const call = () => http(server.url, '/v1/decide', { body: { credential, tool: 'payments.create', args: { amount: 120 } } });
    const first = await call();
    assert.equal(first.body.outcome, 'step_up');
    const approvalId = first.body.approvalId as string;

    const viewer = (await signIn(server.url, 'victor')).cookie;
    const viewerCsrf = (await asPerson(server.url, '/console/api/session', viewer)).body.csrfToken as string;
    assert.equal((await asPerson(server.url, `/v1/approvals/${approvalId}`, viewer)).body.status, 'pending', 'a viewer reads the request');
    assert.ok((await asPerson(server.url, '/v1/approvals?status=pending', viewer)).body.approvals.some((a: { id: string }) => a.id === approvalId));
    const notAllowed = await asPerson(server.url, `/v1/approvals/${approvalId}/approve`, viewer, { body: { reason: 'looks fine' }, csrf: viewerCsrf, origin: server.url });
    assert.deepEqual([notAllowed.status, notAllowed.body.error.code], [403, 'console.forbidden']);

    const alice = (await signIn(server.url, 'alice')).cookie;
    const csrf = (await asPerson(server.url, '/console/api/session', alice)).body.csrfToken as string;
    const approved = await asPerson(server.url, `/v1/approvals/${approvalId}/approve`, alice, { body: { reason: 'invoice checked' }, csrf, origin: server.url });
    assert.deepEqual([approved.status, approved.body.status, approved.body.decidedBy], [200, 'approved', 'alice@example.com']);
    const second = await call();
    assert.deepEqual([second.body.outcome, second.body.reason.code], ['allow', 'approval.approved'], 'the approved call goes through');
    const record = (await auditOf(server.url, 'approval.approved')).find((e) => e.data.approvalId === approvalId)!;
    assert.equal(record.data.by, 'alice@example.com');
  });
});

describe('console sign-in across replicas and without configuration', () => {
  let idp: IdentityProvider;
  let a: RunningServer;
  let b: RunningServer;
  let bare: RunningServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-console-replicas-'));
    idp = await startIdentityProvider();
    const file = `file:${join(dir, 'mandate.db')}`;
    a = await startConsoleServer(idp, dir, { env: { MANDATE_AUDIT_SEGMENT: 'console-a', MANDATE_STORE_URL: file } });
    b = await startConsoleServer(idp, dir, { env: { MANDATE_AUDIT_SEGMENT: 'console-b', MANDATE_STORE_URL: file } });
    bare = await startConsoleServer(undefined, dir);
  });
  after(async () => {
    for (const s of [a, b, bare]) await s?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('console:logout-every-replica', 'a session opened on one replica works on another, and signing out on one ends it on both', async () => {
    const { cookie } = await signIn(a.url, 'olga');
    assert.equal((await asPerson(b.url, '/console/api/session', cookie)).body.subject, 'olga', 'replica B reads the session from the shared store');
    const csrf = (await asPerson(a.url, '/console/api/session', cookie)).body.csrfToken as string;
    const out = await fetch(`${a.url}/console/logout`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: a.url } });
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0]!, /^mandate_console=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/);
    for (const replica of [a, b]) {
      const res = await asPerson(replica.url, '/v1/tasks', cookie);
      assert.deepEqual([res.status, res.body.error.code], [401, 'console.signed_out']);
    }
    const signedOut = (await auditOf(a.url, 'console.signed_out')).find((e) => e.data.subject === 'olga')!;
    assert.equal(signedOut.data.by, 'person:olga');
  });

  verifies('console:not-configured', 'without `console.oidc`, sign-in says it is not configured and a session cookie grants nothing', async () => {
    const page = await fetch(`${bare.url}/console/login`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(page.status, 404);
    assert.match(await page.text(), /Console sign-in is not configured/);
    const json = await http(bare.url, '/console/login');
    assert.equal(json.body.error.code, 'console.not_configured');
    const session = await http(bare.url, '/console/api/session');
    assert.deepEqual([session.status, session.body.error.code], [401, 'console.signed_out'], 'signed out, as the app expects; /console/login says why');
    assert.match(session.body.error.message, /not configured/);
    assert.equal((await http(bare.url, '/v1/tasks', { headers: { cookie: 'mandate_console=anything' } })).body.error.code, 'request.unauthorized');
  });
});
