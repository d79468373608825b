import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { Transform, pipeline } from 'node:stream';
import type { AuditSink } from '../../audit/index.js';
import { CodedError, newId, type Clock, type DecisionId, type ErrorCode, type Random, type ToolCatalog } from '../../core/index.js';
import { refusedTaskOf, type Decision, type Kernel, type TaskContext } from '../../decision/index.js';
import type { Task } from '../../mandate/index.js';
import type { ApiActions, ApiConfig, ApisConfig } from './http-upstream-config.js';
import { callArguments, matchRoute, paramsToArgs, parseProxyPath, serializeQuery, type ApiAction, type ProxiedPath } from './match-route.js';
import { httpStatusOf, presentedProof, recordGatewayRefusal, traceIdOf, unobservedUpstreamCalls, TXN_TOKEN_HEADER, type SecretResolver, type TxnTokens, type TxnTokenTarget, type UpstreamCalls, type UpstreamFailure } from '../common/index.js';
import { UpstreamHeaders } from './upstream-headers.js';

/** What the proxy needs from the control plane; it decides nothing itself. */
export interface HttpProxyPorts {
  /** Authenticates once per request, decides the call, accounts the result. */
  kernel: Kernel;
  tools: ToolCatalog;
  audit: AuditSink;
  clock: Clock;
  random: Random;
  /** Resolves brokered secrets named in an API's headers. */
  secrets: SecretResolver;
  /** Told of every request forwarded to an upstream (metrics, traces); none by default. */
  upstreamCalls?: UpstreamCalls;
  /** Mints the transaction token an allowed request carries to an API that takes one. */
  txnTokens: TxnTokens;
}

/** Largest JSON or form body the proxy reads to decide on its fields; other bodies stream through unread. */
export const DECIDED_BODY_LIMIT_BYTES = 1024 * 1024;

/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/**
 * Never forwarded from the agent: its task credential (`authorization`), what
 * the gateway sets itself, and client-address headers an agent could forge to
 * an upstream that trusts them.
 */
