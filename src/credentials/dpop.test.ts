import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import { CodedError, manualClock, type ErrorCode } from '../core/index.js';
import { createDpopProof } from '../sdk/dpop.js';
import { DpopKeyCache, jwkThumbprint, normalizedHtu, verifyDpopProof, type DpopExpectation } from './dpop.js';
import { MemoryDpopReplayCache } from './dpop-replay-cache.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const URL_ = 'https://api.example/v1/decide';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0YXNrIn0.c2lnbmF0dXJl';

interface Pair {
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

async function pair(alg: 'ES256' | 'ES384' | 'EdDSA' | 'RS256' | 'PS256' = 'ES256'): Promise<Pair> {
  const params = {
    ES256: { name: 'ECDSA', namedCurve: 'P-256' },
    ES384: { name: 'ECDSA', namedCurve: 'P-384' },
    EdDSA: { name: 'Ed25519' },
    RS256: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    PS256: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  }[alg];
  const keys = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: keys.privateKey, publicJwk: await crypto.subtle.exportKey('jwk', keys.publicKey) };
}

const es256 = await pair();
const other = await pair();

/** A fresh replay cache whose clock agrees with `NOW`, and an expectation for a POST to URL_. */
function setup(overrides: Partial<DpopExpectation> = {}) {
  const clock = manualClock(NOW);
  const replay = new MemoryDpopReplayCache({ clock });
  const keys = new DpopKeyCache();
  const expect: DpopExpectation = { method: 'POST', url: URL_, nowMs: NOW, ...overrides };
  return { clock, replay, keys, expect, verify: (proof: string | undefined, e: Partial<DpopExpectation> = {}) => verifyDpopProof(proof, { ...expect, ...e }, replay, keys) };
}

const proofOf = (p: Pair = es256, r: { method?: string; url?: string; accessToken?: string; nowMs?: number; jti?: string } = {}) =>
  createDpopProof({ privateKey: p.privateKey, publicJwk: p.publicJwk, method: r.method ?? 'POST', url: r.url ?? URL_, nowMs: r.nowMs ?? NOW, ...(r.accessToken !== undefined ? { accessToken: r.accessToken } : {}), ...(r.jti ? { jti: r.jti } : {}) });

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A JWS signed with node:crypto over whatever header and claims a test needs, valid or not. */
function rawJws(header: Record<string, unknown>, claims: Record<string, unknown>, sign: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(Buffer.from(input)).toString('base64url')}`;
}

const nodeEc = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const nodeEcJwk = nodeEc.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
const ecSign = (input: Buffer) => crypto.sign('sha256', input, { key: nodeEc.privateKey, dsaEncoding: 'ieee-p1363' });
const claims = (extra: Record<string, unknown> = {}) => ({ jti: crypto.randomUUID(), htm: 'POST', htu: URL_, iat: NOW / 1000, ...extra });
const header = (extra: Record<string, unknown> = {}) => ({ typ: 'dpop+jwt', alg: 'ES256', jwk: nodeEcJwk, ...extra });

async function refused(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CodedError, `a CodedError, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.publicMessage, message);
    return true;
  });
}

