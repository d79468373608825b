import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import type { AuditEntry } from '../audit/index.js';
import { CodedError, manualClock, sequenceRandom, systemClock } from '../core/index.js';
import type { IssuerDirectory } from '../identity/index.js';
import { httpIssuerDirectory } from '../server/adapters/index.js';
import { startOidcIssuer, type OidcIssuer } from '../../test/fixtures/oidc-issuer.js';
import { ConsoleSignIn, approverOf, cookieIsSecure, holds, rolesFromGroups, safeReturnPath, type ConsoleSession, type ConsoleSessionRepo, type TokenEndpoint } from './index.js';

describe('safeReturnPath', () => {
  it('keeps same-origin paths under /console/, query and fragment included', () => {
    for (const p of ['/console/', '/console/tasks', '/console/approvals/apr_1?tab=args#top']) assert.equal(safeReturnPath(p), p);
  });
  it('sends everything else to /console/: other origins, other paths, dot segments, backslashes, control characters', () => {
    for (const p of [undefined, 42, '', '/', '/v1/tasks', '//evil.example/console/', 'https://evil.example/console/', '/console/../v1/secrets', '/console/%2e%2e/v1', '/console/..%2fv1', '/console\\..\\v1', '/console/\\\\evil.example', '/console/\tx', '/consolex', 'console/', `/console/${'a'.repeat(3000)}`]) {
      assert.equal(safeReturnPath(p), '/console/', String(p));
    }
  });
});

describe('cookieIsSecure', () => {
  it('is off only over plain http to a loopback address', () => {
    assert.equal(cookieIsSecure('http', '127.0.0.1:8080'), false);
    assert.equal(cookieIsSecure('http', '127.1.2.3'), false);
    assert.equal(cookieIsSecure('http', 'localhost:8080'), false);
    assert.equal(cookieIsSecure('http', '[::1]:8080'), false);
  });
  it('is on over https, and over http to any other host', () => {
    assert.equal(cookieIsSecure('https', '127.0.0.1:8080'), true);
    assert.equal(cookieIsSecure('https', 'mandate.example.com'), true);
    assert.equal(cookieIsSecure('http', 'mandate.example.com'), true);
    assert.equal(cookieIsSecure('http', '10.0.0.5:8080'), true);
    assert.equal(cookieIsSecure('http', 'localhost.evil.example'), true);
    assert.equal(cookieIsSecure('http', '127.0.0.1.nip.io'), true);
  });
});

describe('roles from groups', () => {
  const mapping = { viewer: ['staff'], approver: ['approvers'], operator: ['sre'], admin: ['platform'] };
  it('gives each role whose groups the person is in, in role order', () => {
    assert.deepEqual(rolesFromGroups(['sre', 'approvers', 'other'], mapping), ['approver', 'operator']);
    assert.deepEqual(rolesFromGroups(['other'], mapping), []);
  });
  it('an approver or operator may view; only admin holds every role', () => {
    assert.equal(holds(['approver'], 'viewer'), true);
    assert.equal(holds(['approver'], 'operator'), false);
    assert.equal(holds(['viewer'], 'approver'), false);
    assert.equal(holds(['admin'], 'operator'), true);
    assert.equal(holds([], 'viewer'), false);
  });
});

describe('approverOf', () => {
  it('approves as the verified e-mail with the provider groups, else as the subject', () => {
    assert.deepEqual(approverOf({ subject: '00u1', email: 'alice@example.com', groups: ['approvers'] }), { id: 'alice@example.com', groups: ['approvers'] });
    assert.deepEqual(approverOf({ subject: '00u1', email: null, groups: [] }), { id: '00u1', groups: [] });
  });
});

function memorySessions(): ConsoleSessionRepo & { rows: Map<string, ConsoleSession> } {
  const rows = new Map<string, ConsoleSession>();
  return {
    rows,
    insert: async (s) => void rows.set(s.idHash, s),
    get: async (h) => rows.get(h),
    touch: async (h, at) => void (rows.get(h) && rows.set(h, { ...rows.get(h)!, lastSeenAtMs: at })),
    delete: async (h) => rows.delete(h),
    sweep: async (now) => [...rows.values()].filter((s) => s.expiresAtMs <= now && rows.delete(s.idHash)).length,
  };
}

/**
 * The id token checks against a real issuer over HTTP (discovery and JWKS from the
 * test issuer); the token endpoint answers with the token each case gives.
 */
