import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  ErrorCode as McpErrorCode,
  LATEST_PROTOCOL_VERSION,
  McpError,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolResult,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { AuditSink } from '../../audit/index.js';
import { CodedError, Lru, type Clock, type TaskId, type ToolCatalog } from '../../core/index.js';
import { refusedTaskOf, type Decision, type Kernel, type TaskContext } from '../../decision/index.js';
import type { Task } from '../../mandate/index.js';
import { jsonRpcCodeOf, presentedProof, recordGatewayRefusal, redactResult, traceIdOf, unobservedUpstreamCalls, type TxnTokens, type UpstreamCalls } from '../common/index.js';
import type { ErrorCode } from '../../core/index.js';
import { sessionIds, type SessionIds } from './session-ids.js';
import { ClientAsks, LOG_LEVELS, PostReply, isRelayedAskId, logLevelPasses, sseEvent } from './agent-relay.js';
import { CLIENT_REQUESTS, type CallRelay } from './relay.js';
import { promptsAction, resourcesAction, splitToolName } from './upstream-config.js';
import { UpstreamRpcError, type UpstreamPool } from './upstream-pool.js';
import { decodeHeaderValue, paramHeaderMismatch } from './param-headers.js';
import { InputRefused, StateRejected, sessionView, statelessView, type Continuation, type UpstreamView } from './upstream-view.js';
import {
  HEADER_MISMATCH,
  META,
  REMOVED_METHODS,
  STATELESS_VERSIONS,
  isEnvelopeError,
  isStatelessRequest,
  readEnvelope,
  stampResult,
  statusOfError,
  type Envelope,
  type InputRequired,
} from './stateless.js';

/** What the gateway needs from the control plane; it decides nothing itself. */
export interface McpGatewayPorts {
  /** Authenticates once per request, decides each call, accounts each result. */
  kernel: Kernel;
  /** Holds until a person decides the approval or the wait ends (bounded by configuration). */
  waitForApproval(approvalId: string, maxWaitMs: number): Promise<{ status: string }>;
  /** Where an agent polls an approval with its task credential. */
  approvalUrl(approvalId: string): string;
  tools: ToolCatalog;
  audit: AuditSink;
  clock: Clock;
  /** The deployment's key for session ids (`session-ids.ts`). */
  sessionKey: string;
  /** Tells the other replicas and workers that a session was closed. */
  publishClosed(sessionId: string): void;
  /** Passes an agent's answer to the other replicas and workers: the request it answers was made by one of them. */
  publishAnswer(sessionId: string, message: { id: string | number; result?: unknown; error?: { code?: unknown; message?: unknown } }): void;
  /** Whether a loaded policy may redact fields of this tool's results (`PolicyEngine.mayRedact`). */
  mayRedact(tool: string): boolean;
  /** Whether a browser page from this origin may call the gateway (an absent Origin is not a browser's). */
  originAllowed(origin: string): boolean;
  /** Told of every call forwarded to an upstream (metrics, traces); none by default. */
  upstreamCalls?: UpstreamCalls;
  /** Mints the transaction token an allowed call carries to an upstream that takes one. */
  txnTokens: TxnTokens;
}

interface Session {
  id: string;
  taskId: TaskId;
  protocolVersion: string;
  /** Open GET streams: where server-initiated notifications (list_changed) go. */
  streams: Set<ServerResponse>;
  /** Which upstream listed a resource URI, so a read goes back to it. */
  resourceOwners: Map<string, string>;
  /** Requests made of this client during calls (sampling, elicitation, roots), waiting for its answers. */
  asks: ClientAsks;
  /** Calls running, by the client's request id: `notifications/cancelled` aborts them. */
  inFlight: Map<string | number, AbortController>;
  /** The minimum severity of relayed log messages (`logging/setLevel`). */
  logLevel: string | undefined;
  /** Resources this session subscribed to, as `<upstream> <uri>`. */
  subscriptions: Set<string>;
  /** Set for a request of the stateless revision (2026-07-28): the session is that one request's. */
  envelope?: Envelope;
  /** That request's headers, for the `Mcp-Param-*` checks. */
  headers?: IncomingHttpHeaders;
  /** How that request reaches upstreams (`via`), made once for it. */
  view?: UpstreamView;
}

/** A `subscriptions/listen` stream of a 2026 agent: the notifications it asked for, tagged with its request id. */
interface ListenStream {
  res: ServerResponse;
  subscriptionId: string | number;
  honoured: Record<string, true>;
}

type JsonRpcRequest = { jsonrpc: '2.0'; id?: string | number; method: string; params?: Record<string, unknown> };

const SESSION_HEADER = 'mcp-session-id';
/** Sessions one task may hold open; the oldest is closed beyond this, so no agent can grow the map without bound. */
const MAX_SESSIONS_PER_TASK = 16;
/** Sessions closed with DELETE, remembered so that no process takes them up again. */
const CLOSED_SESSIONS_KEPT = 10_000;
/** Said by every 401: Mandate issues task credentials to attested workloads, not OAuth tokens to people. */
export const HOW_TO_GET_A_CREDENTIAL =
  'A task credential comes from the control plane: attest the agent (POST /v1/attest/join-token or /v1/attest/oidc) for a JWT-SVID, then declare the task (POST /v1/tasks with a mandate); the SDK and `mandate connect --stdio` do both';
const SERVER_INFO = { name: 'mandate-gateway', version: '0.1.0' };
const CAPABILITIES = { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true }, logging: {}, completions: {} };
/** In 2026-07-28 resource subscriptions go through `subscriptions/listen`, which the gateway carries list changes on only. */
const STATELESS_CAPABILITIES = { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true }, logging: {}, completions: {} };

/**
 * The MCP enforcement point: an MCP server over Streamable HTTP to agents,
 * authenticated by the task credential, and an MCP client to the upstreams.
 * Every `tools/call`, `resources/read` and `prompts/get` is decided before it
 * can reach an upstream. JSON-RPC is handled here directly (answers as
 * `application/json`, notifications on a GET event stream): the SDK server
 * transport converts every request to web streams, which costs milliseconds.
 */
export class McpGateway {
  /** Sessions this process has seen; any process can take up a session another opened (`session-ids.ts`). */
  private readonly sessions = new Map<string, Session>();
  private readonly closed = new Lru<string, true>(CLOSED_SESSIONS_KEPT);
  /** Sessions of this process subscribed to each resource, as `<upstream> <uri>`. */
  private readonly subscribers = new Map<string, Set<string>>();
  /** Exposed tool names to catalog names, rebuilt when a name is missing (tools registered since). */
  private readonly exposedToCatalog = new Map<string, string>();
  private readonly ids: SessionIds;
  private readonly sessions2025: UpstreamView;
  /** Which upstream listed a resource URI to a task's stateless requests, so that a later read goes back to it. */
  private readonly statelessOwners = new Lru<TaskId, Map<string, string>>(10_000);
  /** Calls of stateless requests running, by task and request id: `notifications/cancelled` aborts them. */
  private readonly statelessInFlight = new Map<string, AbortController>();
  private readonly listeners = new Set<ListenStream>();
  private readonly upstreamCalls: UpstreamCalls;

