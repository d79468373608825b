import type { Role } from './roles.js';

/**
 * A person signed in to the console. The store keeps a hash of the session id, never
 * the id itself: whoever reads the table cannot take over a session.
 */
export interface ConsoleSession {
  /** SHA-256 (hex) of the session id the cookie carries. */
  idHash: string;
  /** The identity provider's `sub`: `person:<subject>` in the records of what the person does. */
  subject: string;
  issuer: string;
  name: string | null;
  email: string | null;
  /** The person's groups at the identity provider when they signed in (approval rules name groups). */
  groups: string[];
  roles: Role[];
  /** Sent back in `x-csrf-token` on every unsafe request. */
  csrfToken: string;
  createdAtMs: number;
  expiresAtMs: number;
  lastSeenAtMs: number;
}

/** Which of the identity provider's groups give which role (`console.roles`). */
export type RoleMapping = Readonly<Record<Role, readonly string[]>>;

/** The console's client at the organisation's OpenID provider (`console.oidc`). */
export interface ConsoleOidcClient {
  issuer: string;
  clientId: string;
  /** Absent: a public client, which PKCE alone protects. */
  clientSecret?: string | undefined;
  scopes: readonly string[];
  /** The id token claim listing the person's groups; a `/` path reaches nested claims. */
  groupsClaim: string;
}

/** What the browser keeps between `/console/login` and `/console/callback`, in a short-lived HttpOnly cookie. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  /** The PKCE code verifier (RFC 7636): the code is worthless to whoever intercepts it without this. */
  verifier: string;
  /** Where to go once signed in: a path under `/console/`. */
  returnTo: string;
  expiresAtMs: number;
}
