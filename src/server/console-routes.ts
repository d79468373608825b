import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PENDING_SIGN_IN_SECONDS, approverOf, cookieIsSecure, holds, type ConsoleSession, type PendingSignIn, type PersonApprover, type Role } from '../console/index.js';
import { CodedError } from '../core/index.js';
import { errorBody, httpStatusOf } from '../gateway/index.js';
import * as Api from './api-schemas.js';
import type { ControlPlane } from './control-plane.js';

/** The console session cookie: its value is the session id, of which the store keeps only a hash. */
export const SESSION_COOKIE = 'mandate_console';
/** What a browser keeps between `/console/login` and `/console/callback`. */
export const PENDING_COOKIE = 'mandate_console_login';
const CALLBACK_PATH = '/console/callback';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const Pending = z
  .object({ state: z.string().max(128), nonce: z.string().max(128), verifier: z.string().max(128), returnTo: z.string().max(2048), redirectUri: z.string().max(2048), expiresAtMs: z.number() })
  .strict();
const CallbackQuery = z.object({ code: z.string().max(4096).optional(), state: z.string().max(512).optional(), error: z.string().max(512).optional(), error_description: z.string().max(2048).optional() }).passthrough();

/** The request's cookies by name (RFC 6265 §5.4); the first of a repeated name wins, as browsers send the most specific first. */
export function cookiesOf(req: FastifyRequest): Map<string, string> {
  const out = new Map<string, string>();
  const header = req.headers.cookie;
  if (typeof header !== 'string') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The console's side of the HTTP API: sign-in routes, the session endpoint the
 * single-page app reads, and how a request with a session cookie is authenticated.
 */
export class ConsoleHttp {
  constructor(private readonly plane: ControlPlane) {}

  /** `console.publicUrl`, else the origin the request was addressed to: where the redirect URI points and unsafe requests must come from. */
  ownOrigin(req: FastifyRequest): string {
    return this.plane.config.console.publicUrl ?? `${req.protocol}://${req.headers.host ?? ''}`;
  }

  /** Whether the request asks as a person signed in to the console: a session cookie and no `Authorization` header (API clients ignore cookies). */
  usesSession(req: FastifyRequest): boolean {
    return this.plane.console !== undefined && req.headers.authorization === undefined && cookiesOf(req).has(SESSION_COOKIE);
  }

  /**
   * The live session the request's cookie names; on an unsafe method, only with the
   * session's CSRF token in `x-csrf-token` and no foreign `Origin`.
   * Errors: console.signed_out, console.csrf.
   */
  async session(req: FastifyRequest): Promise<ConsoleSession> {
    const s = await this.plane.console?.session(cookiesOf(req).get(SESSION_COOKIE));
    if (!s) throw new CodedError('console.signed_out', 'not signed in to the console, or the session ended; sign in at /console/login');
    if (UNSAFE_METHODS.has(req.method)) this.checkCsrf(req, s);
    return s;
  }

  /** A person holding `needed`, as the Actor their actions are recorded under. Errors: console.signed_out, console.csrf, console.forbidden. */
  async person(req: FastifyRequest, needed: Role): Promise<`person:${string}`> {
    return `person:${mustHold(await this.session(req), needed).subject}`;
  }

  /** A person with the approver role, as the approver they decide step-ups as. Errors: as `person`. */
  async approver(req: FastifyRequest): Promise<PersonApprover> {
    return approverOf(mustHold(await this.session(req), 'approver'));
  }

  /** A forged cross-site request carries the cookie but cannot read the token, and a browser always names its page's origin. */
  private checkCsrf(req: FastifyRequest, s: ConsoleSession): void {
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !equalSecrets(token, s.csrfToken)) throw new CodedError('console.csrf', 'this request needs the session\'s CSRF token in `x-csrf-token` (from GET /console/api/session)');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.ownOrigin(req)) throw new CodedError('console.csrf', `requests from origin \`${String(origin).slice(0, 200)}\` are refused`);
  }

  private cookie(req: FastifyRequest, name: string, value: string, attributes: { path: string; maxAgeSeconds: number; sameSite: 'Strict' | 'Lax' }): string {
    const origin = new URL(this.ownOrigin(req));
    const secure = cookieIsSecure(origin.protocol.slice(0, -1), origin.host);
    return `${name}=${value}; Path=${attributes.path}; Max-Age=${attributes.maxAgeSeconds}; HttpOnly; SameSite=${attributes.sameSite}${secure ? '; Secure' : ''}`;
  }

  /** The session cookie (SameSite=Strict: no other site's page can make the browser send it). */
  sessionCookie(req: FastifyRequest, sessionId: string): string {
    return this.cookie(req, SESSION_COOKIE, sessionId, { path: '/', maxAgeSeconds: this.plane.config.console.sessionTtlSeconds, sameSite: 'Strict' });
  }

  clearedSessionCookie(req: FastifyRequest): string {
    return this.cookie(req, SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0, sameSite: 'Strict' });
  }

  /** Lax, not Strict: it must come back on the identity provider's top-level redirect to the callback, which is cross-site. */
  private pendingCookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
    return this.cookie(req, PENDING_COOKIE, value, { path: CALLBACK_PATH, maxAgeSeconds, sameSite: 'Lax' });
  }

  register(app: FastifyInstance): void {
    const hidden = { schema: { hide: true } };
    const plane = this.plane;
    const signIn = () => {
      if (!plane.console) throw new CodedError('console.not_configured', 'console sign-in is not configured: set `console.oidc` (issuer, clientId) and `console.roles`');
      return plane.console;
    };

    app.get('/console/login', hidden, async (req, reply) => {
      try {
        const returnTo = (req.query as Record<string, unknown> | undefined)?.return;
        const { pending, authorizationUrl } = await signIn().begin(returnTo, `${this.ownOrigin(req)}${CALLBACK_PATH}`);
        const value = Buffer.from(JSON.stringify(pending)).toString('base64url');
        return reply.header('cache-control', 'no-store').header('set-cookie', this.pendingCookie(req, value, PENDING_SIGN_IN_SECONDS)).redirect(authorizationUrl, 302);
      } catch (err) {
        return refusalPage(req, reply, err);
      }
    });

    app.get(CALLBACK_PATH, hidden, async (req, reply) => {
      // The pre-login cookie is spent whatever happens: one answer per sign-in.
      reply.header('cache-control', 'no-store').header('set-cookie', this.pendingCookie(req, '', 0));
      try {
        const flow = signIn();
        const query = CallbackQuery.safeParse(req.query ?? {});
        if (!query.success) throw new CodedError('console.sign_in_failed', 'the identity provider\'s answer is malformed');
        const { sessionId, returnTo } = await flow.complete(query.data, pendingOf(cookiesOf(req).get(PENDING_COOKIE)));
        return reply.header('set-cookie', [this.pendingCookie(req, '', 0), this.sessionCookie(req, sessionId)]).redirect(returnTo, 302);
      } catch (err) {
        return refusalPage(req, reply, err);
      }
    });

    app.post('/console/logout', hidden, async (req, reply) => {
      signIn();
      const s = await plane.console!.session(cookiesOf(req).get(SESSION_COOKIE));
      if (s) {
        // Only the session's own page may end it: a forged sign-out is a nuisance, and CSRF all the same.
        this.checkCsrf(req, s);
        await plane.console!.signOut(s);
      }
      return reply.header('set-cookie', this.clearedSessionCookie(req)).header('cache-control', 'no-store').status(204).send();
    });

    app.get('/console/api/session', hidden, async (req, reply) => {
      // Signed out, whether or not sign-in is configured: the app offers /console/login, which says which.
      if (!plane.console) throw new CodedError('console.signed_out', 'not signed in: console sign-in is not configured on this server (`console.oidc`)');
      const s = await this.session(req);
      const view: z.output<typeof Api.ConsoleSession> = { subject: s.subject, name: s.name, email: s.email, issuer: s.issuer, roles: s.roles, csrfToken: s.csrfToken, expiresAtMs: s.expiresAtMs };
      return reply.header('cache-control', 'no-store').send(view);
    });
  }
}