  constructor(
    private readonly ports: McpGatewayPorts,
    private readonly pool: UpstreamPool,
    /** Where agents find the protected-resource metadata (RFC 9728), as seen from this request. */
    private readonly resourceMetadataUrl: (req: IncomingMessage) => string,
  ) {
    this.ids = sessionIds(ports.sessionKey, SUPPORTED_PROTOCOL_VERSIONS);
    this.sessions2025 = sessionView(pool);
    this.upstreamCalls = ports.upstreamCalls ?? unobservedUpstreamCalls;
  }

  /**
   * Handles one HTTP request to `/mcp`, its body unparsed (a body that is not JSON
   * gets a JSON-RPC parse error). Checked before the credential, in the order the
   * transport specifies: Origin (DNS rebinding), method, protocol version. Never throws.
   */
  async handle(req: IncomingMessage, res: ServerResponse, rawBody: string | undefined): Promise<void> {
    try {
      const origin = req.headers.origin;
      if (origin !== undefined && !this.ports.originAllowed(origin)) {
        this.refused(null, 'gateway.origin_forbidden', req.method);
        return jsonRpcError(res, 403, null, -32000, 'gateway.origin_forbidden', `requests from origin \`${origin}\` are not accepted (server.allowedOrigins)`);
      }
      if (req.method !== 'POST' && req.method !== 'GET' && req.method !== 'DELETE') {
        res.writeHead(405, { allow: 'GET, POST, DELETE' }).end();
        return;
      }
      let body: unknown;
      if (req.method === 'POST') {
        if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return jsonRpcError(res, 415, null, -32600, 'request.invalid', 'content-type must be application/json');
        try {
          body = JSON.parse(rawBody ?? '');
        } catch {
          return jsonRpcError(res, 400, null, -32700, 'request.invalid', 'the body is not valid JSON');
        }
      }
      const version = req.headers['mcp-protocol-version'];
      const headerVersion = typeof version === 'string' ? version : undefined;
      if (req.method === 'POST' && isStatelessRequest(headerVersion, body, typeof req.headers[SESSION_HEADER] === 'string')) {
        return await this.stateless(req, res, body, headerVersion);
      }
      if (headerVersion !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(headerVersion)) {
        return jsonRpcError(res, 400, null, -32600, 'request.invalid', `unsupported MCP-Protocol-Version \`${headerVersion}\`; supported: ${[...SUPPORTED_PROTOCOL_VERSIONS, ...STATELESS_VERSIONS].join(', ')}`);
      }
      const mismatch = req.method === 'POST' ? headerMismatch(req, body) : undefined;
      if (mismatch) return jsonRpcError(res, 400, null, HEADER_MISMATCH, 'request.invalid', `header and body disagree: ${mismatch}`);
      const ctx = await this.authenticate(req, res, req.method, null);
      if (!ctx) return;
      const task = ctx.task;
      const sessionId = req.headers[SESSION_HEADER];
      const session = typeof sessionId === 'string' ? (this.sessions.get(sessionId) ?? this.takeUp(sessionId, task)) : undefined;
      if (typeof sessionId === 'string') {
        if (!session || session.taskId !== task.id) this.refused(task, 'gateway.session_invalid', req.method);
        if (!session) return jsonRpcError(res, 404, null, -32001, 'gateway.session_invalid', 'unknown or closed MCP session; initialize a new one');
        if (session.taskId !== task.id) return jsonRpcError(res, 403, null, -32001, 'gateway.session_invalid', 'this MCP session belongs to another task');
      }
      switch (req.method) {
        case 'POST':
          return await this.post(ctx, session, body, req, res);
        case 'GET':
          return this.openStream(session, req, res);
        case 'DELETE':
          if (!session) return jsonRpcError(res, 400, null, -32600, 'request.invalid', '`mcp-session-id` is required');
          this.closeSession(session);
          this.markClosed(session.id);
          res.writeHead(200).end();
          return;
      }
    } catch {
      if (!res.headersSent) jsonRpcError(res, 500, null, -32603, 'internal.error', 'the gateway failed to handle the request');
      else res.end();
    }
  }

  /**
   * A request of the stateless revision (2026-07-28): checked as the revision says
   * (envelope, headers, version; errors carry the request's id and a 4xx status),
   * then authenticated and dispatched like any other, on a session that lives for
   * this request only. Removed methods are unknown methods here.
   */
  private async stateless(req: IncomingMessage, res: ServerResponse, body: unknown, headerVersion: string | undefined): Promise<void> {
    const message = body as Partial<JsonRpcRequest> | null;
    const rawId = message !== null && typeof message === 'object' && !Array.isArray(message) ? message.id : undefined;
    const id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
    const fail = (status: number, rpcCode: number, reason: ErrorCode, why: string, extra: Record<string, unknown> = {}) => jsonRpcError(res, status, id, rpcCode, reason, why, extra);
    if (Array.isArray(body) || message === null || typeof message !== 'object' || message.jsonrpc !== '2.0' || typeof message.method !== 'string') {
      return fail(400, -32600, 'request.invalid', Array.isArray(body) ? 'JSON-RPC batches are not supported' : 'not a JSON-RPC 2.0 request');
    }
    const envelope = readEnvelope(headerVersion, body, STATELESS_VERSIONS);
    if (isEnvelopeError(envelope)) return fail(envelope.status, envelope.code, 'request.invalid', envelope.message, envelope.data);
    const mismatch = headerMismatch(req, body, true);
    if (mismatch) return fail(400, HEADER_MISMATCH, 'request.invalid', `header and body disagree: ${mismatch}`);
    const ctx = await this.authenticate(req, res, message.method, id);
    if (!ctx) return;
    const params = message.params !== null && typeof message.params === 'object' && !Array.isArray(message.params) ? message.params : {};
    if (rawId === undefined) {
      // Cancelling is closing the stream in this revision; a `notifications/cancelled` is honoured all the same.
      if (message.method === 'notifications/cancelled') this.statelessInFlight.get(`${ctx.task.id} ${String(params.requestId)}`)?.abort();
      return void res.writeHead(202).end();
    }
    if (id === null) return fail(400, -32600, 'request.invalid', '`id` must be a string or a number');
    if (REMOVED_METHODS.has(message.method)) {
      return fail(404, McpErrorCode.MethodNotFound, 'request.invalid', `\`${message.method}\` does not exist in MCP ${envelope.protocolVersion}`);
    }
    if (message.method === 'server/discover') return jsonRpcResult(res, id, stampResult('server/discover', discoverResult()));
    if (message.method === 'subscriptions/listen') return this.listen(res, id, params);
    const session = this.statelessSession(ctx.task.id, envelope, req.headers);
    const reply = PostReply.for(res, String(req.headers.accept ?? ''));
    const call = new AbortController();
    const key = `${ctx.task.id} ${id}`;
    this.statelessInFlight.set(key, call);
    res.on('close', () => res.writableFinished || call.abort());
    try {
      const result = stampResult(message.method, await this.dispatch(ctx, session, message.method, params, { reply, signal: call.signal }));
      if (call.signal.aborted && reply.end()) return;
      reply.answer({ id, result }, () => jsonRpcResult(res, id, result));
    } catch (err) {
      const [rpcCode, reason, why, extra] =
        err instanceof RpcRefusal
          ? [err.rpcCode, err.reason, err.why, err.extra]
          : err instanceof UpstreamRpcError
            ? [err.rpcCode, 'gateway.upstream_error' as ErrorCode, err.message, err.data !== null && typeof err.data === 'object' ? (err.data as Record<string, unknown>) : {}]
            : err instanceof CodedError
              ? [jsonRpcCodeOf(err.code), err.code, err.publicMessage, {}]
              : [McpErrorCode.InternalError, 'internal.error' as ErrorCode, 'the gateway failed to handle the request', {}];
      const status = statusOfError(rpcCode);
      // Transport-level errors go as a plain JSON answer with their status; the others as the call's answer.
      if (status !== 200 && !reply.isStreaming) return fail(status, rpcCode, reason, why, extra);
      reply.answer({ id, error: { code: rpcCode, message: `${reason}: ${why}`, data: { code: reason, ...extra } } }, () => jsonRpcError(res, 200, id, rpcCode, reason, why, extra));
    } finally {
      this.statelessInFlight.delete(key);
    }
  }

