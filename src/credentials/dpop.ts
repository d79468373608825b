/**
 * Sender-constrained task credentials (DPoP, RFC 9449): the checks a server makes
 * on a DPoP proof (§4.3) and the key thumbprint (RFC 7638) a credential is bound
 * to as `cnf.jkt`. No I/O: the replay cache is a port (ports.ts).
 *
 * Signatures are checked with node:crypto, synchronously, on keys imported once and
 * cached by thumbprint: WebCrypto (what jose uses) hops to the thread pool on every
 * verification, which costs more than the ECDSA verification itself on this path.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { CodedError, Lru, sha256Base64Url } from '../core/index.js';
import type { DpopReplayCache } from './ports.js';

/** The JOSE `typ` of a DPoP proof (RFC 9449 §4.2); compared exactly. */
export const DPOP_PROOF_TYP = 'dpop+jwt';

interface Algorithm {
  kty: 'EC' | 'OKP' | 'RSA';
  /** The curve an EC or OKP key must be on. */
  crv?: string;
  /** Bytes of one EC coordinate or of an OKP public key; also fixes the signature length. */
  size?: number;
  /** The digest for crypto.verify; null for EdDSA, which hashes internally. */
  hash: string | null;
  pss?: boolean;
}

/**
 * Asymmetric signature algorithms only: `none` and HMAC are refused by not being
 * here (a shared secret proves nothing about who holds a key). `EdDSA` and its
 * fully-specified name `Ed25519` (RFC 9864) both mean Ed25519.
 */
const ALGORITHMS = new Map<string, Algorithm>([
  ['ES256', { kty: 'EC', crv: 'P-256', size: 32, hash: 'sha256' }],
  ['ES384', { kty: 'EC', crv: 'P-384', size: 48, hash: 'sha384' }],
  ['EdDSA', { kty: 'OKP', crv: 'Ed25519', size: 32, hash: null }],
  ['Ed25519', { kty: 'OKP', crv: 'Ed25519', size: 32, hash: null }],
  ['RS256', { kty: 'RSA', hash: 'sha256' }],
  ['PS256', { kty: 'RSA', hash: 'sha256', pss: true }],
]);

/** The `alg` values a proof may use, e.g. for `dpop_signing_alg_values_supported` in server metadata. */
export const DPOP_ALGORITHMS: readonly string[] = [...ALGORITHMS.keys()];

/** RSA keys below 2048 bits are weak; above 4096 they only make verification slower for whoever sends them. */
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;
/** Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
/** A proof is a header line's worth of text; anything much longer is not one (an RSA-4096 proof is about 2 KB). */
const MAX_PROOF_CHARS = 8192;
/** Bounds what one proof can put in the replay cache; RFC 9449 asks for at least 96 random bits (16 base64url characters). */
export const DPOP_MAX_JTI_CHARS = 256;

export const DPOP_DEFAULT_MAX_AGE_SECONDS = 60;
export const DPOP_DEFAULT_MAX_SKEW_SECONDS = 5;

const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface DpopExpectation {
  /** The request's HTTP method, compared exactly with `htm` (methods are case-sensitive). */
  method: string;
  /**
   * The URL the request was sent to, as the server knows itself (its public base URL
   * and the request's path), not as a Host header claims it. Compared with `htu`
   * without query and fragment, after normalising scheme, host, default port and
   * percent-encoding (RFC 3986 §6.2.2, §6.2.3).
   */
  url: string;
  /** The access token presented with the proof: `ath` must be its SHA-256, base64url. */
  accessToken?: string;
  /** The thumbprint the credential is bound to (`cnf.jkt`): the proof's key must have it. */
  jkt?: string;
  nowMs: number;
  /** How old a proof may be (`iat` before now). Default 60. */
  maxAgeSeconds?: number;
  /** How far ahead of now a proof may be dated, for clocks that run fast. Default 5. */
  maxSkewSeconds?: number;
}

export interface VerifiedDpopProof {
  /** The RFC 7638 thumbprint of the proof's key. */
  jkt: string;
  jti: string;
  /** Seconds since the epoch, as the proof states it. */
  iat: number;
}

/** The public key of a JWK that passed the checks, with the members its thumbprint covers. */
interface PublicJwk {
  jkt: string;
  /** The thumbprint's members only: what is imported, so the cached key is exactly the key the thumbprint names. */
  members: Record<string, string>;
}

/** A protected header that passed every check, with its key imported. */
interface CheckedHeader {
  alg: Algorithm;
  jkt: string;
  key: KeyObject;
  /** Already in the cache. */
  cached: boolean;
}

