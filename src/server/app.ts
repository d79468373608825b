import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { splitProxyUrl } from '../gateway/index.js';
import { CodedError, parseId, type TaskId } from '../core/index.js';
import { ADMIN_ACTOR, AUDIT_EVENT_TYPES, type Actor, type AuditEventType, type AuditFilter } from '../audit/index.js';
import { MANDATE_DOCUMENT_TYP, MandateSchema, PlanSchema, controlPlaneId, mandateDocumentClaims, type Task } from '../mandate/index.js';
import type { Agent } from '../identity/index.js';
import * as Api from './api-schemas.js';
import type { ControlPlane } from './control-plane.js';
import { MANDATE_VERSION } from './version.js';
import { HOW_TO_GET_A_CREDENTIAL, TXN_TOKEN_HEADER, errorBody, httpStatusOf, presentedProof, traceIdOf } from '../gateway/index.js';
import { TXN_TOKEN_TYP } from '../decision/index.js';
import { EXPOSITION_CONTENT_TYPE, observeRequests, requestIdOf } from './telemetry/index.js';
import { registerTokenEndpoint } from './token-endpoint.js';
import { ConsoleHttp } from './console-routes.js';
import { registerConsoleLive, registerConsoleOps, registerConsoleStatic } from './routes/index.js';
import { decodeTimeCursor, encodeCursor } from './services/index.js';
import { ErrorSchema, bearer, doc, jsonSchema, parse, type Authorize } from './http-kit.js';

/** Largest JSON-RPC message an agent may send to the MCP gateway. */
const MCP_BODY_LIMIT_BYTES = 1024 * 1024;