const DROPPED_REQUEST_HEADERS = new Set([...HOP_BY_HOP, 'authorization', 'host', 'content-length', 'expect', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']);
const DROPPED_RESPONSE_HEADERS = new Set(HOP_BY_HOP);

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

interface UpstreamState {
  config: ApiConfig;
  actions: readonly ApiAction[];
  target: URL;
  /** The base URL's path without its trailing slash; the proxied path is appended. */
  basePath: string;
  agent: http.Agent;
  headers: UpstreamHeaders;
  /** Set when the API takes a transaction token: for whom, for how long, and in which header. */
  txn: (TxnTokenTarget & { header: string }) | undefined;
}

/** What happened to a forwarded call, for its `tool.result` record. */
interface Outcome {
  code: ErrorCode | null;
  httpStatus: number | null;
  bytes: number;
  /** The agent went away before the response was complete. */
  aborted: boolean;
  /** The start of a textual response, kept to find the values it names (argument provenance); never stored. */
  sample: Buffer[];
  sampledBytes: number;
  /** Whether the response is text that can name values (JSON, text, XML, forms). */
  textual: boolean;
}

/** How much of a response is scanned for values: the rest still streams, unscanned. */
const SCAN_BYTES = 1024 * 1024;

/** A request body as the decision and the upstream see it. */
type Body =
  | { kind: 'none' }
  /** JSON or form: read, decided on its top-level fields, and forwarded re-serialized from what was decided. */
  | { kind: 'decided'; fields: Record<string, unknown> | undefined; bytes: Buffer }
  /** Anything else: forwarded as received, after the decision, without being read. */
  | { kind: 'stream' };

/**
 * The HTTP enforcement point: a reverse proxy at `/proxy/<upstream>/…` for REST
 * APIs. Each request is matched to an action (a configured route or an OpenAPI
 * operation), decided as `<upstream>.<action>` with its path, query and body
 * fields as arguments, and only an allow reaches the upstream.
 */
export class HttpProxy {
  private readonly upstreams = new Map<string, UpstreamState>();

  constructor(
    private readonly ports: HttpProxyPorts,
    apis: ApisConfig,
    actions: ApiActions,
  ) {
    for (const [name, config] of Object.entries(apis)) {
      const target = new URL(config.baseUrl);
      const Agent = target.protocol === 'https:' ? https.Agent : http.Agent;
      this.upstreams.set(name, {
        config,
        actions: actions.get(name) ?? [],
        target,
        basePath: target.pathname.replace(/\/+$/, ''),
        agent: keepAliveAgent(new Agent({ keepAlive: true, maxSockets: 256, timeout: config.timeoutMs })),
        headers: new UpstreamHeaders(name, config, ports.secrets, () => ports.clock.nowMs()),
        txn: config.transactionToken && { gateway: 'http', upstream: name, audience: config.transactionToken.audience ?? config.baseUrl, ttlSeconds: config.transactionToken.ttlSeconds, header: config.transactionToken.header },
      });
    }
  }

  has(upstream: string): boolean {
    return this.upstreams.has(upstream);
  }

  /**
   * Handles one request to `/proxy/<upstream><restOfPath>` (`restOfPath` raw,
   * with its query). Never throws. Answers with: credential.* (401),
   * gateway.route_unmapped (404), request.invalid (400), request.too_large (413),
   * the decision's code (403), gateway.upstream_error / gateway.result_too_large
   * (502), gateway.upstream_timeout (504), or the upstream's own response.
   */
  async handle(req: IncomingMessage, res: ServerResponse, upstream: string, restOfPath: string): Promise<void> {
    try {
      const token = bearer(req);
      if (!token) return this.unauthorized(res, undefined);
      let ctx: TaskContext;
      try {
        ctx = await this.ports.kernel.authenticate(token, presentedProof(req));
        const traceId = traceIdOf(req.headers);
        if (traceId !== undefined) ctx = { ...ctx, traceId };
      } catch (err) {
        // Refused on the very next request once revoked or expired.
        const coded = err instanceof CodedError ? err : new CodedError('credential.invalid', 'the task credential is invalid');
        // Only names from the configuration go in the trail: the path is the caller's to choose.
        recordGatewayRefusal(this.ports.audit, 'http', refusedTaskOf(err), { code: coded.code, method: req.method ?? null, upstream: this.upstreams.has(upstream) ? upstream : null });
        if (coded.code === 'store.unreachable') {
          res.setHeader('Retry-After', '1');
          return sendJson(res, 503, { error: { code: coded.code, message: coded.publicMessage } });
        }
        return this.unauthorized(res, coded);
      }
      const task = ctx.task;
      const method = (req.method ?? 'GET').toUpperCase();
      let proxied: ProxiedPath;
      try {
        proxied = parseProxyPath(restOfPath);
      } catch (err) {
        return await this.refuse(res, task, asCoded(err), { upstream, method, tool: null });
      }
      const state = this.upstreams.get(upstream);
      const match = state && matchRoute(state.actions, method, proxied.segments);
      if (!state || !match) {
        const shown = `${method} /proxy/${upstream}${proxied.forwardPath}`.slice(0, 300);
        return await this.refuse(res, task, new CodedError('gateway.route_unmapped', `no action of the API gateway maps \`${shown}\``), { upstream, method, tool: null });
      }
      const tool = match.action.spec.name;
      let body: Body;
      try {
        body = await readBody(req);
      } catch (err) {
        return await this.refuse(res, task, asCoded(err), { upstream, method, tool });
      }
      let args: Record<string, unknown>;
      try {
        args = callArguments(match.action, match.pathParams, proxied.query, body.kind === 'decided' ? body.fields : undefined);
      } catch (err) {
        return await this.refuse(res, task, asCoded(err), { upstream, method, tool });
      }
      const decision = await this.ports.kernel.decide(ctx, { tool, args });
      switch (decision.outcome) {
        case 'deny':
        case 'step_up':
          return this.refuseDecided(res, decision);
        case 'allow':
          return await this.forward(req, res, state, ctx, decision, match.action, proxied, body, args);
      }
    } catch {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal.error', message: 'the gateway failed to handle the request' } });
      else res.destroy();
    }
  }

  /** Closes the upstream connection pools. */
  async close(): Promise<void> {
    for (const s of this.upstreams.values()) s.agent.destroy();
  }

  private async forward(req: IncomingMessage, res: ServerResponse, state: UpstreamState, ctx: TaskContext, decision: Decision, action: ApiAction, proxied: ProxiedPath, body: Body, args: Record<string, unknown>): Promise<void> {
    const task = ctx.task;
    const startedMs = this.ports.clock.nowMs();
    const maxBytes = task.mandate.limits.maxResultBytes;
    const outcome: Outcome = { code: null, httpStatus: null, bytes: 0, aborted: false, sample: [], sampledBytes: 0, textual: false };
    let added: Record<string, string> | undefined;
    let txnToken: string | undefined;
    try {
      [added, txnToken] = await Promise.all([state.headers.get(), this.txnTokenFor(ctx, decision, state)]);
    } catch (err) {
      // e.g. a brokered secret that cannot be resolved: the call is not made.
      const e = err instanceof CodedError ? err : new CodedError('gateway.upstream_error', `the request to \`${action.upstream}\` could not be prepared`);
      outcome.code = e.code;
      sendJson(res, httpStatusOf(e.code), { error: { code: e.code, message: e.publicMessage } });
    }
    // The action's labels join the task's before the response starts streaming to the agent.
    if (added) await this.ports.kernel.account(ctx, { decisionId: decision.id, tool: action.spec.name, args, status: 'ok', code: null, bytes: 0, reportedBy: 'gateway', observe: true, record: false });
    if (added) {
      const headers = forwardHeaders(req.headers, added, body, maxBytes !== undefined, state.txn && txnToken !== undefined ? { header: state.txn.header, token: txnToken } : undefined);
      const done = (this.ports.upstreamCalls ?? unobservedUpstreamCalls).start({ gateway: 'http', upstream: action.upstream, tool: action.spec.name, taskId: task.id, decision, headers });
      await this.relay(req, res, state, decision, action, proxied, body, headers, maxBytes, outcome);
      done(failureOf(outcome));
    }

    // Status, size and labels only: never header values or bodies.
    await this.ports.kernel.account(ctx, {
      decisionId: decision.id,
      tool: action.spec.name,
      args,
      status: outcome.code !== null ? 'error' : outcome.aborted ? 'aborted' : 'ok',
      code: outcome.code,
      bytes: outcome.bytes,
      durationMs: this.ports.clock.nowMs() - startedMs,
      detail: { method: action.method, httpStatus: outcome.httpStatus },
      reportedBy: 'gateway',
      observe: false,
      // Only a complete, successful response names values the task has seen.
      ...(outcome.sampledBytes > 0 && outcome.code === null && !outcome.aborted && (outcome.httpStatus ?? 500) < 400 ? { content: Buffer.concat(outcome.sample).toString('utf8') } : {}),
    });
  }

  /** The transaction token of an allowed request, when the API takes one; the request is not made without it. */
  private async txnTokenFor(ctx: TaskContext, decision: Decision, state: UpstreamState): Promise<string | undefined> {
    if (!state.txn) return undefined;
    try {
      return await this.ports.txnTokens.mint(ctx, decision, state.txn);
    } catch (err) {
      throw new CodedError('internal.error', `the transaction token for \`${state.txn.upstream}\` could not be minted`, {}, { cause: err });
    }
  }

  /** Sends the request upstream and streams the response back; resolves when both are done or torn down. Never rejects. */
  private relay(
    req: IncomingMessage,
    res: ServerResponse,
    state: UpstreamState,
    decision: Decision,
    action: ApiAction,
    proxied: ProxiedPath,
    body: Body,
    headers: OutgoingHttpHeaders,
    maxBytes: number | undefined,
    outcome: Outcome,
  ): Promise<void> {
    const { target } = state;
    const query = serializeQuery(proxied.query);
    return new Promise<void>((done) => {
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          done();
        }
      };
      const upstreamReq = (target.protocol === 'https:' ? https : http).request({
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port || undefined,
        method: req.method,
        path: `${state.basePath}${proxied.forwardPath}${query ? `?${query}` : ''}`,
        headers,
        agent: state.agent,
      });
      // Silence for timeoutMs, before the response headers or between two chunks, is a timeout.
      upstreamReq.setTimeout(state.config.timeoutMs, () => {
        outcome.code ??= 'gateway.upstream_timeout';
        upstreamReq.destroy(new Error('upstream timeout'));
      });
      res.on('close', () => {
        if (!res.writableFinished) {
          outcome.aborted = true;
          upstreamReq.destroy();
        }
      });
      upstreamReq.on('error', () => {
        outcome.code ??= 'gateway.upstream_error';
        if (!res.headersSent) {
          const message = outcome.code === 'gateway.upstream_timeout' ? `upstream \`${action.upstream}\` did not answer within ${state.config.timeoutMs} ms` : `upstream \`${action.upstream}\` could not be reached or answered with something that is not HTTP`;
          sendJson(res, httpStatusOf(outcome.code), { error: { code: outcome.code, message } });
        } else if (!res.writableEnded) res.destroy(); // a relayed response cannot be completed: cut it
        settle();
      });
      upstreamReq.on('response', (upstreamRes) => {
        outcome.httpStatus = upstreamRes.statusCode ?? null;
        const declared = Number(upstreamRes.headers['content-length']);
        const hasBody = req.method !== 'HEAD' && upstreamRes.statusCode !== 204 && upstreamRes.statusCode !== 304;
        if (maxBytes !== undefined && hasBody && Number.isFinite(declared) && declared > maxBytes) {
          // Known too large before a byte is relayed: a clean refusal instead of a cut.
          outcome.code = 'gateway.result_too_large';
          upstreamRes.destroy();
          upstreamReq.destroy();
          sendJson(res, httpStatusOf(outcome.code), { error: { code: outcome.code, message: `the response is ${declared} bytes; the mandate allows ${maxBytes}` } });
          settle();
          return;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders(upstreamRes.headers, decision.id));
        outcome.textual = /json|text|xml|x-www-form-urlencoded/i.test(String(upstreamRes.headers['content-type'] ?? '')) && !upstreamRes.headers['content-encoding'];
        // Relayed chunk by chunk, never buffered; past maxResultBytes the response is cut off.
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, next) {
            if (maxBytes !== undefined && outcome.bytes + chunk.length > maxBytes) {
              outcome.code = 'gateway.result_too_large';
              next(new Error('result too large'));
              return;
            }
            outcome.bytes += chunk.length;
            if (outcome.textual && outcome.sampledBytes < SCAN_BYTES) {
              const part = chunk.subarray(0, SCAN_BYTES - outcome.sampledBytes);
              outcome.sample.push(part);
              outcome.sampledBytes += part.length;
            }
            next(null, chunk);
          },
        });
        pipeline(upstreamRes, counter, res, (err) => {
          if (err) {
            if (!outcome.aborted) outcome.code ??= 'gateway.upstream_error';
            upstreamReq.destroy();
            res.destroy();
          }
          settle();
        });
      });
      switch (body.kind) {
        case 'decided':
          upstreamReq.end(body.bytes);
          break;
        case 'stream':
          req.pipe(upstreamReq);
          break;
        case 'none':
          upstreamReq.end();
          break;
      }
    });
  }

  /** A refusal before any decision could be taken (bad path, unmapped route, unreadable body): answered and audited as a deny. */
  private async refuse(res: ServerResponse, task: Task, err: CodedError, facts: { upstream: string; method: string; tool: string | null }): Promise<void> {
    const id: DecisionId = newId('decision', this.ports.random);
    await this.ports.audit
      .record({ type: 'decision', taskId: task.id, agentId: task.agentId, data: { decisionId: id, outcome: 'deny', code: err.code, layer: 'request', tool: facts.tool, upstream: facts.upstream, method: facts.method } })
      .catch(() => undefined);
    if (err.code === 'request.too_large') res.setHeader('connection', 'close');
    sendJson(res, httpStatusOf(err.code), { error: { code: err.code, message: err.publicMessage }, decision: { id, outcome: 'deny', code: err.code, layer: 'request' } });
  }

  private refuseDecided(res: ServerResponse, d: Decision): void {
    const view =
      d.outcome === 'step_up'
        ? // INVARIANT: nothing is forwarded on step_up; the agent polls the approval and sends the same request again.
          { id: d.id, outcome: d.outcome, code: d.reason.code, layer: d.layer, stepUp: d.stepUp, approvalId: d.approvalId }
        : { id: d.id, outcome: d.outcome, code: d.reason.code, layer: d.layer };
    const status = httpStatusOf(d.reason.code);
    if (status === 401) res.setHeader('WWW-Authenticate', `Bearer realm="mandate", error="invalid_token", error_description="${d.reason.code}"`);
    sendJson(res, status, { error: { code: d.reason.code, message: d.reason.message }, decision: view });
  }

  private unauthorized(res: ServerResponse, err: CodedError | undefined): void {
    res.setHeader('WWW-Authenticate', err ? `Bearer realm="mandate", error="invalid_token", error_description="${err.code}"` : 'Bearer realm="mandate"');
    sendJson(res, 401, { error: err ? { code: err.code, message: err.publicMessage } : { code: 'credential.missing', message: 'present the task credential as a bearer token' } });
  }
}

