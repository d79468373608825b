import type { AgentId, JoinTokenId } from '../core/index.js';

/** A trust-domain signing key. The newest active key signs; retired keys verify until `dropAtMs`. */
export interface SigningKeyRecord {
  kid: string;
  alg: 'ES256';
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
  createdAtMs: number;
  /** Set when a newer key took over signing. */
  retiredAtMs: number | null;
  /** After this instant no token it signed can still be valid, so it leaves the JWKS. */
  dropAtMs: number | null;
}

/** One OIDC attestation rule: a token from `issuer` whose claims all match maps to the agent. */
export interface OidcRule {
  issuer: string;
  /** Claim name (a `/` path reaches nested claims, e.g. `kubernetes.io/serviceaccount/name`) to expected value; `*` matches any run of characters. */
  claims: Record<string, string>;
}

export interface AttestationRules {
  joinToken: boolean;
  oidc: OidcRule[];
}

export interface Agent {
  id: AgentId;
  name: string;
  spiffeId: string;
  /** Cedar `AgentGroup`s the agent belongs to. */
  groups: string[];
  attestation: AttestationRules;
  createdAtMs: number;
  disabledAtMs: number | null;
  /** The RFC 7638 thumbprint of the key it last attested with (DPoP), or null: bearer credentials. */
  dpopJkt: string | null;
}

export interface JoinTokenRecord {
  id: JoinTokenId;
  /** Only the SHA-256 of the token is stored: a database leak yields no usable token. */
  tokenHash: string;
  agentId: AgentId;
  createdAtMs: number;
  expiresAtMs: number;
  usedAtMs: number | null;
}

/** The claims of a verified JWT-SVID. */
export interface SvidClaims {
  spiffeId: string;
  agentId: AgentId;
  agentName: string;
  audience: string[];
  issuedAtMs: number;
  expiresAtMs: number;
  /** The thumbprint of the key the SVID is bound to (`cnf.jkt`): each use needs a DPoP proof of it. */
  jkt?: string;
}

export const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
