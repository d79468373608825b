import { CodedError, type Clock } from '../core/index.js';
import { OidcTrust, readClaim, type TrustedIssuer } from './oidc-trust.js';
import type { IssuerDirectory } from './ports.js';

/** An identity provider of the people agents act for, and the claim that names a person. */
export interface PrincipalIssuer extends TrustedIssuer {
  claim: string;
}

/** A person, as an id token of theirs proves them. */
export interface VerifiedPrincipal {
  /** The task's principal: the configured claim's value. */
  principal: string;
  issuer: string;
  sub: string;
}

/**
 * The people agents act for: an id token from a configured identity provider,
 * verified against its keys (JWKS), names the principal of a task.
 * Errors: identity.principal_untrusted.
 */
export class PrincipalTrust {
  private readonly oidc: OidcTrust;
  private readonly claims: Map<string, string>;

  constructor(issuers: readonly PrincipalIssuer[], clock: Clock, directory: IssuerDirectory) {
    this.oidc = new OidcTrust(issuers, clock, directory);
    this.claims = new Map(issuers.map((i) => [i.issuer, i.claim]));
  }

  async verify(idToken: string): Promise<VerifiedPrincipal> {
    if (this.claims.size === 0) throw new CodedError('identity.principal_untrusted', 'no identity provider of principals is configured (`principals.issuers`)');
    let claims;
    try {
      claims = await this.oidc.verify(idToken);
    } catch (err) {
      throw new CodedError('identity.principal_untrusted', err instanceof CodedError ? err.publicMessage.replace(/^OIDC/, 'id') : 'the id token does not verify', {}, { cause: err });
    }
    const name = readClaim(claims, this.claims.get(claims.iss) ?? 'sub');
    if (typeof name !== 'string' || name === '' || name.length > 256) throw new CodedError('identity.principal_untrusted', `the id token has no \`${this.claims.get(claims.iss) ?? 'sub'}\` claim naming the person`);
    return { principal: name, issuer: claims.iss, sub: String(claims.sub) };
  }
}
