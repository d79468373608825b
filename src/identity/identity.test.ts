import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import type { AuditEntry } from '../audit/model.js';
import { CodedError, manualClock, systemRandom } from '../core/index.js';
import { httpIssuerDirectory } from '../server/adapters/index.js';
import { openSqliteStore, type Store } from '../store/index.js';
import { IdentityService, KeyRing, OidcTrust, SVID_TYP, matchesClaim, readClaim } from './index.js';

const rejectsWith = (code: string) => (e: unknown) => {
  assert.ok(e instanceof CodedError, `expected CodedError, got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

describe('identity', () => {
  const clock = manualClock(Date.UTC(2026, 5, 1));
  const events: AuditEntry[] = [];
  const audit = { record: async (e: AuditEntry) => void events.push(e) };
  let store: Store;
  let keys: KeyRing;
  let identity: IdentityService;
  // A local OIDC issuer on 127.0.0.1: discovery document and JWKS, as a CI or Kubernetes issuer serves them.
  let issuerServer: Server;
  let issuerUrl = '';
  let issuerKey: CryptoKey;

  before(async () => {
    const pair = await jose.generateKeyPair('RS256');
    issuerKey = pair.privateKey;
    const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid: 'issuer-key-1', alg: 'RS256', use: 'sig' };
    issuerServer = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/keys` }));
      else if (req.url === '/keys') res.end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', r));
    issuerUrl = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;

    store = await openSqliteStore(':memory:');
    keys = await KeyRing.open(store.keys, clock, 3600);
    identity = new IdentityService({
      trustDomain: 'acme.internal',
      svidAudience: 'spiffe://acme.internal/mandate',
      svidTtlSeconds: 300,
      keys,
      agents: store.agents,
      joinTokens: store.joinTokens,
      oidc: new OidcTrust([{ issuer: issuerUrl, audience: 'mandate' }], clock, httpIssuerDirectory),
      audit,
      clock,
      random: systemRandom,
    });
    await identity.registerAgent({ name: 'deployer', attestation: { joinToken: true, oidc: [{ issuer: issuerUrl, claims: { repository: 'acme/app', 'kubernetes.io/serviceaccount/name': 'deploy-*' } }] } }, 'admin');
    await identity.registerAgent({ name: 'reader' }, 'admin');
  });
  after(async () => {
    await store.close();
    issuerServer.close();
  });

  const oidcToken = (claims: Record<string, unknown>, opts: { aud?: string; exp?: number; key?: CryptoKey; iss?: string } = {}) =>
    new jose.SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'issuer-key-1' })
      .setIssuer(opts.iss ?? issuerUrl)
      .setAudience(opts.aud ?? 'mandate')
      .setSubject('system:serviceaccount:prod:deploy-bot')
      .setIssuedAt(Math.floor(clock.nowMs() / 1000))
      .setExpirationTime(opts.exp ?? Math.floor(clock.nowMs() / 1000) + 600)
      .sign(opts.key ?? issuerKey);

  it('registers agents with SPIFFE IDs in the trust domain and refuses bad names and duplicates', async () => {
    const agent = await identity.agentByName('reader');
    assert.equal(agent.spiffeId, 'spiffe://acme.internal/agent/reader');
    await assert.rejects(identity.registerAgent({ name: 'reader' }, 'admin'), rejectsWith('identity.agent_exists'));
    await assert.rejects(identity.registerAgent({ name: 'Bad Name' }, 'admin'), (e: unknown) => e instanceof CodedError && e.code === 'request.invalid' && e.publicMessage.includes('name'));
    await assert.rejects(identity.registerAgent({ name: 'x', colour: 'red' }, 'admin'), (e: unknown) => e instanceof CodedError && e.publicMessage.includes('`colour`'));
  });

  it('a join token attests exactly once and yields a verifiable JWT-SVID', async () => {
    const { token } = await identity.createJoinToken('reader', 600, 'admin');
    const issued = await identity.attestWithJoinToken(token);
    assert.equal(issued.spiffeId, 'spiffe://acme.internal/agent/reader');
    assert.equal(issued.expiresAtMs, Math.floor(clock.nowMs() / 1000) * 1000 + 300_000);
    const { claims } = await identity.verifySvid(issued.svid);
    assert.equal(claims.agentName, 'reader');
    await assert.rejects(identity.attestWithJoinToken(token), rejectsWith('identity.join_token_invalid'));
    assert.ok(events.some((e) => e.type === 'attestation.failed'));
  });

  it('an expired join token is refused', async () => {
    const { token } = await identity.createJoinToken('reader', 60, 'admin');
    clock.advance(61_000);
    await assert.rejects(identity.attestWithJoinToken(token), rejectsWith('identity.join_token_invalid'));
  });

  it('SVIDs: expired, wrong audience, alg none, forged signature and unknown key are refused', async () => {
    const { token } = await identity.createJoinToken('reader', 600, 'admin');
    const { svid } = await identity.attestWithJoinToken(token);
    const [h, p] = svid.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    await assert.rejects(identity.verifySvid(none), rejectsWith('identity.svid_invalid'));
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'spiffe://acme.internal/agent/deployer' })).toString('base64url')}.${svid.split('.')[2]}`;
    await assert.rejects(identity.verifySvid(tampered), rejectsWith('identity.svid_invalid'));
    await assert.rejects(identity.verifySvid('garbage'), rejectsWith('identity.svid_invalid'));
    const wrongAud = await keys.sign({ ...payload, aud: 'someone-else' }, SVID_TYP);
    await assert.rejects(identity.verifySvid(wrongAud), rejectsWith('identity.svid_invalid'));
    const stranger = await jose.generateKeyPair('ES256');
    const foreign = await new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'not-ours', typ: SVID_TYP }).sign(stranger.privateKey);
    await assert.rejects(identity.verifySvid(foreign), rejectsWith('identity.svid_invalid'));
    clock.advance(301_000);
    await assert.rejects(identity.verifySvid(svid), rejectsWith('identity.svid_expired'));
  });

  it('rotation: new tokens use the new key, old tokens verify until the old key is dropped', async () => {
    const { token } = await identity.createJoinToken('reader', 600, 'admin');
    const { svid: before } = await identity.attestWithJoinToken(token);
    const oldKid = jose.decodeProtectedHeader(before).kid;
    const { kid, retired } = await keys.rotate();
    assert.deepEqual(retired, [oldKid]);
    const renewed = await identity.renewSvid(before);
    assert.equal(jose.decodeProtectedHeader(renewed.svid).kid, kid);
    assert.ok((await identity.verifySvid(before)).claims, 'old SVID still verifies');
    assert.deepEqual(keys.jwks().keys.map((k) => k.kid).sort(), [kid, oldKid].sort());
    clock.advance(3_600_001);
    await keys.refresh();
    assert.deepEqual(keys.jwks().keys.map((k) => k.kid), [kid], 'the retired key left the JWKS after the longest token life');
  });

  it('OIDC: a token from the trusted issuer whose claims match one rule attests that agent', async () => {
    const token = await oidcToken({ repository: 'acme/app', 'kubernetes.io': { serviceaccount: { name: 'deploy-bot' } } });
    const issued = await identity.attestWithOidc(token);
    assert.equal(issued.spiffeId, 'spiffe://acme.internal/agent/deployer');
  });

  it('OIDC: wrong audience, expired, untrusted issuer, forged key and non-matching claims are refused', async () => {
    const claims = { repository: 'acme/app', 'kubernetes.io': { serviceaccount: { name: 'deploy-bot' } } };
    await assert.rejects(identity.attestWithOidc(await oidcToken(claims, { aud: 'other' })), rejectsWith('identity.oidc_untrusted'));
    await assert.rejects(identity.attestWithOidc(await oidcToken(claims, { exp: Math.floor(clock.nowMs() / 1000) - 10 })), rejectsWith('identity.oidc_untrusted'));
    await assert.rejects(identity.attestWithOidc(await oidcToken(claims, { iss: 'https://evil.example' })), rejectsWith('identity.oidc_untrusted'));
    const forger = await jose.generateKeyPair('RS256');
    await assert.rejects(identity.attestWithOidc(await oidcToken(claims, { key: forger.privateKey })), rejectsWith('identity.oidc_untrusted'));
    await assert.rejects(identity.attestWithOidc(await oidcToken({ ...claims, repository: 'acme/other' })), rejectsWith('identity.oidc_no_match'));
    await assert.rejects(identity.attestWithOidc('not.a.jwt'), rejectsWith('identity.oidc_untrusted'));
  });

  it('a deregistered agent can no longer attest or use its SVID', async () => {
    const { token } = await identity.createJoinToken('reader', 600, 'admin');
    const { svid } = await identity.attestWithJoinToken(token);
    const { token: second } = await identity.createJoinToken('reader', 600, 'admin');
    await identity.deregisterAgent('reader', 'admin');
    await assert.rejects(identity.verifySvid(svid), rejectsWith('identity.agent_disabled'));
    await assert.rejects(identity.attestWithJoinToken(second), rejectsWith('identity.agent_disabled'));
  });

  it('claim paths and wildcards', () => {
    assert.equal(readClaim({ 'kubernetes.io': { namespace: 'prod' } }, 'kubernetes.io/namespace'), 'prod');
    assert.equal(readClaim({ 'a/b': 1 }, 'a/b'), 1);
    assert.equal(readClaim({ a: 'x' }, 'a/b'), undefined);
    assert.equal(matchesClaim('deploy-bot', 'deploy-*'), true);
    assert.equal(matchesClaim('deploy.bot', 'deploy?bot'), false);
    assert.equal(matchesClaim('xdeploy-bot', 'deploy-*'), false);
    assert.equal(matchesClaim({ a: 1 }, '*'), false, 'objects never match');
  });
});