/** An idle pooled connection is closed before common server idle timeouts (5 s) could race a reuse into a reset. */
const IDLE_SOCKET_MS = 4_000;

/**
 * One keep-alive pool per upstream: a lean hop is the floor to beat
 * (docs/architecture.md). The agent's `timeout` covers connecting; once a socket
 * is back in the pool its idle time is capped (Node lowers it further when the
 * server announces `Keep-Alive: timeout=`).
 */
function keepAliveAgent(agent: http.Agent): http.Agent {
  agent.on('free', (socket: import('node:net').Socket) => {
    socket.setTimeout(Math.min(socket.timeout || IDLE_SOCKET_MS, IDLE_SOCKET_MS));
  });
  return agent;
}

/** What the metrics count as the upstream failing: no answer, or a 5xx one; an agent that went away or a mandate's size limit is not. */
function failureOf(outcome: Outcome): UpstreamFailure | null {
  if (outcome.code === 'gateway.upstream_error' || outcome.code === 'gateway.upstream_timeout') return outcome.code;
  return outcome.httpStatus !== null && outcome.httpStatus >= 500 ? 'http_5xx' : null;
}

/** The one table from code to HTTP status for this enforcement point. */
function asCoded(err: unknown): CodedError {
  return err instanceof CodedError ? err : new CodedError('request.invalid', 'the request could not be read');
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}

