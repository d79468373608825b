import { z } from 'zod';
import type { AuditSink } from '../audit/index.js';
import { APPROVER_ID } from '../approvals/index.js';
import { CodedError, sha256Base64Url, sha256Hex, type Clock, type Random } from '../core/index.js';
import { OidcTrust, readClaim, type IssuerDirectory } from '../identity/index.js';
import type { ConsoleOidcClient, ConsoleSession, PendingSignIn, RoleMapping } from './model.js';
import type { ConsoleSessionRepo, TokenEndpoint } from './ports.js';
import { safeReturnPath } from './return-path.js';
import { rolesFromGroups } from './roles.js';

/** A sign-in must come back from the identity provider within this. */
export const PENDING_SIGN_IN_SECONDS = 600;
/** `lastSeenAtMs` is written at most this often per session: not one store write per console request. */
const TOUCH_EVERY_MS = 60_000;

export interface ConsoleSignInDeps {
  client: ConsoleOidcClient;
  roles: RoleMapping;
  sessionTtlSeconds: number;
  clock: Clock;
  random: Random;
  directory: IssuerDirectory;
  tokenEndpoint: TokenEndpoint;
  sessions: ConsoleSessionRepo;
  audit: AuditSink;
}

/** What `/console/callback` receives from the identity provider (RFC 6749 §4.1.2). */
export interface CallbackQuery {
  code?: string | undefined;
  state?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

/** The approver a signed-in person decides step-ups as (see `approverOf`). */
export interface PersonApprover {
  id: string;
  groups: string[];
}

const Metadata = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});
type Metadata = z.output<typeof Metadata>;

const TokenAnswer = z.object({ id_token: z.string().min(1).max(16_384) });
const OAuthError = z.object({ error: z.string().max(200), error_description: z.string().max(500).optional() });

type Refusal = 'console.sign_in_failed' | 'console.no_role';

/**
 * Sign-in to the console with the organisation's OpenID provider: the authorization
 * code flow with PKCE (S256), `state` and `nonce` (OpenID Connect Core §3.1), and
 * sessions kept in the store. I/O reaches it through ports: discovery and keys
 * through the IssuerDirectory, the code exchange through the TokenEndpoint.
 */
export class ConsoleSignIn {
  private metadata: Promise<Metadata> | undefined;
  private readonly idTokens: OidcTrust;

  constructor(private readonly d: ConsoleSignInDeps) {
    this.idTokens = new OidcTrust([{ issuer: d.client.issuer, audience: d.client.clientId }], d.clock, d.directory);
  }

