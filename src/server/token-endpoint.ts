import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import { CodedError, type ErrorCode } from '../core/index.js';
import { presentedProof } from '../gateway/index.js';
import { MandateRefused } from '../mandate/index.js';
import type { Task } from '../mandate/index.js';
import type { ControlPlane } from './control-plane.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const SUBJECT_TOKEN_TYPES = new Set([JWT_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:access_token']);

/** An RFC 6749 §5.2 error, with Mandate's own reason code beside it. */
class TokenError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_grant' | 'invalid_scope' | 'invalid_target' | 'unauthorized_client' | 'unsupported_grant_type',
    readonly description: string,
    readonly code: ErrorCode,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(description);
  }
}

/** Which RFC 6749 error a refusal is: the subject token, the actor, the ceiling, or the mandate asked for. */
function oauthErrorOf(err: CodedError): TokenError['error'] {
  if (err.code.startsWith('credential.') || err.code.startsWith('dpop.') || err.code.startsWith('identity.')) return 'invalid_request';
  if (err.code === 'mandate.principal_unverified') return 'invalid_grant';
  if (err.code === 'delegation.actor_unknown' || err.code === 'identity.agent_disabled') return 'invalid_target';
  if (err.code === 'delegation.not_permitted') return 'unauthorized_client';
  if (err.code.startsWith('delegation.') || err.code === 'mandate.parent_invalid') return 'invalid_grant';
  if (err.code === 'mandate.invalid') return 'invalid_request';
  return 'invalid_scope';
}

/**
 * `POST /v1/token`: OAuth 2.0 Token Exchange (RFC 8693), two ways, form-encoded as
 * the RFC asks or JSON, each with the task's `mandate` (JSON):
 * - delegation: the holder of a task credential (`subject_token`, a JWT) asks for a
 *   child task for another agent (`audience`: its SPIFFE ID), narrower on every axis;
 * - on behalf of a person: an agent (`actor_token`: its SVID) presents a person's id
 *   token (`subject_token`, type id_token) and gets a task acting for that person.
 * Answers `access_token` (the task credential), `issued_token_type`, `token_type`,
 * `expires_in`, `task`; errors as RFC 6749 §5.2 with the reason `code` (and
 * `refused` items for a refused mandate).
 */
export function registerTokenEndpoint(app: FastifyInstance, plane: ControlPlane, taskView: (t: Task) => unknown, routeOptions: RouteShorthandOptions): void {
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post('/v1/token', routeOptions, async (req, reply) => {
      reply.header('cache-control', 'no-store');
      try {
        const p = paramsOf(req.body);
        const presented = presentedProof(req.raw);
        const { task, credential } =
          p.kind === 'on_behalf'
            ? await plane.tasks.declareOnBehalf(p.actorToken, p.subjectToken, p.mandate, presented)
            : await plane.tasks.delegate((await plane.kernel.authenticate(p.subjectToken, presented)).task, p.audience, p.mandate);
        return reply.status(200).send({
          access_token: credential,
          issued_token_type: JWT_TOKEN_TYPE,
          token_type: 'Bearer',
          expires_in: Math.max(0, Math.floor((task.expiresAtMs - plane.clock.nowMs()) / 1000)),
          task: taskView(task),
        });
      } catch (err) {
        const e = toTokenError(err);
        if (!e) throw err;
        return reply.status(400).send({ error: e.error, error_description: e.description, code: e.code, ...e.extra });
      }
    });
  });
}

type TokenParams = { mandate: unknown; subjectToken: string } & ({ kind: 'delegation'; audience: string } | { kind: 'on_behalf'; actorToken: string });

function paramsOf(body: unknown): TokenParams {
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const text = (name: string): string | undefined => (typeof b[name] === 'string' && b[name] !== '' ? (b[name] as string) : undefined);
  const grantType = text('grant_type');
  if (grantType !== TOKEN_EXCHANGE_GRANT) throw new TokenError(grantType ? 'unsupported_grant_type' : 'invalid_request', grantType ? `grant_type \`${grantType}\` is not supported; use ${TOKEN_EXCHANGE_GRANT}` : 'grant_type is missing', 'request.invalid');
  const subjectToken = text('subject_token');
  if (!subjectToken) throw new TokenError('invalid_request', 'subject_token is missing: the task credential of the parent task', 'request.invalid');
  const subjectType = text('subject_token_type');
  if (!subjectType || !(SUBJECT_TOKEN_TYPES.has(subjectType) || subjectType === ID_TOKEN_TYPE)) throw new TokenError('invalid_request', `subject_token_type must be ${JWT_TOKEN_TYPE} (a task credential) or ${ID_TOKEN_TYPE} (a person's id token)`, 'request.invalid');
  const requested = text('requested_token_type');
  if (requested !== undefined && requested !== JWT_TOKEN_TYPE) throw new TokenError('invalid_request', `requested_token_type \`${requested}\` is not issued; omit it or ask for ${JWT_TOKEN_TYPE}`, 'request.invalid');
  const mandate = mandateOf(b.mandate);
  if (subjectType === ID_TOKEN_TYPE) {
    // The agent acting for the person proves itself with its own SVID.
    const actorToken = text('actor_token');
    if (!actorToken || text('actor_token_type') !== JWT_TOKEN_TYPE) throw new TokenError('invalid_request', `a person's id token is exchanged by the agent acting for them: give its SVID as actor_token (actor_token_type ${JWT_TOKEN_TYPE})`, 'request.invalid');
    return { kind: 'on_behalf', subjectToken, actorToken, mandate };
  }
  // Each agent acts under its own identity: the actor is named, never represented by a token handed over.
  if (b.actor_token !== undefined) throw new TokenError('invalid_request', 'actor_token is not accepted with a task credential: name the actor by `audience` (its SPIFFE ID)', 'request.invalid');
  const audience = text('audience');
  if (!audience) throw new TokenError('invalid_request', 'audience is missing: the SPIFFE ID of the agent the task is delegated to', 'request.invalid');
  return { kind: 'delegation', subjectToken, audience, mandate };
}

function mandateOf(given: unknown): unknown {
  let mandate = given;
  if (typeof mandate === 'string') {
    try {
      mandate = JSON.parse(mandate);
    } catch {
      throw new TokenError('invalid_request', 'mandate is not JSON', 'mandate.invalid');
    }
  }
  if (mandate === undefined) throw new TokenError('invalid_request', 'mandate is missing: the task\'s mandate as JSON', 'mandate.invalid');
  return mandate;
}

function toTokenError(err: unknown): TokenError | undefined {
  if (err instanceof TokenError) return err;
  if (err instanceof MandateRefused) return new TokenError('invalid_scope', err.publicMessage, err.code, { refused: err.refused });
  if (err instanceof CodedError) {
    if (err.code === 'store.unreachable' || err.code === 'internal.error') return undefined;
    return new TokenError(oauthErrorOf(err), err.publicMessage, err.code);
  }
  return undefined;
}