  /** One stateless request's session: nothing of it outlives the request but which upstream listed which resource. */
  private statelessSession(taskId: TaskId, envelope: Envelope, headers: IncomingHttpHeaders): Session {
    let owners = this.statelessOwners.get(taskId);
    if (!owners) this.statelessOwners.set(taskId, (owners = new Map()));
    if (owners.size > 10_000) owners.clear();
    return { id: '', taskId, protocolVersion: envelope.protocolVersion, streams: new Set(), resourceOwners: owners, asks: new ClientAsks(), inFlight: new Map(), logLevel: envelope.logLevel, subscriptions: new Set(), envelope, headers };
  }

  /**
   * `subscriptions/listen`: a long-lived event stream that first acknowledges the
   * list changes it will carry (those asked for that the gateway relays), then
   * carries them, each tagged with the listen request's id. Closing it ends it.
   */
  private listen(res: ServerResponse, id: string | number, params: Record<string, unknown>): void {
    const asked = (params.notifications ?? {}) as Record<string, unknown>;
    const honoured = Object.fromEntries(LISTENABLE.filter((k) => asked[k] === true).map((k) => [k, true as const]));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.write(sseEvent({ method: 'notifications/subscriptions/acknowledged', params: { _meta: { [META.subscriptionId]: id }, notifications: honoured } }));
    const stream: ListenStream = { res, subscriptionId: id, honoured };
    this.listeners.add(stream);
    res.on('close', () => this.listeners.delete(stream));
  }

  /** A list change to the listen streams that asked for it. */
  private toListeners(method: string, params: Record<string, unknown> = {}): void {
    const wanted = LIST_CHANGES[method];
    if (!wanted) return;
    for (const l of this.listeners) {
      if (l.honoured[wanted]) l.res.write(sseEvent({ method, params: { ...params, _meta: { ...(params._meta as object), [META.subscriptionId]: l.subscriptionId } } }));
    }
  }

  /**
   * The task behind the request's credential, checked on every request; undefined
   * once the refusal is answered (401, or 503 when the store cannot say).
   */
  private async authenticate(req: IncomingMessage, res: ServerResponse, method: string | undefined, id: string | number | null): Promise<TaskContext | undefined> {
    const token = bearer(req);
    if (!token) {
      this.refused(null, 'credential.missing', method);
      this.unauthorized(req, res, undefined, id);
      return undefined;
    }
    try {
      const ctx = await this.ports.kernel.authenticate(token, presentedProof(req));
      const traceId = traceIdOf(req.headers);
      return traceId === undefined ? ctx : { ...ctx, traceId };
    } catch (err) {
      // Refused on the very next request once revoked or expired, even mid-session.
      const coded = err instanceof CodedError ? err : new CodedError('credential.invalid', 'the task credential is invalid');
      this.refused(refusedTaskOf(err), coded.code, method);
      // Not the credential's fault: a 401 would send the client to re-authenticate for nothing.
      if (coded.code === 'store.unreachable') {
        res.setHeader('Retry-After', '1');
        jsonRpcError(res, 503, id, jsonRpcCodeOf(coded.code), coded.code, coded.publicMessage);
      } else this.unauthorized(req, res, coded, id);
      return undefined;
    }
  }

  /** An agent's answer that reached another process: resolves the request if it is waited for here. */
  answerFromElsewhere(sessionId: string, message: { id: string | number; result?: unknown; error?: { code?: unknown; message?: unknown } }): void {
    this.sessions.get(sessionId)?.asks.answer(message);
  }

  /** A session closed on another replica or worker: refused here from now on. */
  sessionClosedElsewhere(sessionId: string): void {
    this.closed.set(sessionId, true);
    const session = this.sessions.get(sessionId);
    if (session) this.closeSession(session);
  }

