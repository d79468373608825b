import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import { taskFixture } from '../../test/fixtures/task.js';
import { manualClock, type AgentId, type DecisionId, type TaskId } from '../core/index.js';
import { TXN_TOKEN_TYP, txnTokenClaims, type Decision, type TaskContext } from '../decision/index.js';
import { TxnTokens, type TxnTokenTarget } from '../gateway/index.js';
import { KeyRing, type KeyRepo, type SigningKeyRecord } from '../identity/index.js';
import { MandateSchema } from '../mandate/index.js';
import { TransactionTokenError, verifyTransactionToken, type VerifyTransactionTokenOptions } from './index.js';

/** The signing keys of a trust domain, kept in memory. */
function memoryKeys(): KeyRepo {
  const records: SigningKeyRecord[] = [];
  return {
    list: async () => records.map((r) => ({ ...r })),
    insert: async (r) => void records.push({ ...r }),
    retire: async (kid, retiredAtMs, dropAtMs) => {
      const r = records.find((k) => k.kid === kid);
      if (r) Object.assign(r, { retiredAtMs, dropAtMs });
    },
  };
}

const START = Date.UTC(2026, 5, 1);
const BILLING: TxnTokenTarget = { gateway: 'http', upstream: 'billing', audience: 'https://billing.internal', ttlSeconds: 60 };

const task = taskFixture('tsk_child0000001', {
  agentName: 'writer',
  spiffeId: 'spiffe://acme.internal/agent/writer',
  principal: 'alice@example.com',
  mandate: MandateSchema.parse({ purpose: 'file the Q3 invoices', tools: ['billing.createInvoice'] }),
  parentTaskId: 'tsk_parent000001' as TaskId,
  delegationDepth: 1,
  chain: [{ taskId: 'tsk_parent000001' as TaskId, agentId: 'agt_planner00001' as AgentId, spiffeId: 'spiffe://acme.internal/agent/planner' }],
  expiresAtMs: START + 600_000,
});

const decision = {
  id: 'dcn_0123456789ab' as DecisionId,
  outcome: 'allow',
  reason: { code: 'policy.permit', message: 'permitted' },
  layer: 'policy',
  policies: ['permit-billing'],
  policyVersion: 7,
  stepUp: [],
  approvalId: null,
  drift: null,
  obligations: { redact: [] },
  taskId: task.id,
  agentId: task.agentId,
  tool: 'billing.createInvoice',
  callCount: 1,
  targets: [],
  atMs: START,
} as Decision;

const ctx = { claims: {}, task, agent: undefined, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } as unknown as TaskContext;