const AttestJoinBody = z.object({ token: z.string().min(1).max(512) }).strict();
const AttestOidcBody = z.object({ token: z.string().min(1).max(16_384) }).strict();
const JoinTokenBody = z.object({ ttlSeconds: z.number().int().min(30).max(7 * 86_400).optional() }).strict();
const DecideBody = z
  .object({
    credential: z.string().min(1).max(8192),
    tool: z.string().min(1).max(256),
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
const RevokeBody = z
  .object({
    kind: z.enum(['credential', 'task', 'agent', 'principal']),
    subject: z.string().min(1).max(256),
    reason: z.string().min(1).max(500).default('revoked by an operator'),
  })
  .strict();
const CompleteBody = z.object({ reason: z.string().max(500).optional() }).strict().default({});
const ResultBody = z
  .object({
    tool: z.string().min(1).max(256),
    decisionId: z.string().max(80).optional(),
    status: z.enum(['ok', 'error']),
    bytes: z.number().int().min(0).default(0),
    /** How long the call took, as the enforcement point measured it. */
    durationMs: z.number().min(0).max(86_400_000).optional(),
    /** Labels of what came back, beyond those the tool's metadata gives (e.g. `untrusted` for an email body). */
    labels: z.array(z.string().min(1).max(64)).max(32).default([]),
    /** The call's arguments, so the tool's `labelRules` (labels by resource) apply. */
    args: z.record(z.string(), z.unknown()).default({}),
    /** The result itself (text or JSON): the values it names are kept as salted hashes for argument provenance, the content is not. */
    content: z.unknown().optional(),
    /** Or the values the enforcement point extracted from the result (e-mail addresses, IBANs, URLs, identifiers). */
    values: z.array(z.string().min(1).max(512)).max(4096).optional(),
  })
  .strict();
const DecisionListQuery = z
  .object({
    task: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
const REASON_CODE = /^[a-z_]+(\.[a-z_]+)+$/;
const AuditSearchQuery = z
  .object({
    agent: z.string().min(1).max(128).optional().describe('an agent name or id'),
    principal: z.string().min(1).max(256).optional().describe('the events of tasks acting on behalf of this principal'),
    task: z.string().optional().describe('a task id'),
    outcome: z.enum(['allow', 'deny', 'step_up']).optional().describe('decisions with this outcome'),
    reason: z.string().regex(REASON_CODE, 'a reason code such as `policy.forbid`').optional().describe('events with this reason code (docs/reason-codes.md)'),
    tool: z.string().min(1).max(256).optional().describe('events naming this tool: decisions, results, approvals, signals'),
    type: z.string().max(1024).optional().describe('event types, comma-separated (`decision,tool.result`)'),
    sinceMs: z.coerce.number().int().min(0).optional().describe('from this instant (ms since the epoch), inclusive'),
    untilMs: z.coerce.number().int().min(0).optional().describe('up to this instant, exclusive'),
    order: z.enum(['asc', 'desc']).default('desc').describe('`desc`: newest first'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().min(1).max(512).optional().describe('`nextCursor` of the previous page'),
  })
  .strict();
const NameParams = z.object({ name: z.string().min(1).max(64) }).strict();
const SecretBody = z.object({ value: z.string().min(1).max(16_384) }).strict();
const PolicyPushBody = z
  .object({ files: z.array(z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]+\.cedar$/, 'a `.cedar` file name'), text: z.string().max(1_000_000) }).strict()).min(1).max(500) })
  .strict();
const ToolBody = z.object({ kind: z.string(), effects: z.array(z.string()).optional(), risk: z.string().optional(), labels: z.array(z.string()).optional(), tags: z.array(z.string()).optional(), description: z.string().optional(), params: z.record(z.string(), z.unknown()).optional() }).strict();
const ApproverBody = z.object({ id: z.string(), groups: z.array(z.string()).optional() }).strict();
const VerdictBody = z.object({ reason: z.string().trim().min(1, 'give a reason').max(1000) }).strict();
const ApprovalListQuery = z
  .object({
    status: z.enum(['pending', 'approved', 'denied', 'expired', 'consumed', 'cancelled']).optional(),
    task: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    order: z.enum(['newest', 'oldest']).default('newest').describe('`oldest` first lists a pending queue by who has waited longest'),
    cursor: z.string().min(1).max(512).optional().describe('`nextCursor` of the previous page, in the same order'),
  })
  .strict();
const IdParams = z.object({ id: z.string().min(1).max(80) }).strict();


export function taskView(t: Task, drift?: Record<string, unknown>): Record<string, unknown> {
  return {
    ...(drift ? { drift } : {}),
    id: t.id,
    agent: t.agentName,
    agentId: t.agentId,
    spiffeId: t.spiffeId,
    status: t.status,
    mandate: t.mandate,
    principal: t.principal,
    parentTask: t.parentTaskId,
    delegationDepth: t.delegationDepth,
    callCount: t.callCount,
    createdAtMs: t.createdAtMs,
    expiresAtMs: t.expiresAtMs,
    endedAtMs: t.endedAtMs,
    endReason: t.endReason,
  };
}

function agentView(a: Agent): Record<string, unknown> {
  return { id: a.id, name: a.name, spiffeId: a.spiffeId, groups: a.groups, attestation: a.attestation, createdAtMs: a.createdAtMs, disabledAtMs: a.disabledAtMs, dpopJkt: a.dpopJkt };
}

/** Builds the `/v1` control-plane API over a started control plane. */
export async function buildApp(plane: ControlPlane): Promise<FastifyInstance> {
  const logger = plane.telemetry.logger;
  const app = Fastify({
    // Fastify's own per-request lines are off: observeRequests writes one line per request, without the URL.
    ...(logger.isLevelEnabled('fatal') ? { loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) } : { logger: false }),
    genReqId: requestIdOf,
    bodyLimit: plane.config.server.bodyLimitBytes,
    return503OnClosing: true,
  });
  observeRequests(app, logger, plane.telemetry.tracer);
  // zod validates inside each handler (errors name the field); route schemas only document the API.
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Mandate control plane', version: MANDATE_VERSION, description: 'Workload identity, mandates, task credentials and decisions for AI agents.' },
      components: {
        securitySchemes: {
          admin: { type: 'http', scheme: 'bearer', description: 'the admin token' },
          svid: { type: 'http', scheme: 'bearer', description: 'a JWT-SVID from attestation' },
          task: { type: 'http', scheme: 'bearer', description: 'a task credential' },
          approver: { type: 'http', scheme: 'bearer', description: 'an approver token' },
          metrics: { type: 'http', scheme: 'bearer', description: 'the metrics token (`metrics.token`)' },
        },
      },
    },
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof CodedError) return reply.status(httpStatusOf(err.code)).send(errorBody(err));
    const e = err as { code?: string; statusCode?: number; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(errorBody(new CodedError('request.too_large', `body exceeds ${req.routeOptions.bodyLimit ?? plane.config.server.bodyLimitBytes} bytes`)));
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send(errorBody(new CodedError('request.invalid', 'content-type must be application/json')));
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      const message = e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'body must not be empty' : e.code?.startsWith('FST_ERR_CTP') || err instanceof SyntaxError ? 'body is not valid JSON' : 'malformed request';
      return reply.status(400).send(errorBody(new CodedError('request.invalid', message)));
    }
    // Unexpected: a stable code, never the stack or the message of the cause; those go to the log.
    req.log.error({ err }, 'unexpected error');
    return reply.status(500).send(errorBody(new CodedError('internal.error', 'an unexpected error occurred')));
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send(errorBody(new CodedError('request.not_found', `no route \`${req.method} ${req.url.split('?')[0]}\``))));

  const consoleHttp = new ConsoleHttp(plane);
  /**
   * Who asks, if they hold the role the endpoint needs: the admin token, which holds
   * every role, or a person signed in to the console whose roles include it. A request
   * with an `Authorization` header is an API client's, and its cookies are ignored.
   */
  const authorize: Authorize = async (req, needed) => {
    if (consoleHttp.usesSession(req)) return consoleHttp.person(req, needed);
    if (plane.admin.isAdmin(bearer(req))) return ADMIN_ACTOR;
    throw new CodedError('request.unauthorized', 'this endpoint needs the admin token as a bearer token, or a console session');
  };
  /** An agent that attests with a DPoP proof gets an SVID, and task credentials, bound to that key. */
  const attestedKey = async (req: FastifyRequest): Promise<string | undefined> => {
    const presented = presentedProof(req.raw);
    return presented.dpop === undefined ? undefined : plane.possession.dpop(presented);
  };
  const requireBearer = (req: FastifyRequest, what: string): string => {
    const token = bearer(req);
    if (!token) throw new CodedError('request.unauthorized', `this endpoint needs ${what} as a bearer token`);
    return token;
  };

  app.get('/healthz', doc('liveness and policy version', { response: { 200: Api.Health } }), async () => ({ status: 'ok', policyVersion: plane.policy.version, store: plane.store.kind, storeAvailable: plane.storeAvailable() }));
  // Readiness: a replica that cannot use its store refuses every call, so a load balancer should send traffic elsewhere.
  app.get('/readyz', doc('503 while this replica cannot use its store', { response: { 200: Api.Readiness, 503: Api.Readiness } }), async (_req, reply) => {
    const ready = plane.storeAvailable();
    return reply.code(ready ? 200 : 503).send({ ready, store: plane.store.kind });
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (plane.telemetry.metrics) {
    const text = { description: 'the Prometheus text exposition format, version 0.0.4', content: { [EXPOSITION_CONTENT_TYPE]: { schema: { type: 'string' } } } };
    app.get('/metrics', { schema: { summary: 'Prometheus metrics (metrics token or admin)', security: [{ metrics: [] }, { admin: [] }], response: { 200: text, '4xx': ErrorSchema } } }, async (req, reply) => {
      if (!plane.admin.mayReadMetrics(bearer(req))) throw new CodedError('request.unauthorized', 'this endpoint needs the metrics token or the admin token as a bearer token');
      return reply.type(EXPOSITION_CONTENT_TYPE).send(await plane.telemetry.scrape());
    });
  }

  // Trust domain
  app.get('/v1/jwks.json', doc('the trust domain public keys (JWKS)', { response: { 200: Api.Jwks } }), async () => plane.keys.jwks());
  app.get('/.well-known/jwks.json', { schema: { hide: true } }, async () => plane.keys.jwks());
  app.get('/v1/bundle', doc('the SPIFFE trust bundle', { response: { 200: Api.TrustBundle } }), async () => ({ trust_domain: plane.config.trustDomain, ...plane.keys.spiffeBundle(300) }));
  app.post('/v1/keys/rotate', doc('start signing with a new key (admin)', { response: { 200: Api.KeyRotation }, security: [{ admin: [] }] }), async (req) => {
    const by = await authorize(req, 'admin');
    const result = await plane.keys.rotate();
    await plane.audit.record({ type: 'key.rotated', data: { ...result, by } });
    return result;
  });

  // Tool metadata: what decide and the monitor know of a tool (kind, risk, labels), beside the configured catalog.
  app.get('/v1/tools', doc('the tool catalog (admin)', { response: { 200: Api.ToolList }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    return { tools: plane.tools.list() };
  });
  app.put('/v1/tools/:name', doc('register or update a tool that no gateway proxies (admin)', { response: { 200: Api.ToolSpec }, security: [{ admin: [] }], body: jsonSchema(ToolBody) }), async (req) => {
    const by = await authorize(req, 'admin');
    const { name } = parse(z.object({ name: z.string().min(1).max(160) }).strict(), req.params, 'path');
    return plane.toolRegistry.register(name, req.body, by);
  });

  // Policies: with `policy.source: store`, one versioned set for every replica.
  app.get('/v1/policies', doc('the policy set being served (admin)', { response: { 200: Api.PolicySet }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    return { source: plane.config.policy.source, version: plane.policy.version, hash: plane.policy.hash, files: plane.policy.loaded?.files ?? [] };
  });
  app.put('/v1/policies', doc('replace the policy set as the next version, validated first (admin; `policy.source: store`)', { response: { 200: Api.PolicyVersion }, security: [{ admin: [] }], body: jsonSchema(PolicyPushBody) }), async (req) => {
    const by = await authorize(req, 'admin');
    const body = parse(PolicyPushBody, req.body, 'body');
    return plane.policies.push(body.files, by);
  });

  // Agents
  app.post('/v1/agents', doc('register an agent (admin)', { response: { 201: Api.AgentView }, security: [{ admin: [] }], body: jsonSchema(z.object({ name: z.string(), groups: z.array(z.string()).optional(), attestation: z.unknown().optional() })) }), async (req, reply) => {
    const by = await authorize(req, 'admin');
    const agent = await plane.identity.registerAgent(req.body ?? {}, by);
    return reply.status(201).send(agentView(agent));
  });
  app.delete('/v1/agents/:name', doc('deregister an agent and revoke its tasks (admin)', { response: { 200: Api.AgentView }, security: [{ admin: [] }] }), async (req) => {
    const by = await authorize(req, 'admin');
    const { name } = parse(NameParams, req.params, 'path');
    return agentView(await plane.tasks.deregisterAgent(name, by));
  });
  app.post('/v1/agents/:name/join-tokens', doc('create a one-time join token (admin)', { response: { 201: Api.JoinToken }, security: [{ admin: [] }], body: jsonSchema(JoinTokenBody) }), async (req, reply) => {
    const by = await authorize(req, 'admin');
    const { name } = parse(NameParams, req.params, 'path');
    const body = parse(JoinTokenBody, req.body ?? {}, 'body');
    const created = await plane.identity.createJoinToken(name, body.ttlSeconds ?? plane.config.identity.joinTokenTtlSeconds, by);
    return reply.status(201).send(created);
  });

  // Attestation
  app.post('/v1/attest/join-token', doc('exchange a join token for a JWT-SVID', { response: { 200: Api.Svid }, body: jsonSchema(AttestJoinBody) }), async (req) => {
    const body = parse(AttestJoinBody, req.body, 'body');
    return plane.identity.attestWithJoinToken(body.token, await attestedKey(req));
  });
  app.post('/v1/attest/renew', doc('renew a JWT-SVID before it expires (SVID)', { response: { 200: Api.Svid }, security: [{ svid: [] }] }), async (req) => {
    const svid = requireBearer(req, 'a JWT-SVID');
    return plane.identity.renewSvid(svid, async (claims) => void (await plane.possession.dpop(presentedProof(req.raw), { accessToken: svid, jkt: claims.jkt })));
  });
  app.post('/v1/attest/oidc', doc('exchange a trusted OIDC token for a JWT-SVID', { response: { 200: Api.Svid }, body: jsonSchema(AttestOidcBody) }), async (req) => {
    const body = parse(AttestOidcBody, req.body, 'body');
    return plane.identity.attestWithOidc(body.token, await attestedKey(req));
  });

  // Tasks
  app.post('/v1/tasks', doc('declare a mandate; returns the task credential (SVID)', { response: { 201: Api.DeclaredTask }, security: [{ svid: [] }], body: jsonSchema(MandateSchema) }), async (req, reply) => {
    const svid = requireBearer(req, 'a JWT-SVID');
    const { task, credential } = await plane.tasks.declare(svid, req.body, presentedProof(req.raw));
    return reply.status(201).send({ task: taskView(task), credential, expiresAtMs: task.expiresAtMs });
  });
  app.post('/v1/tasks/from-plan', doc('declare the mandate a plan gives (the tools in order and the values the user stated); returns the task credential (SVID)', { response: { 201: Api.DeclaredTask }, security: [{ svid: [] }], body: jsonSchema(PlanSchema) }), async (req, reply) => {
    const svid = requireBearer(req, 'a JWT-SVID');
    const { task, credential } = await plane.tasks.declareFromPlan(svid, req.body, presentedProof(req.raw));
    return reply.status(201).send({ task: taskView(task), credential, expiresAtMs: task.expiresAtMs });
  });
  app.get('/v1/tasks/:id', doc('one task (admin)', { response: { 200: Api.TaskView }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    const { id } = parse(IdParams, req.params, 'path');
    const task = await plane.tasks.get(id);
    return taskView(task, await plane.monitor.summary(task));
  });
  /** Who may read a task's mandate: a service holding a transaction token of the task, the task's own holder, or a viewer. */
  const mayReadMandate = async (req: FastifyRequest, id: string): Promise<void> => {
    const txn = req.headers[TXN_TOKEN_HEADER.toLowerCase()];
    if (typeof txn === 'string') {
      const claims = await plane.keys.verify(txn, { typ: TXN_TOKEN_TYP, audience: plane.config.trustDomain, invalidCode: 'request.unauthorized', expiredCode: 'request.unauthorized' });
      const tctx = claims['tctx'] as { task_id?: unknown } | undefined;
      if (claims.iss !== controlPlaneId(plane.config.trustDomain) || tctx?.task_id !== id) throw new CodedError('request.unauthorized', 'the transaction token is not one of this task\'s');
      return;
    }
    const token = bearer(req);
    if (token === undefined || plane.admin.isAdmin(token)) return void (await authorize(req, 'viewer'));
    const ctx = await plane.kernel.authenticate(token, presentedProof(req.raw));
    if (ctx.task.id !== id) throw new CodedError('request.unauthorized', 'only the task credential of this task may read its mandate');
  };
  app.get('/v1/tasks/:id/mandate', doc('the task\'s mandate as a signed document (`typ: mandate+jwt`) a downstream service can check against the JWKS (the task credential, a transaction token of the task in `Txn-Token`, or viewer)', { response: { 200: Api.MandateDocument }, security: [{ task: [] }, { admin: [] }] }), async (req) => {
    const { id } = parse(IdParams, req.params, 'path');
    await mayReadMandate(req, id);
    const task = await plane.tasks.get(id);
    const document = await plane.keys.sign({ ...mandateDocumentClaims(task, plane.config.trustDomain, plane.clock.nowMs()) }, MANDATE_DOCUMENT_TYP);
    return { taskId: task.id, document, expiresAtMs: task.expiresAtMs };
  });
  app.post('/v1/tasks/:id/resume', doc('lift a drift suspension or step-up response (admin)', { response: { 200: Api.TaskView }, security: [{ admin: [] }], body: jsonSchema(CompleteBody) }), async (req) => {
    const by = await authorize(req, 'operator');
    const { id } = parse(IdParams, req.params, 'path');
    const body = parse(CompleteBody, req.body ?? {}, 'body');
    const task = await plane.tasks.get(id);
    await plane.monitor.resume(task, by, body.reason ?? 'resumed by an operator');
    return taskView(task, await plane.monitor.summary(task));
  });
  const resultsRoute = { ...doc('report the outcome of an allowed call (enforcement points other than the gateway; task credential)', { response: { 202: Api.TaskView }, security: [{ task: [] }], body: jsonSchema(ResultBody) }), bodyLimit: plane.config.server.resultBodyLimitBytes };
  app.post('/v1/tasks/:id/results', resultsRoute, async (req, reply) => {
    const { id } = parse(IdParams, req.params, 'path');
    const token = requireBearer(req, 'the task credential');
    const body = parse(ResultBody, req.body, 'body');
    // Authenticated as every call is: an ended or revoked task reports nothing more.
    const authenticated = await plane.kernel.authenticate(token, presentedProof(req.raw));
    const traceId = traceIdOf(req.headers);
    const ctx = traceId === undefined ? authenticated : { ...authenticated, traceId };
    if (ctx.task.id !== id) throw new CodedError('request.unauthorized', 'only the task credential of this task may report its results');
    await plane.kernel.account(ctx, { decisionId: body.decisionId ?? null, tool: body.tool, args: body.args, status: body.status, code: null, bytes: body.bytes, durationMs: body.durationMs, labels: body.labels, content: body.content, values: body.values, reportedBy: 'pep', observe: true });
    return reply.status(202).send(taskView(ctx.task, await plane.monitor.summary(ctx.task)));
  });
  app.post('/v1/tasks/:id/complete', doc('complete a task: its credential is revoked (task credential or admin)', { response: { 200: Api.TaskView }, security: [{ task: [] }, { admin: [] }] }), async (req) => {
    const { id } = parse(IdParams, req.params, 'path');
    const token = requireBearer(req, 'the task credential or the admin token');
    const by: Actor = plane.admin.isAdmin(token) ? ADMIN_ACTOR : `task:${id}`;
    // The task's own credential, used as for a call: its holder proven (DPoP or SVID when bound), not revoked.
    if (by !== ADMIN_ACTOR && (await plane.kernel.authenticate(token, presentedProof(req.raw))).task.id !== id) {
      throw new CodedError('request.unauthorized', 'only the task credential of this task or the admin token may complete it');
    }
    const body = parse(CompleteBody, req.body ?? {}, 'body');
    return taskView(await plane.tasks.end(id, 'completed', body.reason ?? 'completed', by));
  });

  // Approvals: people decide step-up requests bound to one exact action.
  const requireApprover = async (req: FastifyRequest) => {
    // A person signed in to the console with the approver role decides as themselves (their e-mail or subject, their groups).
    if (consoleHttp.usesSession(req)) return consoleHttp.approver(req);
    const approver = await plane.approvals.authenticate(bearer(req));
    if (!approver) throw new CodedError('request.unauthorized', 'this endpoint needs an approver token as a bearer token, or a console session with the approver role');
    return approver;
  };
  /** Reading approval requests: an approver or admin token, or a console session with any role. */
  const mayReadApprovals = async (req: FastifyRequest): Promise<boolean> => {
    if (consoleHttp.usesSession(req)) return (await consoleHttp.person(req, 'viewer'), true);
    return plane.admin.isAdmin(bearer(req)) || (await plane.approvals.authenticate(bearer(req))) !== undefined;
  };
  app.post('/v1/approvers', doc('register an approver; the token is shown once (admin)', { response: { 201: Api.RegisteredApprover }, security: [{ admin: [] }], body: jsonSchema(ApproverBody) }), async (req, reply) => {
    const by = await authorize(req, 'admin');
    const { approver, token } = await plane.approvals.registerApprover(req.body ?? {}, by);
    return reply.status(201).send({ ...approver, token });
  });
  app.get('/v1/approvals', doc('approval requests, newest (or oldest) first, one page at a time (approver, admin, or a console session)', { response: { 200: Api.ApprovalPage }, security: [{ approver: [] }, { admin: [] }], querystring: jsonSchema(ApprovalListQuery) }), async (req) => {
    if (!(await mayReadApprovals(req))) throw new CodedError('request.unauthorized', 'this endpoint needs an approver token or the admin token as a bearer token, or a console session');
    const q = parse(ApprovalListQuery, req.query, 'query');
    const taskId = q.task === undefined ? undefined : parseId('task', q.task);
    if (q.task !== undefined && !taskId) throw new CodedError('request.invalid', `query: task \`${q.task}\` is not a task id`);
    const approvals = await plane.approvals.list({ status: q.status, taskId: taskId as TaskId | undefined, limit: q.limit, order: q.order, ...(q.cursor !== undefined ? { before: decodeTimeCursor(q.cursor) } : {}) });
    const last = approvals.at(-1);
    return { approvals, nextCursor: approvals.length === q.limit && last ? encodeCursor([last.createdAtMs, last.id]) : null };
  });
  app.get('/v1/approvals/:id', doc('one approval request (approver, admin, a console session, or the task credential of its task)', { response: { 200: Api.ApprovalView }, security: [{ approver: [] }, { admin: [] }, { task: [] }] }), async (req) => {
    const { id } = parse(IdParams, req.params, 'path');
    const token = bearer(req);
    const approval = (await mayReadApprovals(req)) ? await plane.approvals.get(id) : undefined;
    if (approval) return approval;
    const own = token ? await plane.approvals.get(id).catch(() => undefined) : undefined;
    const holder = own && token ? await plane.kernel.authenticate(token, presentedProof(req.raw)).catch(() => undefined) : undefined;
    if (own && holder?.task.id === own.taskId) return own;
    throw new CodedError('request.unauthorized', 'this endpoint needs an approver token, the admin token, or the task credential of the request');
  });
  for (const verdict of ['approve', 'deny'] as const) {
    app.post(`/v1/approvals/:id/${verdict}`, doc(`${verdict} a pending request (approver, or a console session with the approver role), with a reason`, { response: { 200: Api.ApprovalView }, security: [{ approver: [] }], body: jsonSchema(VerdictBody) }), async (req) => {
      const approver = await requireApprover(req);
      const { id } = parse(IdParams, req.params, 'path');
      const body = parse(VerdictBody, req.body ?? {}, 'body');
      return plane.approvals.decide(id, approver, verdict === 'approve' ? 'approved' : 'denied', body.reason);
    });
  }

  // Brokered secrets: written here, injected upstream by the gateway, never read back.
  app.put('/v1/secrets/:name', doc('store a new version of an upstream secret (admin); the value is never returned', { response: { 201: Api.SecretVersion }, security: [{ admin: [] }], body: jsonSchema(SecretBody) }), async (req, reply) => {
    const by = await authorize(req, 'admin');
    const { name } = parse(NameParams, req.params, 'path');
    const body = parse(SecretBody, req.body, 'body');
    return reply.status(201).send(await plane.secrets.put(name, body.value, by));
  });
  app.get('/v1/secrets', doc('secret names and versions, without values (admin)', { response: { 200: Api.SecretList }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'admin');
    return { secrets: await plane.secrets.list() };
  });

  // Revocation
  app.post('/v1/revocations', doc('revoke by credential, task, agent or principal (admin)', { response: { 201: Api.Revocation }, security: [{ admin: [] }], body: jsonSchema(RevokeBody) }), async (req, reply) => {
    const by = await authorize(req, 'operator');
    const body = parse(RevokeBody, req.body, 'body');
    return reply.status(201).send(await plane.tasks.revoke(body.kind, body.subject, body.reason, by));
  });

  // Decisions
  app.post('/v1/decide', doc('decide one call (for enforcement points)', { response: { 200: Api.Decision }, body: jsonSchema(DecideBody) }), async (req) => {
    const body = parse(DecideBody, req.body, 'body');
    const traceId = traceIdOf(req.headers);
    return plane.decide({ ...body, ...(traceId === undefined ? {} : { traceId }), presented: presentedProof(req.raw) });
  });
  app.get('/v1/decisions', doc('recent decisions from the audit trail (admin)', { response: { 200: Api.DecisionList }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    const q = parse(DecisionListQuery, req.query, 'query');
    const taskId = q.task === undefined ? undefined : parseId('task', q.task);
    if (q.task !== undefined && !taskId) throw new CodedError('request.invalid', `query: task \`${q.task}\` is not a task id`);
    const events = await plane.trail.recentDecisions(taskId as TaskId | undefined, q.limit);
    return { decisions: events.map((e) => ({ atMs: e.atMs, taskId: e.taskId, agentId: e.agentId, ...e.data })) };
  });

  registerConsoleLive(app, plane, authorize);

  // Delegation: RFC 8693 token exchange.
  registerTokenEndpoint(app, plane, taskView, doc('token exchange (RFC 8693): a child task credential for another agent (`audience`, its SPIFFE ID), with a narrower mandate; the parent\'s task credential is the `subject_token`', { response: { 200: Api.TokenExchange, 400: Api.TokenError } }));

  // MCP gateway: agents reach upstream tools only through here, with the task credential as bearer token.
  await app.register(async (scope) => {
    // The gateway parses the body itself: a malformed one gets a JSON-RPC parse error, any method the transport lacks a 405.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.all('/mcp', { schema: { hide: true }, bodyLimit: MCP_BODY_LIMIT_BYTES }, async (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      await plane.mcp.handle(req.raw, reply.raw, typeof req.body === 'string' ? req.body : undefined);
    });
  });
  // HTTP API gateway: REST calls to the configured `apis`, each decided before it can reach the upstream.
  await app.register(async (scope) => {
    // Bodies stay unread here: the proxy reads JSON and form bodies itself to decide on their
    // fields, and streams any other body through as received (no parser, no body limit, no 415).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    const proxy = async (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      // The raw URL, not Fastify's decoded parameters: the proxy checks the path exactly as sent.
      const { upstream, rest } = splitProxyUrl(req.raw.url ?? '');
      await plane.http.handle(req.raw, reply.raw, upstream, rest);
    };
    scope.all('/proxy/:upstream', { schema: { hide: true } }, proxy);
    scope.all('/proxy/:upstream/*', { schema: { hide: true } }, proxy);
  });
  // RFC 9728 protected-resource metadata, which the 401 of /mcp points MCP clients to.
  const resourceMetadata = async (req: FastifyRequest) => ({
    resource: `http://${req.headers.host}/mcp`,
    bearer_methods_supported: ['header'],
    resource_name: 'Mandate MCP gateway',
    resource_documentation: `http://${req.headers.host}/v1/openapi.json`,
  });
  app.get('/.well-known/oauth-protected-resource', { schema: { hide: true } }, resourceMetadata);
  app.get('/.well-known/oauth-protected-resource/mcp', { schema: { hide: true } }, resourceMetadata);
  // The metadata names no authorization server, and clients written for the 2025-03-26 revision then try these on the
  // resource's own origin: an OAuth error that says where credentials come from, instead of a bare 404.
  const noAuthorizationServer = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.status(404).send({ error: 'invalid_request', error_description: `This server is not an OAuth authorization server. ${HOW_TO_GET_A_CREDENTIAL}.` });
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/mcp', '/.well-known/openid-configuration', '/register', '/authorize', '/token']) {
    app.all(path, { schema: { hide: true } }, noAuthorizationServer);
  }
  // Sign-in to the operator console, and the session the console's single-page app reads.
  consoleHttp.register(app);
  // The operator console (console/, built into dist/console): its pages, under a CSP that admits only its own files.
  registerConsoleStatic(app);

  // Audit
  app.get('/v1/audit', doc('search the audit trail: events as stored, filtered, one page at a time (admin)', { response: { 200: Api.AuditPage }, security: [{ admin: [] }], querystring: jsonSchema(AuditSearchQuery) }), async (req) => {
    await authorize(req, 'viewer');
    const q = parse(AuditSearchQuery, req.query, 'query');
    const types = q.type?.split(',').map((t) => t.trim());
    const unknownType = types?.find((t) => !(AUDIT_EVENT_TYPES as readonly string[]).includes(t));
    if (unknownType !== undefined) throw new CodedError('request.invalid', `query: type \`${unknownType}\` is not an audit event type`);
    const taskId = q.task === undefined ? undefined : parseId('task', q.task);
    if (q.task !== undefined && !taskId) throw new CodedError('request.invalid', `query: task \`${q.task}\` is not a task id`);
    const agentId = q.agent === undefined ? undefined : (parseId('agent', q.agent) ?? (await plane.identity.agentByName(q.agent)).id);
    const filter: AuditFilter = {
      ...(types ? { types: types as AuditEventType[] } : {}),
      ...(taskId ? { taskIds: [taskId] } : {}),
      ...(agentId ? { agentId } : {}),
      ...(q.principal !== undefined ? { principal: q.principal } : {}),
      ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
      ...(q.reason !== undefined ? { code: q.reason } : {}),
      ...(q.tool !== undefined ? { tool: q.tool } : {}),
      ...(q.sinceMs !== undefined ? { sinceMs: q.sinceMs } : {}),
      ...(q.untilMs !== undefined ? { untilMs: q.untilMs } : {}),
    };
    return plane.trail.search({ filter, order: q.order, limit: q.limit, cursor: q.cursor });
  });
  app.get('/v1/tasks/:id/trail', doc('one task\'s trail, delegated tasks included: purpose, calls with their decisions and results, everything recorded, in order (admin)', { response: { 200: Api.TaskTrail }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    const { id } = parse(IdParams, req.params, 'path');
    return plane.trail.taskTrail(id);
  });
  app.get('/v1/audit/verify', doc('recompute the audit hash chains and hold the store against the witnessed checkpoints (admin)', { response: { 200: Api.ChainVerification }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    return plane.trail.verify();
  });

  registerConsoleOps(app, plane, authorize);

  return app;
}