  /** Tells every open session that tools changed upstream. */
  notifyToolsChanged(): void {
    this.broadcast(sseEvent({ method: 'notifications/tools/list_changed' }));
    this.toListeners('notifications/tools/list_changed');
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) this.closeSession(s);
    for (const l of this.listeners) l.res.end();
    this.listeners.clear();
  }

  private async post(ctx: TaskContext, session: Session | undefined, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const task = ctx.task;
    const message = body as Partial<JsonRpcRequest> & { result?: unknown; error?: { code?: unknown; message?: unknown } } | null;
    if (isClientAnswer(message)) {
      // The client answering a request the gateway relayed to it during a call: waited for here, or by another worker or
      // replica holding the same session (the answer came on another connection), which the change feed reaches.
      if (session?.asks.answer(message)) return void res.writeHead(202).end();
      if (session && isRelayedAskId(message.id)) {
        this.ports.publishAnswer(session.id, message);
        return void res.writeHead(202).end();
      }
      this.refused(task, 'request.invalid', 'POST');
      return jsonRpcError(res, 400, null, -32600, 'request.invalid', 'no request with this id is waiting for an answer in this session');
    }
    if (Array.isArray(body) || message === null || typeof message !== 'object' || message.jsonrpc !== '2.0' || typeof message.method !== 'string') {
      this.refused(task, 'request.invalid', 'POST');
      return jsonRpcError(res, 400, null, -32600, 'request.invalid', Array.isArray(body) ? 'JSON-RPC batches are not supported' : 'not a JSON-RPC 2.0 request');
    }
    const id = message.id;
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') return jsonRpcError(res, 400, null, -32600, 'request.invalid', '`id` must be a string or a number');
    const params = message.params !== null && typeof message.params === 'object' && !Array.isArray(message.params) ? message.params : {};
    if (message.method === 'initialize') {
      if (session) return jsonRpcError(res, 400, id ?? null, -32600, 'request.invalid', 'this session is already initialized');
      if (id === undefined) return jsonRpcError(res, 400, null, -32600, 'request.invalid', '`initialize` needs an `id`');
      const requested = params.protocolVersion;
      const protocolVersion = typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
      const opened = this.keep(this.ids.mint(task.id, protocolVersion), task.id, protocolVersion, true);
      res.setHeader('mcp-session-id', opened.id);
      return jsonRpcResult(res, id, { protocolVersion, capabilities: CAPABILITIES, serverInfo: SERVER_INFO });
    }
    if (!session) return jsonRpcError(res, 400, id ?? null, -32600, 'request.invalid', 'send `initialize` first, or the `mcp-session-id` header of an open session');
    if (id === undefined) {
      if (message.method === 'notifications/cancelled') session.inFlight.get(params.requestId as string | number)?.abort();
      res.writeHead(202).end(); // notifications (initialized, cancelled, …) need no answer
      return;
    }
    const reply = PostReply.for(res, String(req.headers.accept ?? ''));
    const fail = (rpcCode: number, reason: ErrorCode, why: string, extra: Record<string, unknown> = {}) =>
      reply.answer({ id, error: { code: rpcCode, message: `${reason}: ${why}`, data: { code: reason, ...extra } } }, () => jsonRpcError(res, 200, id, rpcCode, reason, why, extra));
    const call = new AbortController();
    session.inFlight.set(id, call);
    try {
      const result = await this.dispatch(ctx, session, message.method, params, { reply, signal: call.signal });
      // A cancelled request gets no answer; a client that takes JSON only still gets one.
      if (call.signal.aborted && reply.end()) return;
      reply.answer({ id, result }, () => jsonRpcResult(res, id, result));
    } catch (err) {
      if (err instanceof RpcRefusal) return fail(err.rpcCode, err.reason, err.why, err.extra);
      if (err instanceof CodedError) return fail(jsonRpcCodeOf(err.code), err.code, err.publicMessage);
      return fail(McpErrorCode.InternalError, 'internal.error', 'the gateway failed to handle the request');
    } finally {
      session.inFlight.delete(id);
    }
  }

  private async dispatch(ctx: TaskContext, session: Session, method: string, params: Record<string, unknown>, call: { reply: PostReply; signal: AbortSignal }): Promise<unknown> {
    switch (method) {
      case 'ping':
        return {};
      case 'logging/setLevel':
        if (!LOG_LEVELS.includes(params.level as (typeof LOG_LEVELS)[number])) throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', `logging/setLevel needs a \`level\`: one of ${LOG_LEVELS.join(', ')}`);
        session.logLevel = params.level as string;
        return {};
      case 'tools/list':
        return { tools: await this.listTools(ctx, session) };
      case 'tools/call': {
        const args = params.arguments ?? {};
        if (typeof params.name !== 'string' || args === null || typeof args !== 'object' || Array.isArray(args)) {
          throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', 'tools/call needs a `name` and an `arguments` object');
        }
        const meta = params._meta as Record<string, unknown> | undefined;
        const waitMs = typeof meta?.['mandate/wait_ms'] === 'number' ? Math.max(0, meta['mandate/wait_ms']) : 0;
        const token = meta?.progressToken;
        const relayFor = (upstream: string) => this.relayFor(ctx, session, upstream, call, typeof token === 'string' || typeof token === 'number' ? token : undefined);
        const name = this.catalogName(params.name);
        if (session.headers) await this.checkParamHeaders(ctx, session, name, args as Record<string, unknown>, session.headers);
        return this.callTool(ctx, session, name, args as Record<string, unknown>, waitMs, relayFor, continuationOf(params));
      }
      case 'resources/list':
        return { resources: await this.listResources(ctx, session) };
      case 'resources/templates/list':
        return { resourceTemplates: await this.listResourceTemplates(ctx, session) };
      case 'resources/read':
        if (typeof params.uri !== 'string') throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', 'resources/read needs a `uri`');
        return this.readResource(ctx, session, params.uri, continuationOf(params));
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        if (typeof params.uri !== 'string') throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', `${method} needs a \`uri\``);
        return method === 'resources/subscribe' ? this.subscribe(ctx, session, params.uri) : this.unsubscribeUri(ctx, session, params.uri);
      case 'completion/complete':
        return this.complete(ctx, session, params);
      case 'prompts/list':
        return { prompts: await this.listPrompts(ctx, session) };
      case 'prompts/get': {
        const args = params.arguments ?? {};
        if (typeof params.name !== 'string' || args === null || typeof args !== 'object') throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', 'prompts/get needs a `name`');
        return this.getPrompt(ctx, session, params.name, args as Record<string, string>, continuationOf(params));
      }
      default:
        this.refused(ctx.task, 'request.invalid', method);
        throw new RpcRefusal(McpErrorCode.MethodNotFound, 'request.invalid', `method \`${method}\` is not supported by the gateway`);
    }
  }

  /** The GET stream for server-initiated messages (Streamable HTTP). */
  private openStream(session: Session | undefined, req: IncomingMessage, res: ServerResponse): void {
    if (!session) return jsonRpcError(res, 400, null, -32600, 'request.invalid', '`mcp-session-id` is required');
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) return jsonRpcError(res, 406, null, -32600, 'request.invalid', 'the stream needs `Accept: text/event-stream`');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'mcp-session-id': session.id });
    res.flushHeaders();
    session.streams.add(res);
    res.on('close', () => session.streams.delete(res));
  }

  /** Protocol-level refusals are audited too: they are how probing shows up in the trail. */
  private refused(task: Pick<Task, 'id' | 'agentId'> | null, code: string, method: string | undefined): void {
    recordGatewayRefusal(this.ports.audit, 'mcp', task, { code, method: method ?? null });
  }

  /** A session another process opened for this task (or this one, before it was dropped from memory). */
  private takeUp(sessionId: string, task: Task): Session | undefined {
    if (this.closed.has(sessionId)) return undefined;
    const protocolVersion = this.ids.open(sessionId, task.id);
    return protocolVersion === undefined ? undefined : this.keep(sessionId, task.id, protocolVersion, false);
  }

  /** Beyond the cap, opening a session closes the task's oldest; taking one up only drops the oldest from memory (it can be taken up again). */
  private keep(id: string, taskId: TaskId, protocolVersion: string, opening: boolean): Session {
    const own = [...this.sessions.values()].filter((x) => x.taskId === taskId);
    if (own.length >= MAX_SESSIONS_PER_TASK) {
      this.closeSession(own[0]!);
      if (opening) this.markClosed(own[0]!.id);
    }
    const session: Session = { id, taskId, protocolVersion, streams: new Set(), resourceOwners: new Map(), asks: new ClientAsks(), inFlight: new Map(), logLevel: undefined, subscriptions: new Set() };
    this.sessions.set(id, session);
    return session;
  }

  /** Closed for good, on every replica and worker. */
  private markClosed(sessionId: string): void {
    this.closed.set(sessionId, true);
    this.ports.publishClosed(sessionId);
  }

  private closeSession(session: Session): void {
    this.sessions.delete(session.id);
    session.asks.closeAll();
    for (const call of session.inFlight.values()) call.abort();
    for (const key of session.subscriptions) this.unsubscribe(session, key);
    for (const stream of session.streams) stream.end();
    session.streams.clear();
  }

  /** One upstream down leaves the others' resources listed; all of them down is an error, not an empty list. */
  private async listResources(ctx: TaskContext, session: Session): Promise<Resource[]> {
    const resources: Resource[] = [];
    const upstreams = await this.upstreamsWith(ctx, resourcesAction);
    let failure: unknown;
    for (const upstream of upstreams) {
      const listed = await this.via(ctx, session)
        .resources(upstream)
        .catch((err: unknown) => void (failure ??= err));
      for (const r of listed?.resources ?? []) {
        session.resourceOwners.set(r.uri, upstream);
        resources.push(r);
      }
    }
    if (failure !== undefined && resources.length === 0) throw failure;
    return resources;
  }

  /**
   * A prompt or resource no upstream the task may use has: not found (the
   * specification's -32602 for a prompt, -32002 for a resource), and audited like
   * any refusal. Whether the task may use it at all cannot be decided without knowing whose it is.
   */
  private notFound(ctx: TaskContext, what: 'prompt' | 'resource', name: string, method: string, session?: Session): never {
    this.refused(ctx.task, 'request.not_found', method);
    // 2026-07-28 has no -32002: a resource not found is invalid params too, naming the URI.
    const rpcCode = what === 'prompt' || session?.envelope ? McpErrorCode.InvalidParams : -32002;
    throw new RpcRefusal(rpcCode, 'request.not_found', `no upstream this task may use has the ${what} \`${name}\``, what === 'resource' ? { uri: name } : {});
  }

  /** The upstream a resource URI belongs to: the one that listed it to this session, else the only one the task may read (or the only one there is). */
  private async resourceOwner(ctx: TaskContext, session: Session, uri: string): Promise<string | undefined> {
    const candidates = await this.upstreamsWith(ctx, resourcesAction);
    if (candidates.length === 0) {
      // None the task may read: with a single upstream serving resources, the decision on it says why.
      const serving = this.pool.names().filter((u) => this.ports.tools.get(resourcesAction(u)) !== undefined);
      return serving.length === 1 ? serving[0] : undefined;
    }
    return session.resourceOwners.get(uri) ?? (candidates.length === 1 ? candidates[0] : undefined);
  }

  /** Subscribing is reading: decided like `resources/read`. The gateway subscribes upstream once per resource, whatever the number of sessions. */
  private async subscribe(ctx: TaskContext, session: Session, uri: string): Promise<object> {
    const upstream = (await this.resourceOwner(ctx, session, uri)) ?? this.notFound(ctx, 'resource', uri, 'resources/subscribe');
    const decision = await this.ports.kernel.decide(ctx, { tool: resourcesAction(upstream), args: { uri } });
    if (decision.outcome !== 'allow') throw refusalError(decision);
    const key = `${upstream} ${uri}`;
    if (!this.subscribers.has(key)) {
      await this.pool.forward(upstream, 'resources/subscribe', { uri });
      this.subscribers.set(key, new Set());
    }
    this.subscribers.get(key)!.add(session.id);
    session.subscriptions.add(key);
    return {};
  }

  private async unsubscribeUri(ctx: TaskContext, session: Session, uri: string): Promise<object> {
    const upstream = await this.resourceOwner(ctx, session, uri);
    if (upstream !== undefined) this.unsubscribe(session, `${upstream} ${uri}`);
    return {};
  }

  private unsubscribe(session: Session, key: string): void {
    session.subscriptions.delete(key);
    const sessions = this.subscribers.get(key);
    if (!sessions?.delete(session.id) || sessions.size > 0) return;
    this.subscribers.delete(key);
    const [upstream, uri] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
    void this.pool.forward(upstream, 'resources/unsubscribe', { uri }).catch(() => undefined);
  }

  /**
   * What an upstream says outside a call: a subscribed resource changed (to the
   * sessions subscribed to it), or its resource or prompt list changed (to every
   * session: the list each sees is still filtered by its mandate).
   */
  upstreamNotice(upstream: string, method: string, params: Record<string, unknown>): void {
    const event = sseEvent({ method, params });
    if (method === 'notifications/resources/updated') {
      for (const id of this.subscribers.get(`${upstream} ${String(params.uri)}`) ?? []) for (const stream of this.sessions.get(id)?.streams ?? []) stream.write(event);
      return;
    }
    this.broadcast(event);
    this.toListeners(method);
  }

  /** To every open session's event stream. */
  private broadcast(event: string): void {
    for (const s of this.sessions.values()) for (const stream of s.streams) stream.write(event);
  }

  /**
   * `completion/complete`: suggestions for a prompt's or a resource template's
   * argument come from the upstream that has it, decided as getting that prompt
   * or reading that resource would be (suggestions can name what they complete).
   */
  private async complete(ctx: TaskContext, session: Session, params: Record<string, unknown>): Promise<unknown> {
    const ref = (params.ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
    if (ref.type === 'ref/prompt' && typeof ref.name === 'string') {
      const parts = (await this.promptOf(ctx, session, ref.name)) ?? this.notFound(ctx, 'prompt', ref.name, 'completion/complete');
      const decision = await this.ports.kernel.decide(ctx, { tool: promptsAction(parts.upstream), args: { name: parts.prompt } });
      if (decision.outcome !== 'allow') throw refusalError(decision);
      return this.via(ctx, session).complete(parts.upstream, { ...params, ref: { ...ref, name: parts.prompt } });
    }
    if (ref.type === 'ref/resource' && typeof ref.uri === 'string') {
      const upstream = (await this.resourceOwner(ctx, session, ref.uri)) ?? this.notFound(ctx, 'resource', ref.uri, 'completion/complete', session);
      const decision = await this.ports.kernel.decide(ctx, { tool: resourcesAction(upstream), args: { uri: ref.uri } });
      if (decision.outcome !== 'allow') throw refusalError(decision);
      return this.via(ctx, session).complete(upstream, params);
    }
    throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', 'completion/complete needs a `ref` of type `ref/prompt` (with `name`) or `ref/resource` (with `uri`)');
  }

  private async listResourceTemplates(ctx: TaskContext, session: Session): Promise<ResourceTemplate[]> {
    const templates: ResourceTemplate[] = [];
    for (const upstream of await this.upstreamsWith(ctx, resourcesAction)) {
      templates.push(...((await this.via(ctx, session).resources(upstream).catch(() => undefined))?.templates ?? []));
    }
    return templates;
  }

  private async readResource(ctx: TaskContext, session: Session, uri: string, more: Continuation): Promise<unknown> {
    const upstream = (await this.resourceOwner(ctx, session, uri)) ?? this.notFound(ctx, 'resource', uri, 'resources/read', session);
    const decision = await this.ports.kernel.decide(ctx, { tool: resourcesAction(upstream), args: { uri } });
    if (decision.outcome !== 'allow') throw refusalError(decision);
    return this.relay(decision, ctx, upstream, resourcesAction(upstream), { uri }, (txn) => this.via(ctx, session).readResource(upstream, uri, more, txn));
  }

  private async listPrompts(ctx: TaskContext, session: Session): Promise<Prompt[]> {
    const prompts: Prompt[] = [];
    for (const upstream of await this.upstreamsWith(ctx, promptsAction)) {
      for (const p of (await this.via(ctx, session).prompts(upstream).catch(() => undefined)) ?? []) prompts.push({ ...p, name: this.pool.exposedName(upstream, p.name) });
    }
    return prompts;
  }

  private async getPrompt(ctx: TaskContext, session: Session, name: string, args: Record<string, string>, more: Continuation): Promise<unknown> {
    const parts = (await this.promptOf(ctx, session, name)) ?? this.notFound(ctx, 'prompt', name, 'prompts/get');
    const decision = await this.ports.kernel.decide(ctx, { tool: promptsAction(parts.upstream), args: { ...args, name: parts.prompt } });
    if (decision.outcome !== 'allow') throw refusalError(decision);
    return this.relay(decision, ctx, parts.upstream, promptsAction(parts.upstream), { ...args, name: parts.prompt }, (txn) => this.via(ctx, session).getPrompt(parts.upstream, parts.prompt, args, more, txn));
  }

  /** The upstream and its own name for a prompt as the agent sees it, among the upstreams whose prompts the task may use. */
  private async promptOf(ctx: TaskContext, session: Session, name: string): Promise<{ upstream: string; prompt: string } | undefined> {
    // The upstreams the task may use first; then the others, so that a prompt the mandate lacks is refused by a decision, not "not found".
    const allowed = await this.upstreamsWith(ctx, promptsAction);
    const others = this.pool.names().filter((u) => !allowed.includes(u) && this.ports.tools.get(promptsAction(u)) !== undefined);
    for (const upstream of [...allowed, ...others]) {
      const listed = (await this.via(ctx, session).prompts(upstream).catch(() => undefined)) ?? [];
      // The policy name (`<upstream>.<prompt>`) is accepted too, as for tools.
      const found = listed.find((p) => this.pool.exposedName(upstream, p.name) === name || `${upstream}.${p.name}` === name);
      if (found) return { upstream, prompt: found.name };
    }
    return undefined;
  }

  /**
   * What an upstream sends about one call, to the agent that made it: progress
   * (when the agent asked for it), log messages at or above the session's level,
   * and requests of the client, each decided as `<upstream>.sampling`,
   * `.elicitation` or `.roots` before the agent sees it; a refusal goes back to
   * the upstream as an error.
   */
  private relayFor(ctx: TaskContext, session: Session, upstream: string, call: { reply: PostReply; signal: AbortSignal }, progressToken: string | number | undefined): CallRelay {
    return {
      signal: call.signal,
      progressToken,
      notify: (method, params) => {
        if (method === 'notifications/progress' && progressToken === undefined) return;
        if (method === 'notifications/message' && (session.envelope ? session.envelope.logLevel === undefined : false)) return;
        if (method === 'notifications/message' && !logLevelPasses(session.logLevel, params.level)) return;
        if (method !== 'notifications/progress' && method !== 'notifications/message') return;
        call.reply.send({ method, params });
      },
      ask: async (method, params) => {
        // In 2026-07-28 nothing is asked of the client mid-call: an upstream that speaks it answers `input_required` instead.
        if (session.envelope) throw new McpError(McpErrorCode.MethodNotFound, `the agent speaks MCP ${session.envelope.protocolVersion}, where \`${method}\` cannot be asked of it during a call`);
        const feature = CLIENT_REQUESTS[method];
        if (!feature) throw new McpError(McpErrorCode.MethodNotFound, `the gateway does not relay \`${method}\``);
        const decision = await this.ports.kernel.decide(ctx, { tool: `${upstream}.${feature}`, args: clientRequestArgs(method, params) });
        if (decision.outcome !== 'allow') throw new McpError(-32001, `${decision.outcome === 'step_up' ? 'approval required' : 'denied'} (${decision.reason.code}): ${decision.reason.message}`);
        return session.asks.ask(call.reply, method, params, ASK_TIMEOUT_MS);
      },
    };
  }

  /**
   * The catalog name (`<upstream>.<tool>`) of a tool as the agent sees it. A name
   * that maps to none is decided as it is: a catalog name works as well (agents
   * written before names were exposed), anything else is refused as a tool the mandate lacks.
   */
  private catalogName(exposed: string): string {
    if (this.exposedToCatalog.get(exposed) === undefined) {
      this.exposedToCatalog.clear();
      for (const t of this.ports.tools.list()) {
        const parts = splitToolName(t.name);
        if (parts && this.pool.has(parts.upstream)) this.exposedToCatalog.set(this.pool.exposedName(parts.upstream, parts.tool), t.name);
      }
    }
    return this.exposedToCatalog.get(exposed) ?? exposed;
  }

  /** Only what the task's mandate and the ceiling could allow: an agent does not see what it cannot use. */
  private async listTools(ctx: TaskContext, session: Session): Promise<Tool[]> {
    const out: Tool[] = [];
    for (const name of this.ports.kernel.visibleTools(ctx)) {
      const parts = splitToolName(name);
      if (!parts || !this.pool.has(parts.upstream)) continue;
      let upstreamTools: Map<string, Tool>;
      try {
        upstreamTools = await this.via(ctx, session).tools(parts.upstream);
      } catch {
        continue; // an upstream that is down hides its tools; it does not fail the list
      }
      const def = upstreamTools.get(parts.tool);
      // The policy name rides along, so a developer can write the mandate from what the agent sees.
      if (!def) continue;
      // A masked field may no longer fit the declared output schema, and clients reject results that do not.
      const { outputSchema, ...rest } = def;
      const shown = this.ports.mayRedact(name) ? rest : { ...rest, outputSchema };
      out.push({ ...shown, name: this.pool.exposedName(parts.upstream, parts.tool), description: def.description ?? this.ports.tools.get(name)?.description, _meta: { ...def._meta, 'mandate/tool': name } });
    }
    return out;
  }

  /**
   * Decides and forwards one tool call. On step-up the result carries the approval
   * id and where to poll it; a client that sends `_meta["mandate/wait_ms"]` is held
   * until a person decides (or the wait ends), and the call proceeds at once when
   * approved: the approval is consumed by deciding the same call again.
   */
  private async callTool(ctx: TaskContext, session: Session, name: string, args: Record<string, unknown>, waitMs: number, relayFor: (upstream: string) => CallRelay, more: Continuation): Promise<CallToolResult | InputRequired> {
    let decision = await this.ports.kernel.decide(ctx, { tool: name, args });
    if (decision.outcome === 'step_up' && decision.approvalId && waitMs > 0) {
      const settled = await this.ports.waitForApproval(decision.approvalId, waitMs);
      if (settled.status === 'expired') {
        // Nobody decided in time: this call is denied; a new call asks again.
        this.refused(ctx.task, 'approval.expired', 'tools/call');
        return refusal({ ...decision, outcome: 'deny', reason: { code: 'approval.expired', message: `approval ${decision.approvalId} expired before anyone decided` } }, `denied (approval.expired): approval ${decision.approvalId} expired before anyone decided`);
      }
      if (settled.status !== 'pending') decision = await this.ports.kernel.decide(ctx, { tool: name, args });
    }
    switch (decision.outcome) {
      case 'deny':
        return refusal(decision, refusalText(decision));
      case 'step_up': {
        const poll = decision.approvalId ? this.ports.approvalUrl(decision.approvalId) : null;
        return refusal(decision, `approval required (${decision.reason.code}): ${decision.reason.message}${poll ? `; poll ${poll} with your task credential, then call again` : ''}`, poll);
      }
      case 'allow':
        return this.forward(decision, ctx, session, name, args, relayFor, more);
    }
  }

  /** How this request reaches upstreams: over their sessions for a 2025 agent; per request, where they speak it, for a 2026 agent. */
  private via(ctx: TaskContext, session: Session): UpstreamView {
    if (!session.envelope) return this.sessions2025;
    return (session.view ??= statelessView({
      pool: this.pool,
      clock: this.ports.clock,
      key: this.ports.sessionKey,
      taskId: ctx.task.id,
      envelope: session.envelope,
      approveInputs: (upstream, inputs) => this.approveInputs(ctx, upstream, inputs),
    }));
  }

  /**
   * The requests a 2026 upstream makes of the agent in an `input_required` result,
   * each decided as `<upstream>.sampling`, `.elicitation` or `.roots` (anything else
   * as `<upstream>.<method>`, which no catalog has): the first refusal, if any.
   */
  private async approveInputs(ctx: TaskContext, upstream: string, inputs: Record<string, { method?: unknown; params?: unknown }>): Promise<Decision | undefined> {
    for (const input of Object.values(inputs)) {
      const method = String(input?.method);
      const params = (input?.params ?? {}) as Record<string, unknown>;
      const decision = await this.ports.kernel.decide(ctx, { tool: `${upstream}.${CLIENT_REQUESTS[method] ?? method}`, args: clientRequestArgs(method, params) });
      if (decision.outcome !== 'allow') return decision;
    }
    return undefined;
  }

  /**
   * A 2026 agent's `Mcp-Param-*` headers must say what its arguments say (the tool's
   * `x-mcp-header` declarations name them): an intermediary routing on a header the
   * body contradicts could be steered. The gateway sends the upstream headers of its own.
   */
  private async checkParamHeaders(ctx: TaskContext, session: Session, name: string, args: Record<string, unknown>, headers: IncomingHttpHeaders): Promise<void> {
    const parts = splitToolName(name);
    if (!parts || !this.pool.has(parts.upstream)) return;
    const def = (await this.via(ctx, session).tools(parts.upstream).catch(() => undefined))?.get(parts.tool);
    const mismatch = def ? paramHeaderMismatch(def.inputSchema, args, headers) : undefined;
    if (mismatch) throw new RpcRefusal(HEADER_MISMATCH, 'request.invalid', `header and body disagree: ${mismatch}`);
  }

  /** Upstreams whose resources (or prompts) action the task may use. */
  private async upstreamsWith(ctx: TaskContext, action: (upstream: string) => string): Promise<string[]> {
    const visible = new Set(this.ports.kernel.visibleTools(ctx));
    return [...visible].flatMap((name) => {
      const parts = splitToolName(name);
      return parts && this.pool.has(parts.upstream) && action(parts.upstream) === name ? [parts.upstream] : [];
    });
  }

  /** Forwards an allowed resources/read or prompts/get; failures are protocol errors, results are accounted like tool results. */
  private async relay<T extends object>(decision: Decision, ctx: TaskContext, upstream: string, action: string, args: Record<string, unknown>, call: (txnToken: string | undefined) => Promise<T>): Promise<T> {
    const startedMs = this.ports.clock.nowMs();
    let result: T | undefined;
    let code: ErrorCode | null = null;
    const done = this.upstreamCalls.start({ gateway: 'mcp', upstream, tool: action, taskId: ctx.task.id, decision });
    try {
      result = await call(await this.txnTokenFor(ctx, decision, upstream));
      done(null);
    } catch (err) {
      // A refusal of what the upstream asked during the call is the gateway's answer, not the upstream failing.
      done(err instanceof InputRefused || err instanceof StateRejected ? null : err instanceof CodedError ? err.code : 'gateway.upstream_error');
      if (err instanceof InputRefused) throw refusalError(err.refusal as Decision);
      if (err instanceof StateRejected) throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', err.message);
      if (err instanceof UpstreamRpcError) {
        await this.account(ctx, decision, action, args, 'gateway.upstream_error', true, 0, startedMs);
        throw err;
      }
      code = err instanceof CodedError ? err.code : 'gateway.upstream_error';
    }
    let bytes = 0;
    if (result) ({ result, bytes, code } = withObligations(result, decision, ctx.task));
    await this.account(ctx, decision, action, args, code, false, bytes, startedMs, code === null ? result : undefined);
    if (code !== null || !result) throw new RpcRefusal(-32002, code ?? 'gateway.upstream_error', 'the upstream result is not available');
    return result;
  }

  /** Status, size and labels of every result for the trail, and its labels to the monitor before the agent sees it; never the content. */
  private account(ctx: TaskContext, decision: Decision, tool: string, args: Record<string, unknown>, code: ErrorCode | null, isError: boolean, bytes: number, startedMs: number, content?: unknown): Promise<void> {
    return this.ports.kernel.account(ctx, { decisionId: decision.id, tool, args, status: code === null && !isError ? 'ok' : 'error', code, bytes, durationMs: this.ports.clock.nowMs() - startedMs, reportedBy: 'gateway', observe: code === null, content });
  }

  private async forward(decision: Decision, ctx: TaskContext, session: Session, name: string, args: Record<string, unknown>, relayFor: (upstream: string) => CallRelay, more: Continuation): Promise<CallToolResult | InputRequired> {
    const parts = splitToolName(name);
    const startedMs = this.ports.clock.nowMs();
    let result: CallToolResult | InputRequired;
    let code: ErrorCode | null = null;
    let bytes = 0;
    const relay = parts ? relayFor(parts.upstream) : undefined;
    const done = this.upstreamCalls.start({ gateway: 'mcp', upstream: parts?.upstream ?? name, tool: name, taskId: ctx.task.id, decision });
    try {
      if (!parts || !this.pool.has(parts.upstream)) throw new CodedError('gateway.upstream_unavailable', `no upstream serves \`${name}\``);
      const answer = await this.via(ctx, session).callTool(parts.upstream, parts.tool, args, relay, more, await this.txnTokenFor(ctx, decision, parts.upstream));
      done(null);
      ({ result, bytes, code } = withObligations(answer, decision, ctx.task));
      if (code !== null) result = { isError: true, content: [{ type: 'text', text: `${code}: the result is ${bytes} bytes; the mandate allows ${ctx.task.mandate.limits.maxResultBytes}` }] };
    } catch (err) {
      // Refused requests of the upstream and a client that cancelled are not the upstream failing.
      done(err instanceof InputRefused || err instanceof StateRejected || relay?.signal.aborted ? null : err instanceof CodedError ? err.code : 'gateway.upstream_error');
      if (err instanceof InputRefused) return refusal(err.refusal as Decision, refusalText(err.refusal as Decision));
      if (err instanceof StateRejected) throw new RpcRefusal(McpErrorCode.InvalidParams, 'request.invalid', err.message);
      if (err instanceof UpstreamRpcError) {
        await this.account(ctx, decision, name, args, 'gateway.upstream_error', true, 0, startedMs);
        throw err;
      }
      const e = relay?.signal.aborted
        ? new CodedError('gateway.cancelled', 'the client cancelled the call; the upstream was told to stop')
        : err instanceof CodedError
          ? err
          : new CodedError('gateway.upstream_error', 'the upstream call failed');
      code = e.code;
      result = { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.publicMessage}` }] };
      bytes = Buffer.byteLength(JSON.stringify(result));
    }
    const isError = (result as CallToolResult).isError === true;
    await this.account(ctx, decision, name, args, code, isError, bytes, startedMs, code === null ? result : undefined);
    return { ...result, _meta: { ...(result as { _meta?: object })._meta, 'mandate/decision': decisionMeta(decision) } };
  }

  /** The transaction token of an allowed call, when its upstream takes one; the call is not made without it. */
  private async txnTokenFor(ctx: TaskContext, decision: Decision, upstream: string): Promise<string | undefined> {
    const target = this.pool.txnTokenTarget(upstream);
    if (!target) return undefined;
    try {
      return await this.ports.txnTokens.mint(ctx, decision, target);
    } catch (err) {
      throw new CodedError('internal.error', `the transaction token for \`${upstream}\` could not be minted`, {}, { cause: err });
    }
  }

  private unauthorized(req: IncomingMessage, res: ServerResponse, err: CodedError | undefined, id: string | number | null = null): void {
    const params = [`resource_metadata="${this.resourceMetadataUrl(req)}"`];
    if (err) params.unshift('error="invalid_token"', `error_description="${err.code}"`);
    res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`);
    // The way to a credential is in the answer itself: OAuth-aware clients find no authorization server to send people to.
    jsonRpcError(res, 401, id, -32001, err?.code ?? 'credential.missing', `${err?.publicMessage ?? 'present a task credential as a bearer token'}. ${HOW_TO_GET_A_CREDENTIAL}`);
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
  return match?.[1];
}

/** What an agent reads of a refusal. */
function refusalText(decision: Decision): string {
  return `${decision.outcome === 'step_up' ? 'approval required' : 'denied'} (${decision.reason.code}): ${decision.reason.message}`;
}

/** What a 2026 agent sends back with a request that was answered `input_required`. */
function continuationOf(params: Record<string, unknown>): Continuation {
  return { ...('inputResponses' in params ? { inputResponses: params.inputResponses } : {}), ...('requestState' in params ? { requestState: params.requestState } : {}) };
}

/** A tool error an LLM agent can read and re-plan from, with the decision attached for programs. */
function refusal(decision: Decision, text: string, pollUrl: string | null = null): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text }],
    _meta: { 'mandate/decision': { ...decisionMeta(decision), ...(pollUrl ? { pollUrl } : {}) } },
  };
}

/** The decision as programs read it from a result's `_meta` (agents read the text). */
function decisionMeta(decision: Decision): Record<string, unknown> {
  return { id: decision.id, outcome: decision.outcome, code: decision.reason.code, layer: decision.layer, stepUp: decision.stepUp, approvalId: decision.approvalId };
}

/** A JSON-RPC error the gateway answers with: its reason code goes in `error.data.code`. */
class RpcRefusal extends Error {
  constructor(
    readonly rpcCode: number,
    readonly reason: ErrorCode,
    readonly why: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(`${reason}: ${why}`);
    this.name = 'RpcRefusal';
  }
}

/** Denials of resources/read and prompts/get: a JSON-RPC error with the decision in `data`. */
function refusalError(decision: Decision): RpcRefusal {
  const verb = decision.outcome === 'step_up' ? 'approval required' : 'denied';
  return new RpcRefusal(jsonRpcCodeOf(decision.reason.code), decision.reason.code, `${verb} (${decision.reason.code}): ${decision.reason.message}`, { 'mandate/decision': decisionMeta(decision) });
}

/**
 * `Mcp-Method` and `Mcp-Name` (MCP 2026-07-28) let intermediaries route on
 * headers; one that also reads the body must refuse a request whose headers say
 * something else than the body, or a policy keyed on the header could be walked
 * around. Checked whenever they are present, whatever the revision.
 */
function headerMismatch(req: IncomingMessage, body: unknown, required = false): string | undefined {
  const method = req.headers['mcp-method'];
  const name = req.headers['mcp-name'];
  const m = (body ?? {}) as { method?: unknown; params?: { name?: unknown; uri?: unknown } };
  const target = m.params?.name ?? m.params?.uri;
  const named = m.method === 'tools/call' || m.method === 'prompts/get' || m.method === 'resources/read';
  if (required && method === undefined) return 'the Mcp-Method header is missing';
  if (required && named && name === undefined) return 'the Mcp-Name header is missing';
  if (typeof method === 'string' && method !== m.method) return `Mcp-Method \`${method}\`, body method \`${String(m.method)}\``;
  if (typeof name === 'string' && decodeHeaderValue(name.trim()) !== target) return `Mcp-Name \`${name}\`, body \`${String(target)}\``;
  return undefined;
}

