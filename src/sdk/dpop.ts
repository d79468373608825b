/**
 * The client side of DPoP (RFC 9449): a proof, sent in the `DPoP` header, that the
 * caller holds the private key its task credential is bound to. WebCrypto and
 * nothing else, like the rest of the SDK imports nothing, so it runs wherever an
 * agent does (Node, Deno, Bun, browsers, workers).
 */

export interface DpopProofRequest {
  /** The key pair's private half: ECDSA P-256 or P-384, Ed25519, or RSASSA-PKCS1-v1_5 or RSA-PSS with SHA-256. */
  privateKey: CryptoKey;
  /** The public half as a JWK; only its public members go into the proof. */
  publicJwk: JsonWebKey;
  /** The request's HTTP method, as sent (`POST`). */
  method: string;
  /** The request's URL; its query and fragment are left out of `htu`. */
  url: string;
  /** The access token sent with the request, bound by its hash (`ath`). */
  accessToken?: string;
  /** Default `Date.now()`. */
  nowMs?: number;
  /** Default 128 random bits, base64url. */
  jti?: string;
}

interface Signer {
  alg: string;
  params: AlgorithmIdentifier | EcdsaParams | RsaPssParams;
}

/** The JWS algorithm and WebCrypto signing parameters of a private key. */
function signerOf(key: CryptoKey): Signer {
  const a = key.algorithm as KeyAlgorithm & { namedCurve?: string; hash?: { name: string } };
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return { alg: 'ES256', params: { name: 'ECDSA', hash: 'SHA-256' } };
  if (a.name === 'ECDSA' && a.namedCurve === 'P-384') return { alg: 'ES384', params: { name: 'ECDSA', hash: 'SHA-384' } };
  if (a.name === 'Ed25519') return { alg: 'EdDSA', params: { name: 'Ed25519' } };
  if (a.name === 'RSASSA-PKCS1-v1_5' && a.hash?.name === 'SHA-256') return { alg: 'RS256', params: { name: 'RSASSA-PKCS1-v1_5' } };
  // PS256's salt is as long as its hash (RFC 7518 §3.5).
  if (a.name === 'RSA-PSS' && a.hash?.name === 'SHA-256') return { alg: 'PS256', params: { name: 'RSA-PSS', saltLength: 32 } };
  throw new TypeError(`a DPoP proof cannot be signed with a ${a.name}${a.namedCurve ? ` ${a.namedCurve}` : ''} key`);
}

/** The public members of a JWK: a private JWK passed by mistake must not end up in a header. */
function publicMembers(jwk: JsonWebKey): JsonWebKey {
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  if (jwk.kty === 'OKP') return { kty: 'OKP', crv: jwk.crv, x: jwk.x };
  if (jwk.kty === 'RSA') return { kty: 'RSA', n: jwk.n, e: jwk.e };
  throw new TypeError(`a DPoP proof needs an EC, OKP or RSA public key, not ${jwk.kty}`);
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** A DPoP proof for one request: a fresh `jti`, so it is accepted once. */
export async function createDpopProof(r: DpopProofRequest): Promise<string> {
  const signer = signerOf(r.privateKey);
  const target = new URL(r.url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError(`a DPoP proof is for an http or https URL, not ${target.protocol}`);
  const header = { typ: 'dpop+jwt', alg: signer.alg, jwk: publicMembers(r.publicJwk) };
  const claims: Record<string, unknown> = {
    jti: r.jti ?? base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: r.method,
    htu: `${target.origin}${target.pathname}`,
    iat: Math.floor((r.nowMs ?? Date.now()) / 1000),
  };
  if (r.accessToken !== undefined) claims.ath = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(r.accessToken))));
  const input = `${base64url(utf8(JSON.stringify(header)))}.${base64url(utf8(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is r‖s, which is what JWS wants (RFC 7518 §3.4).
  const signature = new Uint8Array(await crypto.subtle.sign(signer.params, r.privateKey, utf8(input)));
  return `${input}.${base64url(signature)}`;
}