describe('ConsoleSignIn: the id token', () => {
  let issuer: OidcIssuer;
  const CLIENT = 'mandate-console';
  before(async () => {
    issuer = await startOidcIssuer(CLIENT);
  });
  after(() => issuer.close());

  function flow(idToken: (nonce: string) => Promise<string>, clock = systemClock) {
    const audit: AuditEntry[] = [];
    const sessions = memorySessions();
    // The test issuer's discovery names its keys; the endpoints of the code flow are added here.
    const directory: IssuerDirectory = {
      fetchJson: async (url) => ({ ...((await httpIssuerDirectory.fetchJson(url)) as object), authorization_endpoint: `${issuer.issuer}/authorize`, token_endpoint: `${issuer.issuer}/token` }),
      remoteKeys: httpIssuerDirectory.remoteKeys,
    };
    let nonce = '';
    const tokenEndpoint: TokenEndpoint = async (_url, form) => {
      assert.equal(form.grant_type, 'authorization_code');
      assert.ok(form.code_verifier && form.code_verifier.length >= 43, 'the PKCE verifier goes with the code');
      return { status: 200, body: { id_token: await idToken(nonce), token_type: 'Bearer' } };
    };
    const signIn = new ConsoleSignIn({
      client: { issuer: issuer.issuer, clientId: CLIENT, scopes: ['openid'], groupsClaim: 'groups' },
      roles: { viewer: ['staff'], approver: [], operator: [], admin: [] },
      sessionTtlSeconds: 3600,
      clock,
      random: sequenceRandom('t'),
      directory,
      tokenEndpoint,
      sessions,
      audit: { record: async (e) => void audit.push(e) },
    });
    const run = async () => {
      const { pending, authorizationUrl } = await signIn.begin('/console/tasks', 'http://127.0.0.1:1/console/callback');
      nonce = pending.nonce;
      assert.equal(new URL(authorizationUrl).searchParams.get('nonce'), pending.nonce);
      return signIn.complete({ code: 'c', state: pending.state }, pending);
    };
    return { run, audit, sessions, signIn };
  }
  const refusedWith = async (run: () => Promise<unknown>, why: RegExp) =>
    assert.rejects(run, (err: unknown) => err instanceof CodedError && err.code === 'console.sign_in_failed' && why.test(err.publicMessage));

  it('accepts a token from the issuer for this client with this sign-in\'s nonce, and opens a session', async () => {
    const f = flow((nonce) => issuer.idToken('u1', { nonce, groups: ['staff'], email: 'U1@Example.com', name: 'U One' }));
    const { sessionId, session, returnTo } = await f.run();
    assert.equal(returnTo, '/console/tasks');
    assert.deepEqual([session.subject, session.email, session.roles], ['u1', 'u1@example.com', ['viewer']]);
    assert.equal(f.sessions.rows.has(sessionId), false, 'only a hash of the session id is stored');
    assert.equal((await f.signIn.session(sessionId))?.subject, 'u1');
    assert.equal(f.audit.at(-1)?.type, 'console.signed_in');
  });

  it('refuses another sign-in\'s nonce, or none', async () => {
    await refusedWith(flow(() => issuer.idToken('u1', { nonce: 'other', groups: ['staff'] })).run, /nonce/);
    await refusedWith(flow(() => issuer.idToken('u1', { groups: ['staff'] })).run, /nonce/);
  });

  it('refuses a token for another client, and one for several audiences that names another party', async () => {
    await refusedWith(flow((nonce) => issuer.idToken('u1', { nonce, groups: ['staff'] }, { audience: 'other-app' })).run, /aud/);
    // jose's setAudience takes a list too; the fixture's signature says string.
    const both = [CLIENT, 'other-app'] as unknown as string;
    const shared = flow(async (nonce) => issuer.idToken('u1', { nonce, groups: ['staff'], azp: 'other-app' }, { audience: both }));
    await refusedWith(shared.run, /another client/);
  });

  it('refuses an expired token', async () => {
    await refusedWith(flow((nonce) => issuer.idToken('u1', { nonce, groups: ['staff'] }, { expiresIn: '-1m' })).run, /expired/);
  });

  it('refuses a token signed by a key the issuer does not publish, and one that is not a JWT', async () => {
    const { privateKey } = await jose.generateKeyPair('ES256');
    const forged = (nonce: string) =>
      new jose.SignJWT({ nonce, groups: ['staff'] }).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setIssuer(issuer.issuer).setAudience(CLIENT).setSubject('u1').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    await refusedWith(flow(forged).run, /signature/);
    await refusedWith(flow(async () => 'not-a-jwt').run, /malformed/);
  });

  it('a session ends at its expiry and at sign-out', async () => {
    const clock = manualClock(Date.now());
    const f = flow((nonce) => issuer.idToken('u1', { nonce, groups: ['staff'] }), clock);
    const { sessionId, session } = await f.run();
    clock.advance(3599_000);
    assert.ok(await f.signIn.session(sessionId));
    clock.advance(1000);
    assert.equal(await f.signIn.session(sessionId), undefined, 'expired');
    clock.advance(-1000);
    await f.signIn.signOut(session);
    assert.equal(await f.signIn.session(sessionId), undefined, 'signed out');
    assert.equal(f.audit.at(-1)?.type, 'console.signed_out');
  });
});