/**
 * Public keys imported from proofs, by thumbprint, least recently used forgotten
 * first. A thumbprint's members determine the key, so one entry serves every
 * proof signed with it whatever else its `jwk` carries (`kid`, `alg`, `use`).
 * Beside them, the protected headers that passed, by their exact base64url text:
 * a client sends the same header with every proof, so a hit skips decoding,
 * checking and hashing it. Only a header whose proof's signature held is kept, so
 * proofs that fail cannot push out the keys of clients that sign.
 */
export class DpopKeyCache {
  private readonly keys: Lru<string, KeyObject>;
  private readonly headers: Lru<string, CheckedHeader>;

  constructor(capacity = 10_000) {
    this.keys = new Lru(capacity);
    this.headers = new Lru(capacity);
  }

  /** Keys held. */
  get size(): number {
    return this.keys.size;
  }

  /** The checked header; checks it, and imports its key, on a miss (`remember` keeps it). */
  headerOf(segment: string): CheckedHeader {
    const cached = this.headers.get(segment);
    if (cached) return cached;
    const header = jsonSegment(segment, 'header');
    if (header.typ !== DPOP_PROOF_TYP) throw invalid(`the DPoP proof's \`typ\` must be ${DPOP_PROOF_TYP}`);
    const alg = typeof header.alg === 'string' ? ALGORITHMS.get(header.alg) : undefined;
    if (!alg) throw invalid(`the DPoP proof's \`alg\` must be one of ${DPOP_ALGORITHMS.join(', ')}`);
    // No extension is understood, so any critical one refuses the proof (RFC 7515 §4.1.11); `b64: false` needs one.
    if (header.crit !== undefined || header.b64 !== undefined) throw invalid('the DPoP proof uses a JWS extension this server does not support');
    const jwk = publicJwkOf(header.jwk, header.alg as string, alg);
    return { alg, jkt: jwk.jkt, key: this.keyOf(jwk), cached: false };
  }

  /** Keeps a header, and its key, once a proof's signature held with it. */
  remember(segment: string, header: CheckedHeader): void {
    if (header.cached) return;
    this.keys.set(header.jkt, header.key);
    this.headers.set(segment, { ...header, cached: true });
  }

  /** The imported key: the cached one, or imported. Throws dpop.invalid for a key OpenSSL refuses (a point off the curve). */
  private keyOf(jwk: PublicJwk): KeyObject {
    const cached = this.keys.get(jwk.jkt);
    if (cached) return cached;
    let key: KeyObject;
    try {
      key = crypto.createPublicKey({ key: jwk.members, format: 'jwk' });
    } catch (err) {
      throw new CodedError('dpop.invalid', 'the DPoP proof\'s `jwk` is not a valid public key', {}, { cause: err });
    }
    if (key.asymmetricKeyType === 'rsa') {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) throw invalid(`the DPoP proof's RSA key must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`);
    }
    return key;
  }
}

/** Shared by callers that pass no cache of their own: public keys only, so sharing them across the process is harmless. */
const sharedKeys = new DpopKeyCache();

/**
 * The RFC 7638 SHA-256 thumbprint of a public EC, OKP or RSA JWK, base64url: the
 * value a credential carries as `cnf.jkt`. Throws dpop.invalid for another key
 * type or a missing member.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  return sha256Base64Url(canonicalMembers(jwk));
}

/** The required members of RFC 7638 §3.2, in lexicographic order, as JSON without whitespace. */
function canonicalMembers(jwk: Readonly<Record<string, unknown>>): string {
  const str = (name: string): string => {
    const v = jwk[name];
    if (typeof v !== 'string' || v === '') throw invalid(`the JWK lacks \`${name}\``);
    return JSON.stringify(v);
  };
  switch (jwk.kty) {
    case 'EC':
      return `{"crv":${str('crv')},"kty":"EC","x":${str('x')},"y":${str('y')}}`;
    case 'OKP':
      return `{"crv":${str('crv')},"kty":"OKP","x":${str('x')}}`;
    case 'RSA':
      return `{"e":${str('e')},"kty":"RSA","n":${str('n')}}`;
    default:
      throw invalid('the JWK is not an EC, OKP or RSA public key');
  }
}

