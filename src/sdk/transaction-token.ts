/**
 * The downstream side of transaction tokens (draft-ietf-oauth-transaction-tokens):
 * a service behind the gateway checks the `Txn-Token` of each request, and refuses
 * any call that did not come through a decision of the trust domain. WebCrypto and
 * nothing else, like the rest of the SDK, so it runs wherever the service does.
 */
import type { TxnTokenClaims } from '../decision/index.js';

/** The claims of a transaction token Mandate minted (docs/transaction-tokens.md). */
export type TransactionTokenClaims = TxnTokenClaims;

/** Why a token was refused: a stable code, then a message that never repeats the token. */
export type TransactionTokenRefusal =
  | 'malformed'
  | 'wrong_typ'
  | 'wrong_alg'
  | 'unknown_key'
  | 'bad_signature'
  | 'missing_claim'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'jwks_unavailable';

export class TransactionTokenError extends Error {
  constructor(
    readonly code: TransactionTokenRefusal,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'TransactionTokenError';
  }
}

export interface VerifyTransactionTokenOptions {
  /** The trust domain's public keys, as served at `/v1/jwks.json`. Give this or `jwksUrl`. */
  jwks?: { keys: JsonWebKey[] };
  /** Where to read them (`<control plane>/v1/jwks.json`); kept 5 minutes, read again for a key not seen yet. */
  jwksUrl?: string;
  /** This service's identifier, as the gateway's `transactionToken.audience` (default: its URL) names it. `aud` must hold it. */
  audience: string;
  /** When given, `aud` must name this trust domain too. */
  trustDomain?: string;
  /** When given, `iss` must be this (Mandate's is `spiffe://<trust domain>/mandate`). */
  issuer?: string;
  /** Refuse tokens issued longer ago than this, whatever their `exp`. */
  maxAgeSeconds?: number;
  /** Leeway for clocks that disagree, on `exp`, `iat` and `nbf`. Default 5 s. */
  clockToleranceSeconds?: number;
  /** Default `Date.now()`. */
  nowMs?: number;
  fetch?: typeof fetch;
}

const TYP = 'txntoken+jwt';
/** What Mandate signs with; `none`, HMAC and every other algorithm are refused by name. */
const ALG = 'ES256';
const MAX_TOKEN_CHARS = 16 * 1024;
const JWKS_TTL_MS = 5 * 60_000;
/** A key id not in the set reads the set again at most this often: forged ids cannot make every request fetch. */
const JWKS_REREAD_MS = 1_000;

/**
 * Verifies a transaction token and returns its claims. Refuses (TransactionTokenError)
 * a token that is malformed, not `typ: txntoken+jwt`, not ES256, signed by a key the
 * trust domain does not publish or with a signature that does not verify (an altered
 * claim), lacking a required claim, meant for another audience (replayed to another
 * service), from another issuer, expired, not yet valid, or older than `maxAgeSeconds`.
 */
export async function verifyTransactionToken(token: string, opts: VerifyTransactionTokenOptions): Promise<TransactionTokenClaims> {
  const claims = await verifySignature(token, TYP, opts);
  for (const name of ['txn', 'sub', 'scope', 'req_wl'] as const) {
    if (typeof claims[name] !== 'string' || claims[name] === '') throw new TransactionTokenError('missing_claim', `\`${name}\` is missing or not a string`);
  }
  checkTimes(claims, opts);
  const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : [];
  if (aud.length === 0) throw new TransactionTokenError('missing_claim', '`aud` is missing');
  if (!aud.includes(opts.audience)) throw new TransactionTokenError('wrong_audience', `the token is not for ${JSON.stringify(opts.audience)}`);
  if (opts.trustDomain !== undefined && !aud.includes(opts.trustDomain)) throw new TransactionTokenError('wrong_audience', `the token is not for the trust domain ${JSON.stringify(opts.trustDomain)}`);
  if (opts.issuer !== undefined && claims.iss !== opts.issuer) throw new TransactionTokenError('wrong_issuer', `\`iss\` is not ${JSON.stringify(opts.issuer)}`);
  return claims as unknown as TransactionTokenClaims;
}

/** Where the trust domain's keys come from, and the clock: what every check of a token the control plane signed needs. */
export type TrustDomainKeys = Pick<VerifyTransactionTokenOptions, 'jwks' | 'jwksUrl' | 'fetch' | 'clockToleranceSeconds' | 'nowMs' | 'maxAgeSeconds'>;

/** The claims of a compact JWS of type `typ`, signed (ES256) by a key of the trust domain; nothing else checked. */
export async function verifySignature(token: string, typ: string, opts: TrustDomainKeys): Promise<Record<string, unknown>> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) throw new TransactionTokenError('malformed', 'not a compact JWS');
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw new TransactionTokenError('malformed', 'not a compact JWS');
  const [h, p, s] = parts as [string, string, string];
  const header = jsonPart(h, 'header');
  const named = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (named !== typ) throw new TransactionTokenError('wrong_typ', `\`typ\` is ${JSON.stringify(header.typ ?? null)}, not ${typ}`);
  if (header.alg !== ALG) throw new TransactionTokenError('wrong_alg', `\`alg\` is ${JSON.stringify(header.alg ?? null)}; only ${ALG} is accepted`);
  // No extension is understood, so none may be critical (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new TransactionTokenError('malformed', 'the header names critical extensions');
  if (typeof header.kid !== 'string') throw new TransactionTokenError('unknown_key', 'the header names no key (`kid`)');

  const key = await keyFor(header.kid, opts);
  const signature = fromBase64url(s);
  // ES256 is r‖s, 64 bytes (RFC 7518 §3.4), which is what WebCrypto verifies.
  const valid = signature.length === 64 && (await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, new TextEncoder().encode(`${h}.${p}`)));
  if (!valid) throw new TransactionTokenError('bad_signature', 'the signature does not verify');
  return jsonPart(p, 'payload');
}