  /**
   * Starts a sign-in: what the browser keeps in its pre-login cookie, and the identity
   * provider's authorization URL to send it to. Errors: console.sign_in_failed (the
   * provider's metadata cannot be read).
   */
  async begin(returnTo: unknown, redirectUri: string): Promise<{ pending: PendingSignIn & { redirectUri: string }; authorizationUrl: string }> {
    const metadata = await this.discover();
    const pending = {
      state: this.d.random.token(24),
      nonce: this.d.random.token(24),
      verifier: this.d.random.token(32),
      returnTo: safeReturnPath(returnTo),
      redirectUri,
      expiresAtMs: this.d.clock.nowMs() + PENDING_SIGN_IN_SECONDS * 1000,
    };
    const url = new URL(metadata.authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: this.d.client.clientId,
      redirect_uri: redirectUri,
      scope: this.d.client.scopes.join(' '),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: sha256Base64Url(pending.verifier),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return { pending, authorizationUrl: url.href };
  }

  /**
   * Completes a sign-in: checks `state` against the pre-login cookie, exchanges the
   * code with the verifier, verifies the id token (signature by the provider's keys,
   * issuer, audience, expiry, nonce), maps groups to roles and opens a session.
   * Every refusal of a sign-in that began here is recorded (`console.sign_in_refused`).
   * Errors: console.sign_in_failed, console.no_role.
   */
  async complete(query: CallbackQuery, pending: (PendingSignIn & { redirectUri: string }) | undefined): Promise<{ sessionId: string; session: ConsoleSession; returnTo: string }> {
    // Without a pre-login cookie nothing began here: refused, but not recorded, so stray requests cannot fill the trail.
    if (!pending) throw new CodedError('console.sign_in_failed', 'no sign-in is in progress in this browser (the pre-login cookie is missing or expired); start again at /console/login');
    const refuse = async (code: Refusal, why: string, who: Record<string, unknown> = {}): Promise<never> => {
      await this.d.audit.record({ type: 'console.sign_in_refused', data: { code, why, issuer: this.d.client.issuer, ...who } });
      throw new CodedError(code, why);
    };
    if (pending.expiresAtMs <= this.d.clock.nowMs()) return refuse('console.sign_in_failed', 'the sign-in took too long; start again');
    // The state binds the answer to this browser's own request: without it, an attacker's code could sign the victim in as the attacker.
    if (query.state === undefined || query.state !== pending.state) return refuse('console.sign_in_failed', 'the `state` of the answer does not match this browser\'s sign-in');
    if (query.error !== undefined) return refuse('console.sign_in_failed', `the identity provider answered \`${query.error.slice(0, 100)}\``);
    if (query.code === undefined || query.code === '') return refuse('console.sign_in_failed', 'the identity provider sent no authorization code');

    const idToken = await this.exchange(query.code, pending).catch((err: unknown) => refuse('console.sign_in_failed', err instanceof CodedError ? err.publicMessage : 'the code exchange failed'));
    let claims: Record<string, unknown> & { iss: string };
    try {
      claims = await this.idTokens.verify(idToken);
    } catch (err) {
      return refuse('console.sign_in_failed', err instanceof CodedError ? err.publicMessage.replace(/^OIDC token/, 'the id token') : 'the id token does not verify');
    }
    const subject = String(claims.sub);
    const who = { subject, issuer: claims.iss };
    if (claims.nonce !== pending.nonce) return refuse('console.sign_in_failed', 'the id token\'s `nonce` is not this sign-in\'s', who);
    // OpenID Connect Core §3.1.3.7: a token for several audiences must name this client as the party it was issued to.
    if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== this.d.client.clientId) return refuse('console.sign_in_failed', 'the id token was issued to another client (`azp`)', who);

    const groups = groupsOf(readClaim(claims, this.d.client.groupsClaim));
    const roles = rolesFromGroups(groups, this.d.roles);
    if (roles.length === 0) return refuse('console.no_role', `\`${subject}\` is in no group that gives a console role`, { ...who, groups });

    const now = this.d.clock.nowMs();
    const sessionId = this.d.random.token(32);
    const session: ConsoleSession = {
      idHash: sha256Hex(sessionId),
      subject,
      issuer: claims.iss,
      name: stringClaim(claims.name) ?? stringClaim(claims.preferred_username),
      // An address the provider says it has not verified names nobody: approval rules and the principal match on it.
      email: claims.email_verified === false ? null : (stringClaim(claims.email)?.toLowerCase() ?? null),
      groups,
      roles,
      csrfToken: this.d.random.token(24),
      createdAtMs: now,
      expiresAtMs: now + this.d.sessionTtlSeconds * 1000,
      lastSeenAtMs: now,
    };
    // Expired sessions go when someone signs in: no timer, and the table holds about one row per person.
    await this.d.sessions.sweep(now);
    await this.d.sessions.insert(session);
    await this.d.audit.record({ type: 'console.signed_in', data: { subject, issuer: session.issuer, name: session.name, email: session.email, groups, roles, by: `person:${subject}` } });
    return { sessionId, session, returnTo: safeReturnPath(pending.returnTo) };
  }