/**
 * Checks a DPoP proof as RFC 9449 §4.3 requires: one well-formed JWT, `typ`
 * dpop+jwt, an allowed asymmetric `alg`, a public `jwk` that verifies the
 * signature, `jti`, `htm`, `htu` and `iat` present and matching the request, `ath`
 * when an access token is presented, the key's thumbprint when the credential is
 * bound to one, and the `jti` not used before. The `jti` is recorded only once
 * everything else holds, so a refused proof does not use up its `jti`.
 * Not checked: a server-provided `nonce` (this server issues none).
 *
 * Errors: dpop.missing, dpop.invalid, dpop.key_mismatch, dpop.method_mismatch,
 * dpop.url_mismatch, dpop.stale, dpop.ath_mismatch, dpop.replayed; whatever the
 * replay cache throws (it cannot vouch for the proof, so nothing is allowed).
 */
export async function verifyDpopProof(proof: string | undefined, expect: DpopExpectation, replay: DpopReplayCache, keys: DpopKeyCache = sharedKeys): Promise<VerifiedDpopProof> {
  const maxAgeMs = windowMs(expect.maxAgeSeconds ?? DPOP_DEFAULT_MAX_AGE_SECONDS, 'maxAgeSeconds');
  const maxSkewMs = windowMs(expect.maxSkewSeconds ?? DPOP_DEFAULT_MAX_SKEW_SECONDS, 'maxSkewSeconds');
  if (proof === undefined || proof === '') throw new CodedError('dpop.missing', 'no DPoP proof was presented');
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_CHARS) throw invalid('the DPoP proof is not a compact JWT');
  const parts = COMPACT_JWS.exec(proof);
  if (!parts) throw invalid('the DPoP proof is not a compact JWT');
  const header = keys.headerOf(parts[1]!);
  const { alg, jkt, key } = header;
  if (!signatureHolds(alg, key, proof.slice(0, parts[1]!.length + 1 + parts[2]!.length), parts[3]!)) throw invalid('the DPoP proof\'s signature does not verify with its `jwk`');
  keys.remember(parts[1]!, header);

  const claims = jsonSegment(parts[2]!, 'payload');
  const { jti, htm, htu, iat } = claims;
  if (typeof jti !== 'string' || jti === '' || jti.length > DPOP_MAX_JTI_CHARS) throw invalid(`the DPoP proof's \`jti\` must be a string of 1 to ${DPOP_MAX_JTI_CHARS} characters`);
  if (typeof htm !== 'string') throw invalid('the DPoP proof lacks `htm`');
  if (typeof htu !== 'string') throw invalid('the DPoP proof lacks `htu`');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('the DPoP proof lacks a numeric `iat`');

  if (expect.jkt !== undefined && jkt !== expect.jkt) throw new CodedError('dpop.key_mismatch', 'the DPoP proof is signed by a key other than the one the credential is bound to');
  if (htm !== expect.method) throw new CodedError('dpop.method_mismatch', 'the DPoP proof was made for another HTTP method');
  const claimed = normalizedHtuMemo(htu);
  if (claimed === undefined) throw invalid('the DPoP proof\'s `htu` is not an http or https URL');
  if (claimed !== normalizedHtuMemo(expect.url)) throw new CodedError('dpop.url_mismatch', 'the DPoP proof was made for another URL');
  const iatMs = iat * 1000;
  if (expect.nowMs - iatMs > maxAgeMs) throw new CodedError('dpop.stale', `the DPoP proof is more than ${maxAgeMs / 1000} s old`);
  if (iatMs - expect.nowMs > maxSkewMs) throw new CodedError('dpop.stale', `the DPoP proof is dated more than ${maxSkewMs / 1000} s ahead`);
  // RFC 9449 asks for neither, but a JWT that carries them is not valid outside them (RFC 7519 §4.1.4, §4.1.5).
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || expect.nowMs >= claims.exp * 1000)) throw new CodedError('dpop.stale', 'the DPoP proof has expired (`exp`)');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf * 1000 - expect.nowMs > maxSkewMs)) throw new CodedError('dpop.stale', 'the DPoP proof is not valid yet (`nbf`)');
  if (expect.accessToken !== undefined) {
    if (typeof claims.ath !== 'string') throw new CodedError('dpop.ath_mismatch', 'the DPoP proof lacks `ath`, the hash of the access token');
    if (claims.ath !== sha256Base64Url(expect.accessToken)) throw new CodedError('dpop.ath_mismatch', 'the DPoP proof\'s `ath` is not the hash of the access token presented with it');
  }
  // Keyed by key and jti: a jti copied from someone else's proof cannot use up theirs. Kept until the proof would be stale anyway.
  if (!(await replay.firstSeen(`${jkt}.${jti}`, Math.floor(iatMs + maxAgeMs) + 1))) throw new CodedError('dpop.replayed', 'the DPoP proof was already used');
  return { jkt, jti, iat };
}

function invalid(message: string): CodedError {
  return new CodedError('dpop.invalid', message);
}