/** What `subscriptions/listen` can carry through the gateway, and the notification each stands for. */
const LISTENABLE = ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const;
const LIST_CHANGES: Record<string, (typeof LISTENABLE)[number]> = {
  'notifications/tools/list_changed': 'toolsListChanged',
  'notifications/prompts/list_changed': 'promptsListChanged',
  'notifications/resources/list_changed': 'resourcesListChanged',
};

/** The gateway as a 2026 server describes itself. */
function discoverResult(): Record<string, unknown> {
  return { supportedVersions: [...STATELESS_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS], capabilities: STATELESS_CAPABILITIES, _meta: { [META.serverInfo]: SERVER_INFO } };
}

/** How long a client has to answer a request the gateway relayed to it (a person may be answering an elicitation). */
const ASK_TIMEOUT_MS = 10 * 60_000;

/** A JSON-RPC response from the client (to a request the gateway relayed), not a request. */
function isClientAnswer(m: unknown): m is { id: string | number; result?: unknown; error?: { code?: unknown; message?: unknown } } {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
  const r = m as Record<string, unknown>;
  return r.jsonrpc === '2.0' && r.method === undefined && (typeof r.id === 'string' || typeof r.id === 'number') && ('result' in r || 'error' in r);
}

/** What a policy sees of a request the upstream makes of the client: its shape, not its content. */
function clientRequestArgs(method: string, params: Record<string, unknown>): Record<string, unknown> {
  if (method === 'sampling/createMessage') return { maxTokens: params.maxTokens ?? null, messages: Array.isArray(params.messages) ? params.messages.length : 0 };
  if (method === 'elicitation/create') return { message: typeof params.message === 'string' ? params.message : '' };
  return {};
}