  /** The live session a cookie's session id names, or undefined (unknown, ended or expired). */
  async session(sessionId: string | undefined): Promise<ConsoleSession | undefined> {
    if (sessionId === undefined || sessionId === '' || sessionId.length > 128) return undefined;
    const s = await this.d.sessions.get(sha256Hex(sessionId));
    const now = this.d.clock.nowMs();
    if (!s || s.expiresAtMs <= now) return undefined;
    if (now - s.lastSeenAtMs >= TOUCH_EVERY_MS) await this.d.sessions.touch(s.idHash, now);
    return s;
  }

  /** Ends a session on every replica (the row is gone) and records it. */
  async signOut(session: ConsoleSession): Promise<void> {
    if (await this.d.sessions.delete(session.idHash)) {
      await this.d.audit.record({ type: 'console.signed_out', data: { subject: session.subject, issuer: session.issuer, by: `person:${session.subject}` } });
    }
  }

  /** Deletes expired sessions. */
  sweep(): Promise<number> {
    return this.d.sessions.sweep(this.d.clock.nowMs());
  }

  private discover(): Promise<Metadata> {
    if (!this.metadata) {
      const issuer = this.d.client.issuer;
      this.metadata = (async () => {
        const raw = await this.d.directory.fetchJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
        const parsed = Metadata.safeParse(raw);
        if (!parsed.success) throw new CodedError('console.sign_in_failed', 'the identity provider\'s metadata lacks an authorization or token endpoint');
        // OpenID Connect Discovery §4.3: metadata naming another issuer is not this provider's.
        if (parsed.data.issuer !== issuer) throw new CodedError('console.sign_in_failed', `the identity provider's metadata names issuer \`${parsed.data.issuer}\`, not \`${issuer}\``);
        const methods = parsed.data.code_challenge_methods_supported;
        if (methods && !methods.includes('S256')) throw new CodedError('console.sign_in_failed', 'the identity provider does not support PKCE with S256');
        return parsed.data;
      })();
      // A failed discovery is tried again on the next sign-in rather than cached.
      this.metadata.catch(() => (this.metadata = undefined));
    }
    return this.metadata.catch((err: unknown) => {
      throw err instanceof CodedError && err.code === 'console.sign_in_failed' ? err : new CodedError('console.sign_in_failed', 'the identity provider cannot be reached', {}, { cause: err });
    });
  }

  private async exchange(code: string, pending: PendingSignIn & { redirectUri: string }): Promise<string> {
    const metadata = await this.discover();
    const { clientId, clientSecret } = this.d.client;
    const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: pending.redirectUri, code_verifier: pending.verifier };
    // A public client names itself in the form; a confidential one authenticates with HTTP Basic.
    if (clientSecret === undefined) form.client_id = clientId;
    const answer = await this.d.tokenEndpoint(metadata.token_endpoint, form, clientSecret === undefined ? undefined : { clientId, clientSecret });
    if (answer.status !== 200) {
      const error = OAuthError.safeParse(answer.body);
      throw new CodedError('console.sign_in_failed', error.success ? `the token endpoint refused the code: \`${error.data.error}\`` : `the token endpoint answered HTTP ${answer.status}`);
    }
    const tokens = TokenAnswer.safeParse(answer.body);
    if (!tokens.success) throw new CodedError('console.sign_in_failed', 'the token endpoint answered without an id token');
    return tokens.data.id_token;
  }
}

/**
 * The id a signed-in person approves as: their e-mail address when the provider
 * vouches for one (so `approver:alice@example.com` rules and the task's principal
 * match), else their subject. Their groups are the provider's, so `group:` rules apply.
 */
export function approverOf(s: Pick<ConsoleSession, 'subject' | 'email' | 'groups'>): PersonApprover {
  const id = s.email !== null && APPROVER_ID.test(s.email) ? s.email : s.subject;
  return { id, groups: [...s.groups] };
}

function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : [];
}

function stringClaim(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, 256) : null;
}