describe('DPoP proofs', () => {
  it('a proof made by the SDK verifies, bound to its key, its request and its access token', async () => {
    const { verify } = setup();
    const jkt = jwkThumbprint(es256.publicJwk as Record<string, unknown>);
    const proof = await proofOf(es256, { accessToken: TOKEN });
    const verified = await verify(proof, { accessToken: TOKEN, jkt });
    assert.equal(verified.jkt, jkt);
    assert.equal(verified.iat, NOW / 1000);
    assert.match(verified.jti, /^[A-Za-z0-9_-]{22}$/, '128 random bits');
    const [h, c] = proof.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()));
    assert.deepEqual(Object.keys(h).sort(), ['alg', 'jwk', 'typ']);
    assert.deepEqual(Object.keys(h.jwk).sort(), ['crv', 'kty', 'x', 'y'], 'public members only');
    assert.deepEqual({ htm: c.htm, htu: c.htu, ath: c.ath }, { htm: 'POST', htu: URL_, ath: crypto.createHash('sha256').update(TOKEN).digest('base64url') });
  });

  for (const alg of ['ES384', 'EdDSA', 'RS256', 'PS256'] as const) {
    it(`${alg} proofs verify too`, async () => {
      const { verify } = setup();
      const p = await pair(alg);
      assert.equal((await verify(await proofOf(p))).jkt, await jose.calculateJwkThumbprint(p.publicJwk as jose.JWK));
    });
  }

  it('proofs signed by jose verify, Ed25519 under its fully-specified name too', async () => {
    const { verify } = setup();
    for (const alg of ['ES256', 'EdDSA', 'Ed25519', 'PS256'] as const) {
      const { privateKey, publicKey } = await jose.generateKeyPair(alg);
      const proof = await new jose.SignJWT(claims()).setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: await jose.exportJWK(publicKey) }).sign(privateKey);
      assert.equal((await verify(proof)).jkt, await jose.calculateJwkThumbprint(await jose.exportJWK(publicKey)), alg);
    }
  });

  it('the SDK leaves query and fragment out of htu, and never puts private members in the header', async () => {
    const { verify } = setup();
    const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const privateJwk = await crypto.subtle.exportKey('jwk', privateKey);
    const proof = await createDpopProof({ privateKey, publicJwk: privateJwk, method: 'GET', url: 'https://API.example:443/v1/tasks?state=active#top', nowMs: NOW });
    const [h, c] = proof.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()));
    assert.equal(h.jwk.d, undefined);
    assert.equal(c.htu, 'https://api.example/v1/tasks');
    assert.equal((await verify(proof, { method: 'GET', url: 'https://api.example/v1/tasks' })).jkt, await jose.calculateJwkThumbprint((await crypto.subtle.exportKey('jwk', publicKey)) as jose.JWK));
    await assert.rejects(createDpopProof({ privateKey, publicJwk: privateJwk, method: 'GET', url: 'ftp://api.example/', nowMs: NOW }), TypeError);
  });

  describe('is refused as dpop.missing or dpop.invalid when it is not a usable proof', () => {
    it('absent or empty', async () => {
      const { verify } = setup();
      await refused(verify(undefined), 'dpop.missing');
      await refused(verify(''), 'dpop.missing');
    });

    it('not one compact JWT', async () => {
      const { verify } = setup();
      const good = await proofOf();
      for (const bad of ['abc', good.split('.').slice(0, 2).join('.'), `${good}.${good.split('.')[2]}`, `${good}, ${good}`, good.replace('.', '.!'), `${good.split('.').slice(0, 2).join('.')}.`, `${'a'.repeat(9000)}.b.c`]) {
        await refused(verify(bad), 'dpop.invalid');
      }
      await refused(verify(`${b64('x').slice(0, -1)}.${b64(claims())}.AAAA`), 'dpop.invalid', /header is not/);
      await refused(verify(rawJws(header(), [] as unknown as Record<string, unknown>, ecSign)), 'dpop.invalid', /payload is not a JSON object/);
    });

    it('a typ other than dpop+jwt', async () => {
      const { verify } = setup();
      for (const typ of [undefined, 'JWT', 'DPOP+JWT', 'application/dpop+jwt', 'task+jwt']) {
        await refused(verify(rawJws(header({ typ }), claims(), ecSign)), 'dpop.invalid', /typ/);
      }
    });

    it('alg none', async () => {
      const { verify } = setup();
      const unsigned = `${b64(header({ alg: 'none' }))}.${b64(claims())}`;
      await refused(verify(`${unsigned}.`), 'dpop.invalid');
      await refused(verify(`${unsigned}.AAAA`), 'dpop.invalid', /alg/);
    });

    it('HMAC, keyed by the public key or by a symmetric jwk', async () => {
      const { verify } = setup();
      const secret = Buffer.from(JSON.stringify(nodeEcJwk));
      const hmac = (input: Buffer) => crypto.createHmac('sha256', secret).update(input).digest();
      await refused(verify(rawJws(header({ alg: 'HS256' }), claims(), hmac)), 'dpop.invalid', /alg/);
      await refused(verify(rawJws(header({ alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } }), claims(), hmac)), 'dpop.invalid', /alg/);
      await refused(verify(rawJws(header({ alg: 'hs256' }), claims(), hmac)), 'dpop.invalid', /alg/);
    });

    it('a jwk holding a private key', async () => {
      const { verify } = setup();
      const privateJwk = nodeEc.privateKey.export({ format: 'jwk' });
      await refused(verify(rawJws(header({ jwk: privateJwk }), claims(), ecSign)), 'dpop.invalid', /private/);
      await refused(verify(rawJws(header({ jwk: { ...nodeEcJwk, k: 'AAAA' } }), claims(), ecSign)), 'dpop.invalid', /private/);
    });

    it('a jwk that is missing, of the wrong type or curve, malformed, or not a point on its curve', async () => {
      const { verify } = setup();
      const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
      const ed = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
      const x = nodeEcJwk.x as string;
      // The same 32 bytes with one of the two unused trailing bits set: another spelling, so another thumbprint.
      const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const respelled = `${x.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(x.at(-1)!) | 1]}`;
      assert.deepEqual(Buffer.from(respelled, 'base64url'), Buffer.from(x, 'base64url'));
      const cases: [unknown, RegExp][] = [
        [undefined, /lacks a `jwk`/],
        ['jwk', /lacks a `jwk`/],
        [[nodeEcJwk], /lacks a `jwk`/],
        [p384, /not on P-256/],
        [ed, /not an EC key/],
        [{ ...nodeEcJwk, x: `${x}A` }, /malformed `x`/],
        [{ ...nodeEcJwk, x: x.slice(1) }, /malformed `x`/],
        [{ ...nodeEcJwk, x: respelled }, /malformed `x`/],
        [{ ...nodeEcJwk, x: `${x.slice(0, -1)}=` }, /lacks a base64url `x`/],
        [{ ...nodeEcJwk, x: undefined }, /lacks a base64url `x`/],
        [{ ...nodeEcJwk, alg: 'ES384' }, /another `alg`/],
        [{ ...nodeEcJwk, use: 'enc' }, /not for signatures/],
        [{ ...nodeEcJwk, y: x }, /not a valid public key/],
      ];
      for (const [jwk, message] of cases) await refused(verify(rawJws(header({ jwk }), claims(), ecSign)), 'dpop.invalid', message);
      // The optional members may be there when they agree.
      await verify(rawJws(header({ jwk: { ...nodeEcJwk, alg: 'ES256', use: 'sig', kid: 'k1' } }), claims(), ecSign));
    });

    it('an RSA key under 2048 bits', async () => {
      const { verify } = setup();
      const weak = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
      const proof = rawJws(header({ alg: 'RS256', jwk: weak.publicKey.export({ format: 'jwk' }) }), claims(), (input) => crypto.sign('sha256', input, weak.privateKey));
      await refused(verify(proof), 'dpop.invalid', /2048/);
    });

    it('a signature that does not verify with the jwk', async () => {
      const { verify } = setup();
      const good = await proofOf();
      const [h, c, s] = good.split('.') as [string, string, string];
      const flipped = Buffer.from(s, 'base64url');
      flipped[10]! ^= 1;
      await refused(verify(`${h}.${c}.${flipped.toString('base64url')}`), 'dpop.invalid', /signature/);
      await refused(verify(`${h}.${c}.${s.slice(0, -4)}`), 'dpop.invalid', /signature/);
      // Another key's signature under this key's header.
      const byOther = (await proofOf(other)).split('.')[2];
      await refused(verify(`${h}.${c}.${byOther}`), 'dpop.invalid', /signature/);
      // The claims changed after signing.
      const tampered = b64({ ...JSON.parse(Buffer.from(c, 'base64url').toString()), htm: 'GET' });
      await refused(verify(`${h}.${tampered}.${s}`, { method: 'GET' }), 'dpop.invalid', /signature/);
    });

    it('a critical JWS extension', async () => {
      const { verify } = setup();
      await refused(verify(rawJws(header({ crit: ['exp'] }), claims(), ecSign)), 'dpop.invalid', /extension/);
      await refused(verify(rawJws(header({ b64: false, crit: ['b64'] }), claims(), ecSign)), 'dpop.invalid', /extension/);
    });

    it('jti, htm, htu or iat missing or malformed', async () => {
      const { verify } = setup();
      for (const extra of [{ jti: undefined }, { jti: '' }, { jti: 7 }, { jti: 'j'.repeat(257) }, { htm: undefined }, { htu: undefined }, { htu: 'not a url' }, { htu: '/v1/decide' }, { htu: 'ftp://api.example/v1/decide' }, { htu: 'https://user:pw@api.example/v1/decide' }, { iat: undefined }, { iat: `${NOW / 1000}` }]) {
        await refused(verify(rawJws(header(), claims(extra), ecSign)), 'dpop.invalid', undefined);
      }
      await verify(rawJws(header(), claims({ jti: 'j'.repeat(256) }), ecSign));
    });
  });

  it('another method is dpop.method_mismatch (methods are case-sensitive)', async () => {
    const { verify } = setup();
    await refused(verify(await proofOf(es256, { method: 'GET' })), 'dpop.method_mismatch');
    await refused(verify(await proofOf(es256, { method: 'post' })), 'dpop.method_mismatch');
  });

  describe('htu', () => {
    it('another URL is dpop.url_mismatch: path, host, scheme or port', async () => {
      const { verify } = setup();
      for (const url of ['https://api.example/v1/decide/', 'https://api.example/v1/tasks', 'https://other.example/v1/decide', 'http://api.example/v1/decide', 'https://api.example:8443/v1/decide', 'https://api.example/V1/decide']) {
        await refused(verify(await proofOf(es256, { url })), 'dpop.url_mismatch', undefined);
      }
      await refused(verify(await proofOf(), { url: 'not a url' }), 'dpop.url_mismatch');
    });

    it('query and fragment are ignored on both sides', async () => {
      const { verify } = setup();
      await verify(await proofOf(), { url: `${URL_}?tool=files.read#x` });
      await verify(rawJws(header(), claims({ htu: `${URL_}?a=1#b` }), ecSign));
      await verify(rawJws(header(), claims({ htu: `${URL_}?a=1` }), ecSign), { url: `${URL_}?b=2` });
    });

    it('scheme and host case, default ports, dot segments and percent-encoding are normalised', async () => {
      const { verify } = setup();
      for (const htu of ['HTTPS://API.Example/v1/decide', 'https://api.example:443/v1/decide', 'https://api.example/v1/./x/../decide', 'https://api.example/v1/%64ecide', 'https://api.example/%76%31/decide']) {
        await verify(rawJws(header(), claims({ htu }), ecSign));
      }
      await verify(rawJws(header(), claims({ htu: 'http://api.example:80/a%2fb/%7euser' }), ecSign), { url: 'http://API.example/a%2Fb/~user' });
    });

    it('normalisation by itself', () => {
      assert.equal(normalizedHtu('HTTP://Example.COM:80'), 'http://example.com/');
      assert.equal(normalizedHtu('https://example.com:8443/a/%7e/%2f/%C3%A9?q#f'), 'https://example.com:8443/a/~/%2F/%C3%A9');
      assert.equal(normalizedHtu('https://example.com/é'), 'https://example.com/%C3%A9');
      assert.equal(normalizedHtu('https://[::1]:443/'), 'https://[::1]/');
      for (const bad of ['', '/relative', 'mailto:a@b.example', 'https://u@example.com/']) assert.equal(normalizedHtu(bad), undefined, bad);
    });
  });

  describe('iat', () => {
    it('older than the window is dpop.stale; at its edge it is accepted', async () => {
      const { verify } = setup();
      await refused(verify(await proofOf(es256, { nowMs: NOW - 61_000 })), 'dpop.stale', /old/);
      await verify(await proofOf(es256, { nowMs: NOW - 60_000 }));
      await refused(verify(await proofOf(es256, { nowMs: NOW - 11_000 }), { maxAgeSeconds: 10 }), 'dpop.stale', /10 s old/);
    });

    it('further ahead than clock skew allows is dpop.stale', async () => {
      const { verify } = setup();
      await refused(verify(await proofOf(es256, { nowMs: NOW + 6_000 })), 'dpop.stale', /ahead/);
      await verify(await proofOf(es256, { nowMs: NOW + 5_000 }));
      await verify(await proofOf(es256, { nowMs: NOW + 30_000 }), { maxSkewSeconds: 30 });
    });

    it('exp and nbf, when a proof carries them, are held to as well', async () => {
      const { verify } = setup();
      await refused(verify(rawJws(header(), claims({ exp: NOW / 1000 }), ecSign)), 'dpop.stale', /exp/);
      await refused(verify(rawJws(header(), claims({ exp: 'later' }), ecSign)), 'dpop.stale', /exp/);
      await refused(verify(rawJws(header(), claims({ nbf: NOW / 1000 + 6 }), ecSign)), 'dpop.stale', /nbf/);
      await verify(rawJws(header(), claims({ exp: NOW / 1000 + 1, nbf: NOW / 1000 + 5 }), ecSign));
    });

    it('a window that is not a number of seconds is a programming error', async () => {
      const { verify } = setup();
      await assert.rejects(verify(await proofOf(), { maxAgeSeconds: Number.NaN }), TypeError);
      await assert.rejects(verify(await proofOf(), { maxSkewSeconds: -1 }), TypeError);
    });
  });

  describe('ath', () => {
    it('a hash of another token, or none while a token is presented, is dpop.ath_mismatch', async () => {
      const { verify } = setup();
      await refused(verify(await proofOf(es256, { accessToken: `${TOKEN}x` }), { accessToken: TOKEN }), 'dpop.ath_mismatch', /not the hash/);
      await refused(verify(await proofOf(), { accessToken: TOKEN }), 'dpop.ath_mismatch', /lacks/);
      await refused(verify(rawJws(header(), claims({ ath: 42 }), ecSign), { accessToken: TOKEN }), 'dpop.ath_mismatch');
    });

    it('without an access token, ath is not looked at', async () => {
      const { verify } = setup();
      await verify(await proofOf(es256, { accessToken: TOKEN }));
    });
  });

  it('a key other than the bound one is dpop.key_mismatch', async () => {
    const { verify } = setup();
    const boundToOther = jwkThumbprint(other.publicJwk as Record<string, unknown>);
    await refused(verify(await proofOf(), { jkt: boundToOther }), 'dpop.key_mismatch');
    await verify(await proofOf(other), { jkt: boundToOther });
  });

  describe('replay', () => {
    it('the same proof twice is dpop.replayed', async () => {
      const { verify } = setup();
      const proof = await proofOf();
      await verify(proof);
      await refused(verify(proof), 'dpop.replayed');
    });

    it('a jti is per key: the same jti under another key is another proof', async () => {
      const { verify } = setup();
      await verify(await proofOf(es256, { jti: 'shared-jti-0123456789' }));
      await verify(await proofOf(other, { jti: 'shared-jti-0123456789' }));
      await refused(verify(await proofOf(other, { jti: 'shared-jti-0123456789' })), 'dpop.replayed');
    });

    it('a refused proof does not use up its jti', async () => {
      const { verify } = setup();
      const proof = await proofOf(es256, { accessToken: TOKEN });
      await refused(verify(proof, { method: 'GET' }), 'dpop.method_mismatch');
      await refused(verify(proof, { url: 'https://api.example/other' }), 'dpop.url_mismatch');
      await refused(verify(proof, { accessToken: 'another' }), 'dpop.ath_mismatch');
      await refused(verify(proof, { jkt: 'x' }), 'dpop.key_mismatch');
      await refused(verify(proof, { nowMs: NOW + 61_000 }), 'dpop.stale');
      await verify(proof, { accessToken: TOKEN });
    });

    it('is remembered until the proof is stale anyway, then forgotten', async () => {
      const { clock, replay, verify } = setup();
      const proof = await proofOf();
      await verify(proof);
      clock.set(NOW + 60_000);
      await refused(verify(proof, { nowMs: NOW + 60_000 }), 'dpop.replayed', undefined);
      clock.set(NOW + 60_001);
      await refused(verify(proof, { nowMs: NOW + 60_001 }), 'dpop.stale');
      clock.set(NOW + 62_000);
      await replay.firstSeen('poke', NOW + 70_000);
      assert.equal(replay.size, 1, 'the proof\'s entry was swept');
    });

    it('two verifications of one proof at once: exactly one passes', async () => {
      const { verify } = setup();
      const proof = await proofOf();
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => verify(proof)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as CodedError).code, 'dpop.replayed');
    });
  });

  describe('key cache', () => {
    it('imports each key once, whatever else its jwk carries, and stays within its capacity', async () => {
      const { replay } = setup();
      const keys = new DpopKeyCache(2);
      const expect = { method: 'POST', url: URL_, nowMs: NOW };
      await verifyDpopProof(rawJws(header(), claims(), ecSign), expect, replay, keys);
      await verifyDpopProof(rawJws(header({ jwk: { ...nodeEcJwk, kid: 'a', alg: 'ES256' } }), claims(), ecSign), expect, replay, keys);
      assert.equal(keys.size, 1);
      await verifyDpopProof(await proofOf(es256), expect, replay, keys);
      await verifyDpopProof(await proofOf(other), expect, replay, keys);
      assert.equal(keys.size, 2);
    });

    it('a proof whose signature fails leaves nothing in it', async () => {
      const { replay } = setup();
      const keys = new DpopKeyCache();
      const [h, c] = (await proofOf()).split('.');
      const byOther = (await proofOf(other)).split('.')[2];
      await refused(verifyDpopProof(`${h}.${c}.${byOther}`, { method: 'POST', url: URL_, nowMs: NOW }, replay, keys), 'dpop.invalid', /signature/);
      assert.equal(keys.size, 0);
    });

    it('a cached key still checks every signature', async () => {
      const { verify } = setup();
      const good = await proofOf();
      await verify(good);
      const [h, c] = good.split('.');
      const byOther = (await proofOf(other)).split('.')[2];
      await refused(verify(`${h}.${c}.${byOther}`), 'dpop.invalid', /signature/);
    });
  });
});