function jsonRpcResult(res: ServerResponse, id: string | number, result: unknown): void {
  const text = JSON.stringify({ jsonrpc: '2.0', id, result });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * A JSON-RPC error whose reason code travels in `error.data.code` for programs,
 * and leads the message (`<code>: <why>`) for an LLM agent reading the text.
 */
function jsonRpcError(res: ServerResponse, status: number, id: string | number | null, rpcCode: number, reason: ErrorCode, why: string, extra: Record<string, unknown> = {}): void {
  const text = JSON.stringify({ jsonrpc: '2.0', id, error: { code: rpcCode, message: `${reason}: ${why}`, data: { code: reason, ...extra } } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * The obligations of an allowed call on its result, before anyone sees it: the
 * fields `@redact` names are masked, and a result larger than the mandate's
 * `maxResultBytes` is withheld (`gateway.result_too_large`).
 */
function withObligations<T extends object>(raw: T, decision: Decision, task: Task): { result: T; bytes: number; code: ErrorCode | null } {
  const result = redactResult(raw, decision.obligations.redact).result;
  const bytes = Buffer.byteLength(JSON.stringify(result));
  const maxBytes = task.mandate.limits.maxResultBytes;
  return { result, bytes, code: maxBytes !== undefined && bytes > maxBytes ? 'gateway.result_too_large' : null };
}
