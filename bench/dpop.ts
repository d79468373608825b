import crypto from 'node:crypto';
import { DpopKeyCache, MemoryDpopReplayCache, jwkThumbprint, verifyDpopProof, type DpopExpectation } from '../src/credentials/index.js';
import { createDpopProof } from '../src/sdk/dpop.js';
import { summarize, type Metrics } from './stats.js';

const PROOFS = Number(process.env.BENCH_DPOP_PROOFS ?? 10_000);
const WARMUP = 1000;
/** Keys seen for the first time, for the uncached figure (each costs a key generation to set up). */
const FRESH_KEYS = 300;
const BLOCK = 250;
const URL_ = 'https://mandate.example/v1/decide';
/** About the size of a task credential. */
const ACCESS_TOKEN = `eyJhbGciOiJFUzI1NiIsInR5cCI6InRhc2srand0In0.${'x'.repeat(420)}.${'s'.repeat(86)}`;

const hr = () => Number(process.hrtime.bigint()) / 1000; // µs

async function es256(): Promise<{ privateKey: CryptoKey; publicJwk: JsonWebKey }> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: keys.privateKey, publicJwk: await crypto.subtle.exportKey('jwk', keys.publicKey) };
}

/**
 * `dpop.verify_p50_us`: the whole check of a resource server (ES256 proof, each
 * with its own `jti`, bound to an access token and to the credential's `cnf.jkt`,
 * recorded in the in-memory replay cache) with the key already imported. Beside it,
 * in alternating blocks, the bare ECDSA P-256 verification of the same proofs with
 * the same key (node:crypto): the floor the rest is built on. Also the same check
 * for keys never seen before (import included).
 */
export async function benchDpop(metrics: Metrics): Promise<void> {
  const key = await es256();
  const jkt = jwkThumbprint(key.publicJwk as Record<string, unknown>);
  const proofs: string[] = [];
  for (let i = 0; i < WARMUP + PROOFS; i++) proofs.push(await createDpopProof({ ...key, method: 'POST', url: URL_, accessToken: ACCESS_TOKEN }));
  const replay = new MemoryDpopReplayCache({ capacity: 2 * (WARMUP + PROOFS + FRESH_KEYS) });
  const keys = new DpopKeyCache();
  const expect = (): DpopExpectation => ({ method: 'POST', url: URL_, accessToken: ACCESS_TOKEN, jkt, nowMs: Date.now() });
  for (let i = 0; i < WARMUP; i++) await verifyDpopProof(proofs[i], expect(), replay, keys);

  const publicKey = crypto.createPublicKey({ key: key.publicJwk as crypto.JsonWebKey, format: 'jwk' });
  const verifyUs: number[] = [];
  const floorUs: number[] = [];
  for (let done = WARMUP; done < WARMUP + PROOFS; done += BLOCK) {
    const block = proofs.slice(done, done + BLOCK);
    for (const proof of block) {
      const t0 = hr();
      await verifyDpopProof(proof, expect(), replay, keys);
      verifyUs.push(hr() - t0);
    }
    for (const proof of block) {
      const t0 = hr();
      const dot = proof.lastIndexOf('.');
      if (!crypto.verify('sha256', Buffer.from(proof.slice(0, dot)), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(proof.slice(dot + 1), 'base64url'))) throw new Error('the floor did not verify');
      floorUs.push(hr() - t0);
    }
  }
  if (keys.size !== 1) throw new Error(`expected one cached key, found ${keys.size}`);

  const fresh: string[] = [];
  for (let i = 0; i < FRESH_KEYS; i++) fresh.push(await createDpopProof({ ...(await es256()), method: 'POST', url: URL_, accessToken: ACCESS_TOKEN }));
  const uncachedUs: number[] = [];
  for (const proof of fresh) {
    const t0 = hr();
    await verifyDpopProof(proof, { ...expect(), jkt: undefined }, replay, keys);
    uncachedUs.push(hr() - t0);
  }

  const verify = summarize(verifyUs);
  const floor = summarize(floorUs);
  const r = (v: number) => Math.round(v * 10) / 10;
  metrics['dpop.verify_p50_us'] = { value: r(verify.p50), unit: 'us', note: `ES256, cached key, ath and jkt checked, ${PROOFS} proofs` };
  metrics['dpop.verify_p99_us'] = { value: r(verify.p99), unit: 'us' };
  metrics['dpop.ecdsa_floor_p50_us'] = { value: r(floor.p50), unit: 'us', note: 'bare P-256 verification of the same proofs, alternating blocks' };
  metrics['dpop.verify_uncached_p50_us'] = { value: r(summarize(uncachedUs).p50), unit: 'us', note: `${FRESH_KEYS} keys seen for the first time` };
}