function mustHold(s: ConsoleSession, needed: Role): ConsoleSession {
  if (!holds(s.roles, needed)) throw new CodedError('console.forbidden', `this needs the \`${needed}\` role; \`${s.subject}\` holds ${s.roles.map((r) => `\`${r}\``).join(', ')}`);
  return s;
}

function pendingOf(cookie: string | undefined): (PendingSignIn & { redirectUri: string }) | undefined {
  if (cookie === undefined || cookie === '' || cookie.length > 8192) return undefined;
  try {
    const parsed = Pending.safeParse(JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A refused sign-in: a minimal page for a browser (the console's own pages are the
 * single-page app's), the usual error body for anything else. Unexpected errors keep
 * their cause out of the answer, as the API's error handler does.
 */
function refusalPage(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const coded = err instanceof CodedError ? err : new CodedError('internal.error', 'an unexpected error occurred');
  if (!(err instanceof CodedError)) req.log.error({ err }, 'unexpected error');
  const status = httpStatusOf(coded.code);
  const accept = req.headers.accept ?? '';
  if (!accept.includes('text/html')) return reply.status(status).send(errorBody(coded));
  const title = coded.code === 'console.not_configured' ? 'Console sign-in is not configured' : coded.code === 'console.no_role' ? 'No console role' : 'Sign-in refused';
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>` +
    `<p>${escapeHtml(coded.publicMessage)}</p><p>Code: <code>${coded.code}</code></p>` +
    (coded.code === 'console.not_configured' ? '' : `<p><a href="/console/login">Sign in again</a></p>`) +
    '</body></html>';
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    .send(html);
}
