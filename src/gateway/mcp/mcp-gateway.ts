import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  ListToolsRequestSchema,
  isInitializeRequest,
  type CallToolResult,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { AuditSink } from '../../audit/model.js';
import { CodedError, type Clock, type TaskId, type ToolCatalog } from '../../core/index.js';
import type { Decision, DecisionRequest } from '../../decision/index.js';
import type { Task } from '../../mandate/index.js';
import { promptsAction, resourcesAction, splitToolName } from './upstream-config.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What the gateway needs from the control plane; it decides nothing itself. */
export interface McpGatewayPorts {
  /** Verifies the bearer credential and checks revocation. Errors: credential.*. */
  authenticate(token: string): Promise<Task>;
  decide(req: DecisionRequest): Promise<Decision>;
  /** Declared tools of the task that the ceiling does not refuse outright. */
  visibleTools(task: Task): Promise<string[]>;
  tools: ToolCatalog;
  audit: AuditSink;
  clock: Clock;
}

interface Session {
  taskId: TaskId;
  transport: StreamableHTTPServerTransport;
  server: Server;
}

const SESSION_HEADER = 'mcp-session-id';

/**
 * The MCP enforcement point: an MCP server over Streamable HTTP to agents,
 * authenticated by the task credential, and an MCP client to the upstreams.
 * Every `tools/call` is decided before it can reach an upstream.
 */