function windowMs(seconds: number, name: string): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw new TypeError(`DPoP ${name} must be a finite number of seconds, not ${seconds}`);
  return seconds * 1000;
}

function jsonSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw invalid(`the DPoP proof's ${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`the DPoP proof's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * A base64url member in its one canonical spelling: exactly `bytes` long for a
 * curve, or (an RSA integer, `bytes` undefined) without leading zero octets
 * (RFC 7518 §2, Base64urlUInt).
 */
function b64Member(jwk: Record<string, unknown>, name: string, bytes?: number): string {
  const v = jwk[name];
  if (typeof v !== 'string' || !BASE64URL.test(v)) throw invalid(`the DPoP proof's \`jwk\` lacks a base64url \`${name}\``);
  const decoded = Buffer.from(v, 'base64url');
  // One key, one spelling, one thumbprint: stray trailing bits or a leading zero would give the same key another jkt.
  const sized = bytes === undefined ? decoded[0] !== 0 : decoded.length === bytes;
  if (!sized || decoded.toString('base64url') !== v) throw invalid(`the DPoP proof's \`jwk\` has a malformed \`${name}\``);
  return v;
}

/** Checks the header's `jwk` against the algorithm: a public key of the matching type, curve and size, with nothing private. */
function publicJwkOf(value: unknown, algName: string, alg: Algorithm): PublicJwk {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('the DPoP proof lacks a `jwk` header');
  const jwk = value as Record<string, unknown>;
  for (const m of PRIVATE_MEMBERS) if (jwk[m] !== undefined) throw invalid('the DPoP proof\'s `jwk` holds a private key');
  if (jwk.kty !== alg.kty) throw invalid(`the DPoP proof's \`jwk\` is not an ${alg.kty} key, as ${algName} needs`);
  if (alg.crv !== undefined && jwk.crv !== alg.crv) throw invalid(`the DPoP proof's \`jwk\` is not on ${alg.crv}, as ${algName} needs`);
  // Optional members may narrow the key's use, never contradict the proof.
  if (jwk.alg !== undefined && jwk.alg !== algName) throw invalid('the DPoP proof\'s `jwk` names another `alg`');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid('the DPoP proof\'s `jwk` is not for signatures');
  let members: Record<string, string>;
  if (alg.kty === 'EC') members = { kty: 'EC', crv: alg.crv!, x: b64Member(jwk, 'x', alg.size), y: b64Member(jwk, 'y', alg.size) };
  else if (alg.kty === 'OKP') members = { kty: 'OKP', crv: alg.crv!, x: b64Member(jwk, 'x', alg.size) };
  else members = { kty: 'RSA', n: b64Member(jwk, 'n'), e: b64Member(jwk, 'e') };
  return { jkt: jwkThumbprint(members), members };
}

function signatureHolds(alg: Algorithm, key: KeyObject, signingInput: string, signature: string): boolean {
  const sig = Buffer.from(signature, 'base64url');
  // ECDSA and EdDSA signatures have one length per curve (r‖s for ECDSA, RFC 7518 §3.4).
  if (alg.size !== undefined && sig.length !== 2 * alg.size) return false;
  const data = Buffer.from(signingInput, 'latin1');
  try {
    if (alg.kty === 'EC') return crypto.verify(alg.hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig);
    if (alg.kty === 'OKP') return crypto.verify(null, data, key, sig);
    // PS256: the salt is as long as the hash (RFC 7518 §3.5).
    if (alg.pss) return crypto.verify(alg.hash, data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    return crypto.verify(alg.hash, data, key, sig);
  } catch {
    return false;
  }
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** A server has a handful of URLs and a client sends the same `htu` each time: parse each once. */
const htuMemo = new Lru<string, string | null>(1024);

function normalizedHtuMemo(text: string): string | undefined {
  let normalized = htuMemo.get(text);
  if (normalized === undefined) {
    normalized = normalizedHtu(text) ?? null;
    htuMemo.set(text, normalized);
  }
  return normalized ?? undefined;
}

/**
 * `scheme://host[:port]/path` of an http or https URL, without query and fragment,
 * after syntax- and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3): scheme
 * and host lower case, the default port dropped, an empty path as `/`, dot
 * segments removed (the WHATWG parser does these), then percent-encodings of
 * unreserved characters decoded and the rest in upper case. Undefined when the
 * text is not such a URL, or carries user information (no HTTP target URI does).
 */
export function normalizedHtu(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  const path = url.pathname.includes('%')
    ? url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
        const c = String.fromCharCode(parseInt(hex, 16));
        return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
      })
    : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}