describe('JWK thumbprints (RFC 7638)', () => {
  it('the RFC 7638 §3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('agrees with jose for EC, OKP and RSA keys, private or public', async () => {
    for (const alg of ['ES256', 'ES384', 'EdDSA', 'RS256'] as const) {
      const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
      const pub = await jose.exportJWK(publicKey);
      const expected = await jose.calculateJwkThumbprint(pub);
      assert.equal(jwkThumbprint(pub as Record<string, unknown>), expected, alg);
      assert.equal(jwkThumbprint((await jose.exportJWK(privateKey)) as Record<string, unknown>), expected, `${alg}: the private members are not part of it`);
    }
  });

  it('refuses other key types and missing members as dpop.invalid', () => {
    for (const jwk of [{ kty: 'oct', k: 'AAAA' }, { kty: 'EC', crv: 'P-256', x: 'AAAA' }, { kty: 'RSA', n: 'AAAA', e: 7 }, {}]) {
      assert.throws(() => jwkThumbprint(jwk), (err: unknown) => err instanceof CodedError && err.code === 'dpop.invalid');
    }
  });
});

describe('the in-memory replay cache', () => {
  it('says first once per key until the entry expires', async () => {
    const clock = manualClock(NOW);
    const cache = new MemoryDpopReplayCache({ clock });
    assert.equal(await cache.firstSeen('a', NOW + 1000), true);
    assert.equal(await cache.firstSeen('a', NOW + 5000), false);
    assert.equal(await cache.firstSeen('b', NOW + 1000), true);
    clock.advance(999);
    assert.equal(await cache.firstSeen('a', NOW + 5000), false);
    clock.advance(1);
    assert.equal(await cache.firstSeen('a', NOW + 5000), true, 'expired at its expiresAtMs');
    assert.equal(await cache.firstSeen('a', NOW + 9000), false);
  });

  it('does not keep what is already outside its window', async () => {
    const cache = new MemoryDpopReplayCache({ clock: manualClock(NOW) });
    assert.equal(await cache.firstSeen('a', NOW), true);
    assert.equal(await cache.firstSeen('a', NOW), true);
    assert.equal(cache.size, 0);
  });

  it('sweeps expired entries by itself, at most once a second', async () => {
    const clock = manualClock(NOW);
    const cache = new MemoryDpopReplayCache({ clock });
    for (let i = 0; i < 100; i++) await cache.firstSeen(`k${i}`, NOW + 1000 + i * 100);
    assert.equal(cache.size, 100);
    clock.set(NOW + 5000);
    await cache.firstSeen('late', NOW + 60_000);
    assert.equal(cache.size, 60, 'the 41 that expired by now are gone; 59 and the new one stay');
    clock.set(NOW + 20_000);
    cache.sweep(clock.nowMs());
    assert.equal(cache.size, 1);
  });

  it('when full of live entries, refuses rather than forget one (store.unreachable), and takes new ones once some expire', async () => {
    const clock = manualClock(NOW);
    const cache = new MemoryDpopReplayCache({ capacity: 2, clock });
    assert.equal(await cache.firstSeen('a', NOW + 1000), true);
    assert.equal(await cache.firstSeen('b', NOW + 3000), true);
    await assert.rejects(cache.firstSeen('c', NOW + 3000), (err: unknown) => err instanceof CodedError && err.code === 'store.unreachable');
    assert.equal(await cache.firstSeen('a', NOW + 3000), false, 'a live key is still answered while full');
    clock.set(NOW + 1000);
    assert.equal(await cache.firstSeen('c', NOW + 3000), true);
    assert.equal(await cache.firstSeen('b', NOW + 3000), false);
    assert.throws(() => new MemoryDpopReplayCache({ capacity: 0 }), TypeError);
  });
});