describe('transaction tokens: minted per allowed call', () => {
  it('carry the draft claim set: txn is the decision, sub the principal, scope the action, tctx the task and its chain', () => {
    const claims = txnTokenClaims({ task, decision, trustDomain: 'acme.internal', ...BILLING, traceId: ctx.traceId, nowMs: START + 400 });
    assert.deepEqual(claims, {
      iss: 'spiffe://acme.internal/mandate',
      iat: START / 1000,
      exp: START / 1000 + 60,
      aud: ['acme.internal', 'https://billing.internal'],
      txn: 'dcn_0123456789ab',
      sub: 'alice@example.com',
      scope: 'billing.createInvoice',
      req_wl: 'spiffe://acme.internal/mandate/gateway/http',
      tctx: {
        purpose: 'file the Q3 invoices',
        tool: 'billing.createInvoice',
        decision_id: 'dcn_0123456789ab',
        policy_version: 7,
        task_id: 'tsk_child0000001',
        agent: 'spiffe://acme.internal/agent/writer',
        principal: 'alice@example.com',
        parent_task_id: 'tsk_parent000001',
        delegation_depth: 1,
        chain: [{ task_id: 'tsk_parent000001', agent: 'spiffe://acme.internal/agent/planner' }],
      },
      rctx: { gateway: 'http', upstream: 'billing', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
    });
  });

  it('name the agent as the subject when the task acts for nobody, and never outlive the task', () => {
    const root = taskFixture('tsk_root00000001', { expiresAtMs: START + 10_000 });
    const claims = txnTokenClaims({ task: root, decision, trustDomain: 't', gateway: 'mcp', upstream: 'fs', audience: 'fs', ttlSeconds: 60, nowMs: START });
    assert.equal(claims.sub, 'spiffe://t/agent/bot');
    assert.equal(claims.exp, START / 1000 + 10);
    assert.deepEqual(claims.aud, ['t', 'fs']);
    assert.equal(claims.req_wl, 'spiffe://t/mandate/gateway/mcp');
    assert.equal('principal' in claims.tctx || 'chain' in claims.tctx || 'parent_task_id' in claims.tctx, false);
    assert.deepEqual(claims.rctx, { gateway: 'mcp', upstream: 'fs' });
  });
});

describe('verifyTransactionToken', () => {
  const clock = manualClock(START);
  let keys: KeyRing;
  let minter: TxnTokens;
  let jwks: { keys: JsonWebKey[] };
  let token: string;
  const opts = (extra: Partial<VerifyTransactionTokenOptions> = {}): VerifyTransactionTokenOptions => ({ jwks, audience: BILLING.audience, nowMs: START + 1000, ...extra });
  const refused = (code: string) => (err: unknown) => {
    assert.ok(err instanceof TransactionTokenError, `expected a TransactionTokenError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
  /** The token with its payload replaced, its signature kept. */
  const altered = (t: string, change: (claims: Record<string, any>) => void) => {
    const [h, p, s] = t.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    change(claims);
    return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  };
  /** A token signed by the trust domain's key with any header and claims (what a bug or a stolen key could produce). */
  const signed = async (claims: Record<string, unknown>, typ = TXN_TOKEN_TYP) => keys.sign(claims, typ);
  let jwksServer: Server;
  let jwksUrl = '';
  let jwksReads = 0;

  before(async () => {
    keys = await KeyRing.open(memoryKeys(), clock, 3600);
    jwks = keys.jwks() as { keys: JsonWebKey[] };
    minter = new TxnTokens({ sign: (claims, typ) => keys.signSync(claims, typ), clock, trustDomain: 'acme.internal' });
    token = await minter.mint(ctx, decision, BILLING);
    jwksServer = createServer((_req, res) => {
      jwksReads++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(keys.jwks()));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/v1/jwks.json`;
  });
  after(() => new Promise((r) => jwksServer.close(r)));

  it('is an ES256 JWT of typ txntoken+jwt, signed by the current key, that any JOSE library verifies', async () => {
    const header = jose.decodeProtectedHeader(token);
    assert.deepEqual(header, { alg: 'ES256', kid: keys.kids()[0], typ: 'txntoken+jwt' });
    const { payload } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks as jose.JSONWebKeySet), { typ: TXN_TOKEN_TYP, audience: 'acme.internal', currentDate: new Date(START) });
    assert.equal(payload.txn, decision.id);
  });

  it('accepts a token the gateway minted and returns its claims', async () => {
    const claims = await verifyTransactionToken(token, opts({ trustDomain: 'acme.internal', issuer: 'spiffe://acme.internal/mandate', maxAgeSeconds: 30 }));
    assert.equal(claims.txn, decision.id);
    assert.equal(claims.sub, 'alice@example.com');
    assert.equal(claims.tctx.task_id, task.id);
    assert.equal(claims.tctx.chain?.[0]?.agent, 'spiffe://acme.internal/agent/planner');
  });

  it('reads the key set from a URL once, and again only for a key it has not seen', async () => {
    const before = jwksReads;
    await verifyTransactionToken(token, opts({ jwks: undefined, jwksUrl }));
    await verifyTransactionToken(token, opts({ jwks: undefined, jwksUrl }));
    assert.equal(jwksReads - before, 1);
    await keys.rotate();
    const fresh = await minter.mint(ctx, decision, BILLING);
    await new Promise((r) => setTimeout(r, 1100)); // past the re-read interval
    await verifyTransactionToken(fresh, opts({ jwks: undefined, jwksUrl }));
    assert.equal(jwksReads - before, 2, 'the rotated key was fetched');
    jwks = keys.jwks() as { keys: JsonWebKey[] };
    await assert.rejects(verifyTransactionToken(token, opts({ jwks: undefined, jwksUrl: 'http://127.0.0.1:1/jwks.json' })), refused('jwks_unavailable'));
  });

  it('refuses a forged signature: a key the trust domain does not publish', async () => {
    const { privateKey } = await jose.generateKeyPair('ES256');
    const forged = await new jose.SignJWT(jose.decodeJwt(token)).setProtectedHeader({ alg: 'ES256', typ: TXN_TOKEN_TYP, kid: keys.kids()[0] }).sign(privateKey);
    await assert.rejects(verifyTransactionToken(forged, opts()), refused('bad_signature'));
    const unknownKid = await new jose.SignJWT(jose.decodeJwt(token)).setProtectedHeader({ alg: 'ES256', typ: TXN_TOKEN_TYP, kid: 'someone-else' }).sign(privateKey);
    await assert.rejects(verifyTransactionToken(unknownKid, opts()), refused('unknown_key'));
    const [h, p] = token.split('.');
    await assert.rejects(verifyTransactionToken(`${h}.${p}.${'A'.repeat(86)}`, opts()), refused('bad_signature'));
  });

  it('refuses an altered claim: another principal, purpose or tool breaks the signature', async () => {
    for (const change of [(c: any) => (c.sub = 'mallory@example.com'), (c: any) => (c.tctx.purpose = 'pay everyone'), (c: any) => (c.scope = 'billing.createPayment'), (c: any) => (c.exp += 3600)]) {
      await assert.rejects(verifyTransactionToken(altered(token, change), opts()), refused('bad_signature'));
    }
  });

  it('refuses a token replayed to another upstream: the wrong audience', async () => {
    await assert.rejects(verifyTransactionToken(token, opts({ audience: 'https://payments.internal' })), refused('wrong_audience'));
    await assert.rejects(verifyTransactionToken(token, opts({ trustDomain: 'other.internal' })), refused('wrong_audience'));
    await assert.rejects(verifyTransactionToken(token, opts({ issuer: 'spiffe://other.internal/mandate' })), refused('wrong_issuer'));
  });

  it('refuses an expired token, one from the future and one older than maxAgeSeconds', async () => {
    await assert.rejects(verifyTransactionToken(token, opts({ nowMs: START + 60_000 + 5_000 })), refused('expired'));
    await verifyTransactionToken(token, opts({ nowMs: START + 60_000 + 4_000 })); // within the default leeway
    await assert.rejects(verifyTransactionToken(token, opts({ nowMs: START + 60_000, clockToleranceSeconds: 0 })), refused('expired'));
    await assert.rejects(verifyTransactionToken(token, opts({ nowMs: START - 10_000 })), refused('not_yet_valid'));
    await assert.rejects(verifyTransactionToken(token, opts({ nowMs: START + 40_000, maxAgeSeconds: 30 })), refused('too_old'));
  });

  it('refuses the wrong typ: a task credential or an SVID is not a transaction token', async () => {
    const claims = jose.decodeJwt(token);
    await assert.rejects(verifyTransactionToken(await signed(claims, 'task+jwt'), opts()), refused('wrong_typ'));
    await assert.rejects(verifyTransactionToken(await signed(claims, 'JWT'), opts()), refused('wrong_typ'));
    await verifyTransactionToken(await signed(claims, 'application/txntoken+jwt'), opts());
  });

  it('refuses alg none, HMAC, critical extensions and tokens that are not JWS', async () => {
    const [h, p] = token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: TXN_TOKEN_TYP })).toString('base64url')}.${p}.`;
    await assert.rejects(verifyTransactionToken(none, opts()), refused('malformed'));
    const hs = await new jose.SignJWT(jose.decodeJwt(token)).setProtectedHeader({ alg: 'HS256', typ: TXN_TOKEN_TYP, kid: keys.kids()[0] }).sign(new TextEncoder().encode('x'.repeat(32)));
    await assert.rejects(verifyTransactionToken(hs, opts()), refused('wrong_alg'));
    const crit = `${Buffer.from(JSON.stringify({ ...jose.decodeProtectedHeader(token), crit: ['b64'], b64: true })).toString('base64url')}.${p}.${token.split('.')[2]}`;
    await assert.rejects(verifyTransactionToken(crit, opts()), refused('malformed'));
    for (const bad of ['', 'a.b', `${h}.${p}`, 'not a token at all', `${h}.!!.sig`]) await assert.rejects(verifyTransactionToken(bad, opts()), refused('malformed'));
  });

  it('refuses a validly signed token that lacks a required claim', async () => {
    const claims = jose.decodeJwt(token);
    for (const name of ['txn', 'sub', 'scope', 'req_wl', 'iat', 'exp', 'aud']) {
      const { [name]: _gone, ...rest } = claims;
      await assert.rejects(verifyTransactionToken(await signed(rest), opts()), refused('missing_claim'), name);
    }
  });
});