/**
 * Reads the body only when its fields are arguments (JSON, form). What the
 * gateway cannot read it cannot decide on: compressed or non-UTF-8 JSON and
 * form bodies are refused rather than passed unread.
 * Errors: request.invalid, request.too_large.
 */
async function readBody(req: IncomingMessage): Promise<Body> {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return { kind: 'none' };
  const [mediaType = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  const isJson = mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
  const isForm = mediaType === 'application/x-www-form-urlencoded';
  if (!isJson && !isForm) return { kind: 'stream' };
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') throw new CodedError('request.invalid', 'a JSON or form body is decided on its fields, so it cannot be sent compressed');
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw new CodedError('request.invalid', `a JSON or form body must be UTF-8, not \`${charset.slice(0, 40)}\``);
  const raw = await readLimited(req, DECIDED_BODY_LIMIT_BYTES);
  const text = raw.toString('utf8');
  if (isForm) {
    const form = new URLSearchParams(text);
    return { kind: 'decided', fields: paramsToArgs(form), bytes: Buffer.from(form.toString()) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CodedError('request.invalid', 'body is not valid JSON');
  }
  // Re-serialized from the parsed value: the upstream reads exactly what was decided (no duplicate-key games).
  const fields = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  return { kind: 'decided', fields, bytes: Buffer.from(JSON.stringify(parsed)) };
}

function readLimited(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        req.off('data', onData);
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () => reject(new CodedError('request.invalid', 'the request body could not be read')));
  });
}