export class McpGateway {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ports: McpGatewayPorts,
    private readonly pool: UpstreamPool,
    /** Where agents find the protected-resource metadata (RFC 9728), as seen from this request. */
    private readonly resourceMetadataUrl: (req: IncomingMessage) => string,
  ) {}

  /** Handles one HTTP request to `/mcp` (POST, GET or DELETE). Never throws. */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    try {
      const token = bearer(req);
      if (!token) return this.unauthorized(req, res, undefined);
      let task: Task;
      try {
        task = await this.ports.authenticate(token);
      } catch (err) {
        // Refused on the very next request once revoked or expired, even mid-session.
        return this.unauthorized(req, res, err instanceof CodedError ? err : new CodedError('credential.invalid', 'the task credential is invalid'));
      }
      (req as IncomingMessage & { auth?: AuthInfo }).auth = { token, clientId: task.id, scopes: [], expiresAt: Math.floor(task.expiresAtMs / 1000) };

      const sessionId = req.headers[SESSION_HEADER];
      let session: Session | undefined;
      if (typeof sessionId === 'string') {
        session = this.sessions.get(sessionId);
        if (!session) return jsonRpcError(res, 404, -32001, 'gateway.session_invalid: unknown or closed MCP session; initialize a new one');
        if (session.taskId !== task.id) return jsonRpcError(res, 403, -32001, 'gateway.session_invalid: this MCP session belongs to another task');
      } else if (req.method === 'POST' && isInitializeRequest(body)) {
        session = await this.openSession(task);
      } else {
        return jsonRpcError(res, 400, -32600, 'request.invalid: send `initialize` first, or the `mcp-session-id` header of an open session');
      }
      await session.transport.handleRequest(req, res, body);
    } catch {
      if (!res.headersSent) jsonRpcError(res, 500, -32603, 'internal.error: the gateway failed to handle the request');
      else res.end();
    }
  }

  /** Tells every open session that tools changed upstream. */
  notifyToolsChanged(): void {
    for (const s of this.sessions.values()) void s.server.sendToolListChanged().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.server.close().catch(() => undefined)));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private async openSession(task: Task): Promise<Session> {
    const server = new Server({ name: 'mandate-gateway', version: '0.1.0' }, { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {} } });
    // Which upstream listed a resource URI, so a read goes back to it.
    const resourceOwners = new Map<string, string>();
    let session: Session | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session = { taskId: task.id, transport, server };
        this.sessions.set(id, session);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    server.setRequestHandler(ListToolsRequestSchema, async (_req, extra) => ({ tools: await this.listTools(await this.ports.authenticate(tokenOf(extra.authInfo))) }));
    server.setRequestHandler(CallToolRequestSchema, async (req, extra) => this.callTool(tokenOf(extra.authInfo), req.params.name, req.params.arguments ?? {}));
    server.setRequestHandler(ListResourcesRequestSchema, async (_req, extra) => {
      const resources: Resource[] = [];
      for (const upstream of await this.upstreamsWith(tokenOf(extra.authInfo), resourcesAction)) {
        const listed = await this.pool.resources(upstream).catch(() => undefined);
        for (const r of listed?.resources ?? []) {
          resourceOwners.set(r.uri, upstream);
          resources.push(r);
        }
      }
      return { resources };
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_req, extra) => {
      const resourceTemplates: ResourceTemplate[] = [];
      for (const upstream of await this.upstreamsWith(tokenOf(extra.authInfo), resourcesAction)) {
        resourceTemplates.push(...((await this.pool.resources(upstream).catch(() => undefined))?.templates ?? []));
      }
      return { resourceTemplates };
    });
    server.setRequestHandler(ReadResourceRequestSchema, async (req, extra) => {
      const token = tokenOf(extra.authInfo);
      const uri = req.params.uri;
      const candidates = await this.upstreamsWith(token, resourcesAction);
      const upstream = resourceOwners.get(uri) ?? (candidates.length === 1 ? candidates[0] : undefined);
      // Still decided when the owner is unknown: the decision names the refusal.
      const decision = await this.ports.decide({ credential: token, tool: resourcesAction(upstream ?? '_'), args: { uri } });
      if (decision.outcome !== 'allow') throw refusalError(decision);
      const task = await this.ports.authenticate(token);
      return this.relay(decision, task, resourcesAction(upstream!), () => this.pool.readResource(upstream!, uri));
    });
    server.setRequestHandler(ListPromptsRequestSchema, async (_req, extra) => {
      const prompts: Prompt[] = [];
      for (const upstream of await this.upstreamsWith(tokenOf(extra.authInfo), promptsAction)) {
        for (const p of (await this.pool.prompts(upstream).catch(() => undefined)) ?? []) prompts.push({ ...p, name: `${upstream}.${p.name}` });
      }
      return { prompts };
    });
    server.setRequestHandler(GetPromptRequestSchema, async (req, extra) => {
      const token = tokenOf(extra.authInfo);
      const parts = splitToolName(req.params.name);
      const args = req.params.arguments ?? {};
      const decision = await this.ports.decide({ credential: token, tool: promptsAction(parts?.upstream ?? '_'), args: { ...args, name: parts?.tool ?? req.params.name } });
      if (decision.outcome !== 'allow' || !parts) throw refusalError(decision);
      const task = await this.ports.authenticate(token);
      return this.relay(decision, task, promptsAction(parts.upstream), () => this.pool.getPrompt(parts.upstream, parts.tool, args));
    });
    await server.connect(transport);
    return { taskId: task.id, transport, server };
  }

  /** Only what the task's mandate and the ceiling could allow: an agent does not see what it cannot use. */
  private async listTools(task: Task): Promise<Tool[]> {
    const out: Tool[] = [];
    for (const name of await this.ports.visibleTools(task)) {
      const parts = splitToolName(name);
      if (!parts || !this.pool.has(parts.upstream)) continue;
      let upstreamTools: Map<string, Tool>;
      try {
        upstreamTools = await this.pool.tools(parts.upstream);
      } catch {
        continue; // an upstream that is down hides its tools; it does not fail the list
      }
      const def = upstreamTools.get(parts.tool);
      if (def) out.push({ ...def, name, description: def.description ?? this.ports.tools.get(name)?.description });
    }
    return out;
  }

  private async callTool(token: string, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const decision = await this.ports.decide({ credential: token, tool: name, args });
    switch (decision.outcome) {
      case 'deny':
        return refusal(decision, `denied (${decision.reason.code}): ${decision.reason.message}`);
      case 'step_up':
        return refusal(decision, `approval required (${decision.reason.code}): ${decision.reason.message}`);
      case 'allow':
        return this.forward(decision, await this.ports.authenticate(token), name, args);
    }
  }

  /** Upstreams whose resources (or prompts) action the task may use. */
  private async upstreamsWith(token: string, action: (upstream: string) => string): Promise<string[]> {
    const visible = new Set(await this.ports.visibleTools(await this.ports.authenticate(token)));
    return [...visible].flatMap((name) => {
      const parts = splitToolName(name);
      return parts && this.pool.has(parts.upstream) && action(parts.upstream) === name ? [parts.upstream] : [];
    });
  }

  /** Forwards an allowed resources/read or prompts/get; failures are protocol errors, results are accounted like tool results. */
  private async relay<T extends object>(decision: Decision, task: Task, action: string, call: () => Promise<T>): Promise<T> {
    const startedMs = this.ports.clock.nowMs();
    let result: T | undefined;
    let code: string | null = null;
    try {
      result = await call();
    } catch (err) {
      code = err instanceof CodedError ? err.code : 'gateway.upstream_error';
    }
    const bytes = result ? Buffer.byteLength(JSON.stringify(result)) : 0;
    const maxBytes = task.mandate.limits.maxResultBytes;
    if (code === null && maxBytes !== undefined && bytes > maxBytes) code = 'gateway.result_too_large';
    await this.recordResult(decision, action, code === null, code, bytes, startedMs);
    if (code !== null || !result) throw new McpError(-32002, `${code}: the upstream result is not available`, { code });
    return result;
  }

  /** Status, size and labels of every result, for the audit trail and the monitor; never the content. */
  private async recordResult(decision: Decision, action: string, ok: boolean, code: string | null, bytes: number, startedMs: number): Promise<void> {
    await this.ports.audit.record({
      type: 'tool.result',
      taskId: decision.taskId,
      agentId: decision.agentId,
      data: { decisionId: decision.id, tool: action, status: ok ? 'ok' : 'error', code, bytes, labels: this.ports.tools.get(action)?.labels ?? [], durationMs: this.ports.clock.nowMs() - startedMs },
    });
  }

  private async forward(decision: Decision, task: Task, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const parts = splitToolName(name);
    const startedMs = this.ports.clock.nowMs();
    let result: CallToolResult;
    let code: string | null = null;
    try {
      if (!parts || !this.pool.has(parts.upstream)) throw new CodedError('gateway.upstream_unavailable', `no upstream serves \`${name}\``);
      result = await this.pool.callTool(parts.upstream, parts.tool, args);
    } catch (err) {
      const e = err instanceof CodedError ? err : new CodedError('gateway.upstream_error', 'the upstream call failed');
      code = e.code;
      result = { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.publicMessage}` }] };
    }
    const bytes = Buffer.byteLength(JSON.stringify(result));
    const maxBytes = task.mandate.limits.maxResultBytes;
    if (code === null && maxBytes !== undefined && bytes > maxBytes) {
      code = 'gateway.result_too_large';
      result = { isError: true, content: [{ type: 'text', text: `gateway.result_too_large: the result is ${bytes} bytes; the mandate allows ${maxBytes}` }] };
    }
    await this.recordResult(decision, name, code === null && !result.isError, code, bytes, startedMs);
    return { ...result, _meta: { ...result._meta, 'mandate/decision': decisionMeta(decision) } };
  }

  private unauthorized(req: IncomingMessage, res: ServerResponse, err: CodedError | undefined): void {
    const params = [`resource_metadata="${this.resourceMetadataUrl(req)}"`];
    if (err) params.unshift('error="invalid_token"', `error_description="${err.code}"`);
    res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`);
    jsonRpcError(res, 401, -32001, err ? `${err.code}: ${err.publicMessage}` : 'credential.missing: present the task credential as a bearer token');
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
  return match?.[1];
}

function tokenOf(auth: AuthInfo | undefined): string {
  if (!auth?.token) throw new CodedError('credential.missing', 'no task credential on this request');
  return auth.token;
}

/** A tool error an LLM agent can read and re-plan from, with the decision attached for programs. */
function refusal(decision: Decision, text: string): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text }],
    _meta: { 'mandate/decision': decisionMeta(decision) },
  };
}

/** The decision as programs read it from a result's `_meta` (agents read the text). */
function decisionMeta(decision: Decision): Record<string, unknown> {
  return { id: decision.id, outcome: decision.outcome, code: decision.reason.code, layer: decision.layer, stepUp: decision.stepUp };
}

/** Denials of resources/read and prompts/get: a JSON-RPC error with the decision in `data`. */
function refusalError(decision: Decision): McpError {
  const verb = decision.outcome === 'step_up' ? 'approval required' : 'denied';
  return new McpError(-32003, `${verb} (${decision.reason.code}): ${decision.reason.message}`, { 'mandate/decision': decisionMeta(decision) });
}

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
