import { createPrivateKey, sign as signWith, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import * as jose from 'jose';
import { CodedError, type Clock, type ErrorCode } from '../core/index.js';
import type { SigningKeyRecord } from './model.js';
import type { KeyRepo } from './ports.js';

export interface VerifyOptions {
  typ: string;
  audience: string;
  /** Codes to use for an invalid or expired token, so SVIDs and task credentials speak their own words. */
  invalidCode: ErrorCode;
  expiredCode: ErrorCode;
}

interface LoadedKey {
  record: SigningKeyRecord;
  privateKey: CryptoKey | Uint8Array;
  publicKey: CryptoKey | Uint8Array;
  /** The same private key for node:crypto, which signs synchronously (`signSync`). */
  signer: KeyObject;
}

/** Only ES256: `alg: none`, HMAC confusion and every other algorithm are refused by name. */
const ALGORITHMS = ['ES256'];

/**
 * The trust domain's signing keys. The newest unretired key signs; retired keys
 * keep verifying until every token they signed has expired, then leave the JWKS.
 */
export class KeyRing {
  private keys: LoadedKey[] = [];
  private lastRefreshMs = 0;

  private constructor(
    private readonly repo: KeyRepo,
    private readonly clock: Clock,
    private readonly maxTokenTtlSeconds: number,
  ) {}

  /** Loads the keys, generating the first one on first start. */
  static async open(repo: KeyRepo, clock: Clock, maxTokenTtlSeconds: number): Promise<KeyRing> {
    const ring = new KeyRing(repo, clock, maxTokenTtlSeconds);
    await ring.refresh();
    if (!ring.keys.some((k) => k.record.retiredAtMs === null)) {
      await repo.insert(await generateKey(clock.nowMs()));
      await ring.refresh();
    }
    return ring;
  }

  /** Re-reads the keys from the store (another replica may have rotated). */
  async refresh(): Promise<void> {
    const now = this.clock.nowMs();
    const records = (await this.repo.list()).filter((r) => r.dropAtMs === null || r.dropAtMs > now);
    this.keys = await Promise.all(
      records.map(async (record) => ({
        record,
        privateKey: await jose.importJWK(record.privateJwk as jose.JWK, 'ES256'),
        publicKey: await jose.importJWK(record.publicJwk as jose.JWK, 'ES256'),
        signer: createPrivateKey({ key: record.privateJwk as NodeJwk, format: 'jwk' }),
      })),
    );
  }

  /** Starts signing with a new key; the old one verifies until its tokens expire. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const now = this.clock.nowMs();
    const fresh = await generateKey(now);
    await this.repo.insert(fresh);
    const retired = this.keys.filter((k) => k.record.retiredAtMs === null).map((k) => k.record.kid);
    for (const kid of retired) await this.repo.retire(kid, now, now + this.maxTokenTtlSeconds * 1000);
    await this.refresh();
    return { kid: fresh.kid, retired };
  }

  private signingKey(): LoadedKey {
    const active = this.keys.filter((k) => k.record.retiredAtMs === null);
    const newest = active[active.length - 1];
    if (!newest) throw new TypeError('key ring: no active signing key');
    return newest;
  }

  async sign(claims: jose.JWTPayload, typ: string): Promise<string> {
    const key = this.signingKey();
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.record.kid, typ }).sign(key.privateKey);
  }

  /**
   * The same JWS as `sign`, made synchronously with node:crypto: WebCrypto's async
   * signing hops to the thread pool and costs about three times as much, which
   * matters for tokens minted on every forwarded call (transaction tokens).
   */
  signSync(claims: jose.JWTPayload, typ: string): string {
    const key = this.signingKey();
    const input = `${base64url(JSON.stringify({ alg: 'ES256', kid: key.record.kid, typ }))}.${base64url(JSON.stringify(claims))}`;
    // ieee-p1363 is r‖s, the JWS form (RFC 7518 §3.4).
    return `${input}.${signWith('sha256', Buffer.from(input), { key: key.signer, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }

  /** Signs and names the public key that checks the signature, for whoever must check it without the store (audit witnesses). */
  async signWithKey(claims: jose.JWTPayload, typ: string): Promise<{ jws: string; jwk: Record<string, unknown> }> {
    const key = this.signingKey();
    const jws = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.record.kid, typ }).sign(key.privateKey);
    return { jws, jwk: { ...(key.record.publicJwk as jose.JWK), kid: key.record.kid, alg: 'ES256' } };
  }

  /** Verifies signature, algorithm, `typ`, audience and expiry; throws CodedError with the caller's codes. */
  async verify(token: string, opts: VerifyOptions): Promise<jose.JWTPayload> {
    await this.learnKid(token);
    try {
      const { payload } = await jose.jwtVerify(
        token,
        (header) => {
          const key = this.keys.find((k) => k.record.kid === header.kid);
          if (!key) throw new CodedError(opts.invalidCode, 'token is signed by an unknown key');
          return key.publicKey;
        },
        {
          algorithms: ALGORITHMS,
          typ: opts.typ,
          audience: opts.audience,
          currentDate: new Date(this.clock.nowMs()),
          requiredClaims: ['exp', 'iat', 'sub'],
        },
      );
      return payload;
    } catch (err) {
      if (err instanceof CodedError) throw err;
      if (err instanceof jose.errors.JWTExpired) throw new CodedError(opts.expiredCode, 'token has expired');
      throw new CodedError(opts.invalidCode, describeJoseError(err), {}, { cause: err });
    }
  }

  /**
   * A token signed by a key this replica has not loaded (another replica started
   * first or rotated) triggers one re-read of the keys, at most once a second, so
   * forged kids cannot make every request hit the store.
   */
  private async learnKid(token: string): Promise<void> {
    let kid: unknown;
    try {
      kid = jose.decodeProtectedHeader(token).kid;
    } catch {
      return; // malformed: verify() will refuse it
    }
    if (typeof kid !== 'string' || this.keys.some((k) => k.record.kid === kid)) return;
    const now = this.clock.nowMs();
    if (now - this.lastRefreshMs < 1000) return;
    this.lastRefreshMs = now;
    await this.refresh().catch(() => undefined);
  }

  /** The public keys as a JWKS (RFC 7517). */
  jwks(): { keys: jose.JWK[] } {
    return { keys: this.keys.map((k) => ({ ...(k.record.publicJwk as jose.JWK), kid: k.record.kid, alg: 'ES256', use: 'sig' })) };
  }

  /** The SPIFFE trust bundle: the same keys marked for JWT-SVID use. */
  spiffeBundle(refreshHintSeconds: number): Record<string, unknown> {
    return {
      keys: this.keys.map((k) => ({ ...(k.record.publicJwk as jose.JWK), kid: k.record.kid, use: 'jwt-svid' })),
      spiffe_refresh_hint: refreshHintSeconds,
      spiffe_sequence: this.keys.length === 0 ? 0 : Math.max(...this.keys.map((k) => k.record.createdAtMs)),
    };
  }

  kids(): string[] {
    return this.keys.map((k) => k.record.kid);
  }
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

async function generateKey(nowMs: number): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(publicJwk);
  return {
    kid,
    alg: 'ES256',
    privateJwk: { ...(await jose.exportJWK(privateKey)) },
    publicJwk: { ...publicJwk },
    createdAtMs: nowMs,
    retiredAtMs: null,
    dropAtMs: null,
  };
}

/** A safe, specific message for a rejected token (never echoes the token). */
export function describeJoseError(err: unknown): string {
  if (err instanceof jose.errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed (only ES256)';
  if (err instanceof jose.errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (err instanceof jose.errors.JWTClaimValidationFailed) return `token claim \`${err.claim}\` is invalid: ${err.reason}`;
  if (err instanceof jose.errors.JWSInvalid || err instanceof jose.errors.JWTInvalid) return 'token is malformed';
  if (err instanceof jose.errors.JOSENotSupported) return 'token uses an unsupported algorithm or key';
  return 'token is invalid';
}