/** `iat` and `exp` present, the token current (within the leeway) and not older than `maxAgeSeconds`. */
export function checkTimes(claims: Record<string, unknown>, opts: TrustDomainKeys): void {
  for (const name of ['iat', 'exp'] as const) {
    if (typeof claims[name] !== 'number' || !Number.isFinite(claims[name])) throw new TransactionTokenError('missing_claim', `\`${name}\` is missing or not a number`);
  }
  const now = (opts.nowMs ?? Date.now()) / 1000;
  const leeway = opts.clockToleranceSeconds ?? 5;
  const exp = claims.exp as number;
  const iat = claims.iat as number;
  if (now - leeway >= exp) throw new TransactionTokenError('expired', 'the token has expired');
  if (iat > now + leeway || (typeof claims.nbf === 'number' && claims.nbf > now + leeway)) throw new TransactionTokenError('not_yet_valid', 'the token is not valid yet');
  if (opts.maxAgeSeconds !== undefined && now - iat > opts.maxAgeSeconds + leeway) throw new TransactionTokenError('too_old', `the token was issued more than ${opts.maxAgeSeconds} s ago`);
}

function jsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(part)));
  } catch {
    throw new TransactionTokenError('malformed', `the ${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TransactionTokenError('malformed', `the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Imported keys by kid, per key set given inline. */
const inline = new WeakMap<object, Map<string, Promise<CryptoKey>>>();

interface RemoteSet {
  keys: Map<string, Promise<CryptoKey>>;
  readAtMs: number;
  reading: Promise<void> | undefined;
}
/** Key sets read from a URL, by URL, shared by every call in this process. */
const remote = new Map<string, RemoteSet>();

async function keyFor(kid: string, opts: TrustDomainKeys): Promise<CryptoKey> {
  if (opts.jwks) {
    let keys = inline.get(opts.jwks);
    if (!keys) inline.set(opts.jwks, (keys = importAll(opts.jwks)));
    const key = keys.get(kid);
    if (!key) throw new TransactionTokenError('unknown_key', 'the token is signed by a key the key set does not hold');
    return usable(key);
  }
  if (!opts.jwksUrl) throw new TypeError('verifyTransactionToken: give `jwks` or `jwksUrl`');
  const set = remote.get(opts.jwksUrl) ?? { keys: new Map<string, Promise<CryptoKey>>(), readAtMs: 0, reading: undefined };
  remote.set(opts.jwksUrl, set);
  const age = Date.now() - set.readAtMs;
  if (age > JWKS_TTL_MS || (!set.keys.has(kid) && age > JWKS_REREAD_MS)) await read(opts.jwksUrl, set, opts.fetch ?? globalThis.fetch);
  const key = set.keys.get(kid);
  if (!key) throw new TransactionTokenError('unknown_key', 'the token is signed by a key the trust domain does not publish');
  return usable(key);
}

function usable(key: Promise<CryptoKey>): Promise<CryptoKey> {
  return key.catch(() => {
    throw new TransactionTokenError('unknown_key', 'the key the token names is not a usable P-256 key');
  });
}

/** One read of a remote key set at a time; callers waiting for it share it. */
function read(url: string, set: RemoteSet, f: typeof fetch): Promise<void> {
  set.reading ??= (async () => {
    try {
      const res = await f(url, { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { keys?: unknown };
      if (!Array.isArray(body?.keys)) throw new Error('no `keys` list');
      set.keys = importAll(body as { keys: JsonWebKey[] });
      set.readAtMs = Date.now();
    } catch (err) {
      // A set read before stays in use until one can be read again.
      if (set.readAtMs === 0) throw new TransactionTokenError('jwks_unavailable', `the key set at ${url} could not be read (${(err as Error).message})`);
      set.readAtMs = Date.now();
    } finally {
      set.reading = undefined;
    }
  })();
  return set.reading;
}

/** The P-256 signing keys of a set, by kid; others are left out. */
function importAll(jwks: { keys: JsonWebKey[] }): Map<string, Promise<CryptoKey>> {
  const out = new Map<string, Promise<CryptoKey>>();
  for (const k of jwks.keys as (JsonWebKey & { kid?: unknown; use?: unknown })[]) {
    if (typeof k?.kid !== 'string' || k.kty !== 'EC' || k.crv !== 'P-256' || (k.use !== undefined && k.use !== 'sig') || (k.alg !== undefined && k.alg !== ALG)) continue;
    const key = crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: k.x, y: k.y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    // A malformed key fails the tokens signed with it, not the whole set.
    key.catch(() => undefined);
    out.set(k.kid, key);
  }
  return out;
}
