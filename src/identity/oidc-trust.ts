import * as jose from 'jose';
import { CodedError, type Clock } from '../core/index.js';
import { describeJoseError } from './key-ring.js';
import type { IssuerDirectory } from './ports.js';

/** An external OIDC/JWT issuer the trust domain accepts attestations from. */
export interface TrustedIssuer {
  issuer: string;
  audience: string;
  /** Where to fetch keys; when absent and no `jwks` is given, discovered from `<issuer>/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** Keys configured inline (air-gapped issuers, tests). */
  jwks?: { keys: jose.JWK[] };
}

/** Algorithms accepted from external issuers: asymmetric only, never `none` or HMAC. */
const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

type KeyResolver = jose.JWTVerifyGetKey;

/**
 * Verifies tokens from trusted issuers; key sets are resolved lazily and cached.
 * Discovery and remote key sets are fetched through the IssuerDirectory port.
 */
export class OidcTrust {
  private readonly resolvers = new Map<string, Promise<KeyResolver>>();
  private readonly byIssuer: Map<string, TrustedIssuer>;

  constructor(
    issuers: readonly TrustedIssuer[],
    private readonly clock: Clock,
    private readonly directory: IssuerDirectory,
  ) {
    this.byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  }

  issuers(): string[] {
    return [...this.byIssuer.keys()];
  }

  /** Returns the verified claims; throws `identity.oidc_untrusted` for any failure. */
  async verify(token: string): Promise<jose.JWTPayload & { iss: string }> {
    let unverifiedIssuer: string | undefined;
    try {
      unverifiedIssuer = jose.decodeJwt(token).iss;
    } catch {
      throw new CodedError('identity.oidc_untrusted', 'OIDC token is malformed');
    }
    const trusted = unverifiedIssuer === undefined ? undefined : this.byIssuer.get(unverifiedIssuer);
    if (!trusted) throw new CodedError('identity.oidc_untrusted', `issuer \`${String(unverifiedIssuer)}\` is not trusted`);
    try {
      const keys = await this.resolver(trusted);
      const { payload } = await jose.jwtVerify(token, keys, {
        issuer: trusted.issuer,
        audience: trusted.audience,
        algorithms: OIDC_ALGORITHMS,
        currentDate: new Date(this.clock.nowMs()),
        requiredClaims: ['exp', 'sub'],
      });
      return payload as jose.JWTPayload & { iss: string };
    } catch (err) {
      if (err instanceof CodedError) throw err;
      const message = err instanceof jose.errors.JWTExpired ? 'OIDC token has expired' : `OIDC ${describeJoseError(err)}`;
      throw new CodedError('identity.oidc_untrusted', message, {}, { cause: err });
    }
  }

  private resolver(trusted: TrustedIssuer): Promise<KeyResolver> {
    let pending = this.resolvers.get(trusted.issuer);
    if (!pending) {
      pending = this.buildResolver(trusted);
      // A failed discovery is retried on the next attestation rather than cached.
      pending.catch(() => this.resolvers.delete(trusted.issuer));
      this.resolvers.set(trusted.issuer, pending);
    }
    return pending;
  }

  private async buildResolver(trusted: TrustedIssuer): Promise<KeyResolver> {
    if (trusted.jwks) return jose.createLocalJWKSet(trusted.jwks);
    let jwksUri = trusted.jwksUri;
    if (!jwksUri) {
      const metadata = await this.directory.fetchJson(`${trusted.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
      const uri = (metadata as { jwks_uri?: unknown })?.jwks_uri;
      if (typeof uri !== 'string') throw new CodedError('identity.oidc_untrusted', 'issuer metadata has no jwks_uri');
      jwksUri = uri;
    }
    return this.directory.remoteKeys(new URL(jwksUri));
  }
}

/** Reads a claim by name, or by a `/` path into nested objects (`kubernetes.io/serviceaccount/name`). */
export function readClaim(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('/')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** `*` matches any run of characters; everything else is literal. */
export function matchesClaim(actual: unknown, expected: string): boolean {
  if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return false;
  const text = String(actual);
  if (!expected.includes('*')) return text === expected;
  const pattern = expected.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`, 's').test(text);
}