function tooLarge(maxBytes: number): CodedError {
  return new CodedError('request.too_large', `a JSON or form body is read to decide on it, up to ${maxBytes} bytes`);
}

/**
 * The agent's headers minus its credential, hop-by-hop and forgeable ones; then the
 * upstream's configured headers and the transaction token. An agent's own `Txn-Token`
 * is never passed on: the upstream sees only tokens the gateway minted.
 */
function forwardHeaders(incoming: IncomingHttpHeaders, added: Record<string, string>, body: Body, identityEncoding: boolean, txn: { header: string; token: string } | undefined): OutgoingHttpHeaders {
  const drop = new Set([...DROPPED_REQUEST_HEADERS, TXN_TOKEN_HEADER.toLowerCase(), ...(txn ? [txn.header.toLowerCase()] : []), ...connectionTokens(incoming.connection)]);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !drop.has(name)) out[name] = value;
  }
  if (body.kind === 'decided') out['content-length'] = body.bytes.length;
  else if (body.kind === 'stream' && incoming['content-length'] !== undefined) out['content-length'] = incoming['content-length'];
  // With a byte limit, ask for the data itself: a compressed count would undercount what the agent receives.
  if (identityEncoding) out['accept-encoding'] = 'identity';
  for (const [name, value] of Object.entries(added)) out[name.toLowerCase()] = value;
  if (txn) out[txn.header.toLowerCase()] = txn.token;
  return out;
}

function responseHeaders(incoming: IncomingHttpHeaders, decisionId: DecisionId): OutgoingHttpHeaders {
  const drop = new Set([...DROPPED_RESPONSE_HEADERS, ...connectionTokens(incoming.connection)]);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !drop.has(name)) out[name] = value;
  }
  out['mandate-decision-id'] = decisionId;
  return out;
}

/** Headers a `Connection` header names are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens(connection: string | undefined): string[] {
  return connection ? connection.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean) : [];
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
