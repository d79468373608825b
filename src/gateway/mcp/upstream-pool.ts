import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  ErrorCode as McpErrorCode,
  GetPromptResultSchema,
  ListPromptsResultSchema,
  ListResourceTemplatesResultSchema,
  ListResourcesResultSchema,
  ListToolsResultSchema,
  McpError,
  ReadResourceResultSchema,
  ResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ProgressNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { HttpUpstreamClient, isSessionLost, stripPrefix, type StatelessHeaders } from './http-upstream-client.js';
import { GATEWAY_CLIENT_INFO, STATELESS_VERSION, clientEnvelope } from './stateless.js';
import { encodeHeaderValue, paramHeadersOf } from './param-headers.js';
import { CodedError, paramsFromInputSchema, within, type Clock, type Log, type ToolParams } from '../../core/index.js';
import { TXN_TOKEN_META, type SecretResolver, type TxnTokenTarget } from '../common/index.js';
import { relayedCapabilities, splitToolName, type UpstreamConfig, type UpstreamsConfig } from './upstream-config.js';
import { CLIENT_REQUESTS, type CallRelay } from './relay.js';
import { exposedName } from './tool-names.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** One live upstream session, whatever its transport. */
interface Connection {
  /** `txnToken`: the call's transaction token, carried as the transport allows (a header, or `_meta` over stdio). */
  request(method: string, params: unknown, timeoutMs: number, relay?: CallRelay, txnToken?: string): Promise<unknown>;
  close(): Promise<void>;
  pid: number | null;
  tools: Map<string, Tool> | undefined;
  /** A request of the stateless revision (2026-07-28), when the upstream speaks it (HTTP upstreams that answer `server/discover`). */
  stateless?: (method: string, params: Record<string, unknown>, headers: StatelessHeaders, timeoutMs: number, relay?: CallRelay) => Promise<unknown>;
  /** The tools it lists to a 2026 client, which may differ from the 2025 list. */
  statelessTools?: Map<string, Tool> | undefined;
}

/** A JSON-RPC error a 2026 upstream answered with (a missing client capability, an unknown method, …): the agent gets it as it is. */
export class UpstreamRpcError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
    this.name = 'UpstreamRpcError';
  }
}

/** One upstream's health as this process knows it (`UpstreamPool.status`). */
export interface UpstreamStatus {
  name: string;
  kind: 'stdio' | 'http';
  /** A process or session is up, or being started. */
  connected: boolean;
  /** No failed start or crash since it last came up. */
  healthy: boolean;
  /** Failed starts or crashes in a row. */
  failures: number;
  /** While backing off after a failure: no new start before this instant. */
  retryAtMs: number | null;
}

interface UpstreamState {
  config: UpstreamConfig;
  connection: Promise<Connection> | undefined;
  /** After a crash or a failed start, no new start before this instant. */
  retryAtMs: number;
  failures: number;
  idleTimer: NodeJS.Timeout | undefined;
  /**
   * Counts starts. A connection acts on the state only while it is the newest: a
   * stopped process that exits late must not mark its successor down (which would
   * orphan that process, never to be stopped).
   */
  generation: number;
}

export interface UpstreamPoolOptions {
  clock: Clock;
  secrets: SecretResolver;
  log?: Log;
  /** Tell the gateway a tool list changed so it can notify agents. */
  onToolsChanged?: (upstream: string) => void;
  /**
   * Anything else an upstream says outside a call that agents may need: a resource
   * list, prompt list or subscribed resource that changed. The gateway decides who hears it.
   */
  onUpstreamNotice?: (upstream: string, method: string, params: Record<string, unknown>) => void;
}

/** Upstream notifications passed on outside calls (`onUpstreamNotice`). */
const NOTICES = new Set(['notifications/resources/updated', 'notifications/resources/list_changed', 'notifications/prompts/list_changed']);

/**
 * One MCP client per upstream, shared by every task (see README.md: per-task
 * authority is enforced before a call reaches the pool, and upstream processes
 * are expensive). Stdio processes start on first use, restart after a crash
 * with exponential backoff, and stop when idle. One upstream failing never
 * touches another.
 */
export class UpstreamPool {
  private readonly states = new Map<string, UpstreamState>();
  private closed = false;
  /** Every stdio process started and not yet closed, whatever state it is in: none may outlive close(). */
  private readonly live = new Set<Connection>();
  /** Parameters derived from each listed tool's `inputSchema`; a tool list read anew (or dropped) takes its entries with it. */
  private readonly derived = new WeakMap<Tool, { params: ToolParams | undefined }>();

  constructor(
    upstreams: UpstreamsConfig,
    private readonly opts: UpstreamPoolOptions,
  ) {
    for (const [name, config] of Object.entries(upstreams)) {
      this.states.set(name, { config, connection: undefined, retryAtMs: 0, failures: 0, idleTimer: undefined, generation: 0 });
    }
  }

  has(upstream: string): boolean {
    return this.states.has(upstream);
  }

  /** The name agents see for one of this upstream's tools or prompts (`tool-names.ts`). */
  exposedName(upstream: string, tool: string): string {
    const state = this.states.get(upstream);
    return state ? exposedName(upstream, tool, state.config.expose) : `${upstream}.${tool}`;
  }

  /** The upstreams by name. */
  names(): string[] {
    return [...this.states.keys()];
  }

  /**
   * What this process knows of each upstream's health, without starting or calling
   * one: connected or not, and the failed starts or crashes since it last came up.
   * Healthy means no failure since then (an idle stdio upstream that is not running is healthy).
   */
  status(): UpstreamStatus[] {
    const nowMs = this.opts.clock.nowMs();
    return [...this.states].map(([name, s]) => ({
      name,
      kind: s.config.transport,
      connected: s.connection !== undefined,
      healthy: s.failures === 0,
      failures: s.failures,
      retryAtMs: s.retryAtMs > nowMs ? s.retryAtMs : null,
    }));
  }

  /** Where and for how long this upstream's calls carry a transaction token; undefined when it asks for none. */
  txnTokenTarget(upstream: string): TxnTokenTarget | undefined {
    const config = this.states.get(upstream)?.config;
    const t = config?.transactionToken;
    if (!config || !t) return undefined;
    return { gateway: 'mcp', upstream, audience: t.audience ?? (config.transport === 'http' ? config.url : upstream), ttlSeconds: t.ttlSeconds };
  }

  /** The upstream's own tool definitions, by upstream tool name. Errors: gateway.upstream_*. */
  async tools(upstream: string): Promise<Map<string, Tool>> {
    const { conn } = await this.use(upstream);
    if (conn.tools) return conn.tools;
    const listed = await this.call(upstream, 'tools/list', {}, ListToolsResultSchema);
    // Kept on the connection that answered (a new one if the upstream had forgotten the session).
    const current = (await this.use(upstream)).conn;
    current.tools = new Map(listed.tools.map((t) => [t.name, t as Tool]));
    return current.tools;
  }

  /**
   * The parameters of a catalog tool `<upstream>.<tool>` for the grant's checks,
   * derived from the `inputSchema` the upstream lists for it (`paramsFromInputSchema`).
   * Undefined when the name is not a tool this pool's configuration describes, or
   * when the schema leaves the argument names open. The tool list is the one the
   * connection keeps (read again after `notifications/tools/list_changed` or a
   * restart); a stdio upstream that is not running is started. Waits at most the
   * upstream's `timeoutMs`. Errors: gateway.upstream_* and gateway.secret_unavailable;
   * gateway.upstream_error when the upstream does not list the tool.
   */
  async paramsOf(catalogName: string): Promise<ToolParams | undefined> {
    const parts = splitToolName(catalogName);
    const state = parts && this.states.get(parts.upstream);
    if (!parts || !state || !Object.hasOwn(state.config.tools, parts.tool)) return undefined;
    const timeoutMs = state.config.timeoutMs;
    // Past the wait the listing goes on, and the next grant finds its result kept.
    const listed = await within(this.tools(parts.upstream), timeoutMs, () => new CodedError('gateway.upstream_timeout', `upstream \`${parts.upstream}\` did not list its tools within ${timeoutMs} ms`));
    const tool = listed.get(parts.tool);
    if (!tool) throw new CodedError('gateway.upstream_error', `upstream \`${parts.upstream}\` does not list the tool \`${parts.tool}\``);
    let entry = this.derived.get(tool);
    if (!entry) {
      entry = { params: paramsFromInputSchema(tool.inputSchema) };
      this.derived.set(tool, entry);
    }
    return entry.params;
  }

  /**
   * Calls one tool; what the upstream sends about the call while it runs goes to
   * `relay`. Errors: gateway.upstream_unavailable, gateway.upstream_timeout,
   * gateway.upstream_error, gateway.upstream_protocol_error.
   */
  async callTool(upstream: string, tool: string, args: Record<string, unknown>, relay?: CallRelay, txnToken?: string): Promise<CallToolResult> {
    const params = relay?.progressToken === undefined ? { name: tool, arguments: args } : { name: tool, arguments: args, _meta: { progressToken: relay.progressToken } };
    // Hot path: only the shape the gateway relies on is checked, not the whole result schema.
    const result = await this.request(upstream, 'tools/call', params, relay, txnToken);
    if (result === null || typeof result !== 'object' || !Array.isArray((result as { content?: unknown }).content)) {
      throw new CodedError('gateway.upstream_error', `upstream \`${upstream}\` answered without a content list`);
    }
    return result as CallToolResult;
  }

  /** The requests of the client this upstream may make (`relayedCapabilities`): what the gateway declares on its agents' behalf. */
  clientCapabilities(upstream: string): Record<string, unknown> {
    return relayedCapabilities(this.state(upstream).config);
  }

  /** Whether the upstream speaks the stateless revision (2026-07-28); starts it if needed. */
  async speaksStateless(upstream: string): Promise<boolean> {
    return (await this.use(upstream)).conn.stateless !== undefined;
  }

  /**
   * One 2026 request, `params` as the upstream should see them (its own names, the
   * envelope in `_meta`): the result as the upstream gave it, `input_required`
   * included. The headers the revision wants are derived here from the body:
   * `Mcp-Method`, `Mcp-Name`, and `Mcp-Param-*` for the tool's `x-mcp-header`
   * arguments. A JSON-RPC error of the upstream is an UpstreamRpcError; the rest
   * map to gateway.upstream_*.
   */
  async statelessRequest(upstream: string, method: string, params: Record<string, unknown>, relay?: CallRelay, txnToken?: string): Promise<unknown> {
    const { state, conn } = await this.use(upstream);
    if (!conn.stateless) throw new CodedError('gateway.upstream_error', `upstream \`${upstream}\` does not speak MCP ${STATELESS_VERSION}`);
    const tools = method === 'tools/call' ? await this.statelessTools(upstream).catch(() => undefined) : undefined;
    const headers = { ...statelessHeaders(method, params, tools?.get(String(params.name))), ...txnHeader(state.config, txnToken) };
    try {
      return await this.guard(upstream, state, () => conn.stateless!(method, params, headers, state.config.timeoutMs, relay));
    } catch (err) {
      const mcp = err instanceof CodedError && err.cause instanceof McpError ? err.cause : undefined;
      if (mcp && mcp.code !== McpErrorCode.InternalError) throw new UpstreamRpcError(mcp.code, stripPrefix(mcp), mcp.data);
      throw err;
    }
  }

  /** The tools a 2026 upstream lists to a 2026 client, kept until its list changes. */
  async statelessTools(upstream: string): Promise<Map<string, Tool>> {
    const { conn } = await this.use(upstream);
    if (conn.statelessTools) return conn.statelessTools;
    // Asked on nobody's behalf: no client capabilities.
    const listed = ListToolsResultSchema.safeParse(await this.statelessRequest(upstream, 'tools/list', { _meta: clientEnvelope({}) }));
    if (!listed.success) throw new CodedError('gateway.upstream_error', `upstream \`${upstream}\` answered \`tools/list\` with an invalid result`);
    conn.statelessTools = new Map(listed.data.tools.map((t) => [t.name, t as Tool]));
    return conn.statelessTools;
  }

  /** `completion/complete`, `resources/subscribe`, `resources/unsubscribe`: passed on as they are, answers parsed as results. */
  async forward(upstream: string, method: 'completion/complete' | 'resources/subscribe' | 'resources/unsubscribe', params: Record<string, unknown>): Promise<Record<string, unknown>> {
    return (await this.call(upstream, method, params, ResultSchema)) as Record<string, unknown>;
  }

  /** Resources and templates the upstream lists (first page). Errors: gateway.upstream_*. */
  async resources(upstream: string): Promise<{ resources: Resource[]; templates: ResourceTemplate[] }> {
    const resources = await this.call(upstream, 'resources/list', {}, ListResourcesResultSchema);
    const templates = await this.call(upstream, 'resources/templates/list', {}, ListResourceTemplatesResultSchema).catch(() => ({ resourceTemplates: [] }));
    return { resources: resources.resources as Resource[], templates: templates.resourceTemplates as ResourceTemplate[] };
  }

  async readResource(upstream: string, uri: string, txnToken?: string): Promise<ReadResourceResult> {
    return (await this.call(upstream, 'resources/read', { uri }, ReadResourceResultSchema, txnToken)) as ReadResourceResult;
  }

  async prompts(upstream: string): Promise<Prompt[]> {
    return (await this.call(upstream, 'prompts/list', {}, ListPromptsResultSchema)).prompts as Prompt[];
  }

  async getPrompt(upstream: string, name: string, args: Record<string, string>, txnToken?: string): Promise<GetPromptResult> {
    return (await this.call(upstream, 'prompts/get', { name, arguments: args }, GetPromptResultSchema, txnToken)) as GetPromptResult;
  }

  private async use(upstream: string): Promise<{ state: UpstreamState; conn: Connection }> {
    const state = this.state(upstream);
    const conn = await this.connect(upstream, state);
    this.touch(upstream, state);
    return { state, conn };
  }

  /** The process id of a running stdio upstream (tests and operators). */
  async pid(upstream: string): Promise<number | null> {
    const conn = await this.state(upstream).connection?.catch(() => undefined);
    return conn?.pid ?? null;
  }

  /**
   * One request to an upstream, errors mapped to gateway codes. An HTTP upstream
   * that no longer knows the session (it restarted) did nothing with the request:
   * it is sent once more, on a new session.
   */
  private async request(upstream: string, method: string, params: unknown, relay?: CallRelay, txnToken?: string): Promise<unknown> {
    const { state, conn } = await this.use(upstream);
    return this.guard(upstream, state, async () => {
      try {
        return await conn.request(method, params, state.config.timeoutMs, relay, txnToken);
      } catch (err) {
        if (!isSessionLost(err)) throw err;
        // The same call, so the same token: it is still within its lifetime.
        const again = await this.use(upstream);
        return again.conn.request(method, params, state.config.timeoutMs, relay, txnToken);
      }
    });
  }

  /** A request whose answer is parsed with its schema: upstream answers are untrusted input. */
  private async call<S extends z.ZodType>(upstream: string, method: string, params: unknown, schema: S, txnToken?: string): Promise<z.output<S>> {
    const raw = await this.request(upstream, method, params, undefined, txnToken);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new CodedError('gateway.upstream_error', `upstream \`${upstream}\` answered \`${method}\` with an invalid result`);
    return parsed.data;
  }

  async close(): Promise<void> {
    // A call or notification still in flight must not start a process that nothing will ever stop.
    this.closed = true;
    await Promise.all([...this.states.keys()].map((name) => this.stop(name)));
    await Promise.all([...this.live].map((conn) => conn.close().catch(() => undefined)));
  }

  private state(upstream: string): UpstreamState {
    const state = this.states.get(upstream);
    if (!state) throw new CodedError('gateway.upstream_unavailable', `no upstream \`${upstream}\``);
    return state;
  }

  private connect(name: string, state: UpstreamState): Promise<Connection> {
    if (this.closed) return Promise.reject(new CodedError('gateway.upstream_unavailable', 'the gateway is shutting down'));
    if (state.connection) return state.connection;
    const now = this.opts.clock.nowMs();
    if (now < state.retryAtMs) {
      return Promise.reject(new CodedError('gateway.upstream_unavailable', `upstream \`${name}\` is restarting; retry in ${Math.ceil((state.retryAtMs - now) / 1000)} s`));
    }
    const generation = ++state.generation;
    const pending = this.start(name, state, generation);
    state.connection = pending;
    pending.then(
      () => {
        state.failures = 0;
      },
      (err: unknown) => {
        this.opts.log?.error(`upstream ${name} failed to start: ${(err as Error).message}`);
        if (state.generation === generation) this.markDown(state);
      },
    );
    return pending.catch((err: unknown) => {
      if (err instanceof CodedError && err.code === 'gateway.upstream_protocol_error') throw err;
      throw new CodedError('gateway.upstream_unavailable', `upstream \`${name}\` could not be started`, {}, { cause: err });
    });
  }

  private async start(name: string, state: UpstreamState, generation: number): Promise<Connection> {
    const config = state.config;
    // Secrets are resolved at each start, so a rotated secret reaches the upstream on its next start.
    const { values, secrets } = await this.opts.secrets.resolveAll(config.transport === 'stdio' ? config.env : config.headers, `upstream:${name}`);
    const conn = config.transport === 'stdio' ? await this.startStdio(name, state, generation, values, secrets.map((s) => s.value)) : await this.startHttp(name, state, generation, values);
    this.touch(name, state);
    return conn;
  }

  /** Stdio: the SDK runs the process and frames messages; results are read without the SDK's full validation. */
  private async startStdio(name: string, state: UpstreamState, generation: number, env: Record<string, string>, secretValues: string[]): Promise<Connection> {
    const config = state.config as Extract<UpstreamConfig, { transport: 'stdio' }>;
    const transport = new StdioClientTransport({ command: config.command, args: config.args, env, cwd: config.cwd, stderr: 'pipe' });
    drainStderr(transport, name, secretValues, this.opts.log);
    const capabilities = relayedCapabilities(config);
    const client = new Client(GATEWAY_CLIENT_INFO, { capabilities: capabilities as never });
    // Over stdio nothing ties what the upstream sends to the call it is about: it goes to the call in flight when
    // there is exactly one, and is refused (a request) or dropped (a notification) when there are several.
    const relays = new Set<CallRelay>();
    const onlyRelay = () => (relays.size === 1 ? [...relays][0] : undefined);
    const byToken = new Map<string, CallRelay>();
    let progressTokens = 0;
    // In place of the SDK's own progress handling, which drops the last notification when it arrives with the result.
    client.setNotificationHandler(ProgressNotificationSchema, async (n) => {
      const relay = byToken.get(String(n.params.progressToken));
      relay?.notify('notifications/progress', { ...n.params, progressToken: relay.progressToken });
    });
    client.fallbackNotificationHandler = async (n) => {
      if (n.method === 'notifications/message') onlyRelay()?.notify(n.method, (n.params ?? {}) as Record<string, unknown>);
      else if (NOTICES.has(n.method)) this.opts.onUpstreamNotice?.(name, n.method, (n.params ?? {}) as Record<string, unknown>);
    };
    for (const [method, feature] of Object.entries(CLIENT_REQUESTS)) {
      // The SDK accepts a handler only for a capability the client declares; an undeclared one the upstream must not ask for.
      if (!(feature in capabilities)) continue;
      client.setRequestHandler(RequestSchemaOf(method), async (r) => {
        const relay = onlyRelay();
        if (!relay) throw new McpError(McpErrorCode.InvalidRequest, `the gateway cannot tell which of ${relays.size} calls in flight \`${method}\` belongs to`);
        return (await relay.ask(method, (r.params ?? {}) as Record<string, unknown>)) as never;
      });
    }
    // A line on stdout that is not JSON-RPC cannot be matched to the request it answered, so every request in flight fails
    // at once (rather than at its timeout), and the process is stopped: the crash path below restarts it with backoff.
    const inFlight = new Set<(err: unknown) => void>();
    let broken: CodedError | undefined;
    const tracked = <T>(work: () => Promise<T>): Promise<T> => {
      if (broken) return Promise.reject(broken);
      return new Promise<T>((resolve, reject) => {
        inFlight.add(reject);
        work()
          .then(resolve, reject)
          .finally(() => inFlight.delete(reject));
      });
    };
    // Set before connect: the SDK keeps this handler and calls it ahead of its own.
    transport.onerror = (err) => {
      if (broken || !isUnparsableMessage(err)) return;
      broken = new CodedError('gateway.upstream_protocol_error', `upstream \`${name}\` broke the MCP protocol: it wrote a line that is not a JSON-RPC message`, {}, { cause: err });
      this.opts.log?.error(`upstream ${name} broke the MCP protocol (a line on stdout is not JSON-RPC); stopping it`);
      for (const fail of inFlight) fail(broken);
      inFlight.clear();
      void client.close().catch(() => undefined);
    };
    let closedByUs = false;
    const conn: Connection = {
      request: (method, rawParams, timeoutMs, relay, txnToken) => {
        const params = txnToken === undefined ? rawParams : withMeta(rawParams, { [TXN_TOKEN_META]: txnToken });
        if (!relay) return tracked(() => client.request({ method, params: params as Record<string, unknown> }, ResultSchema, { timeout: timeoutMs }));
        // Progress goes by a token of the gateway's own: agents on this shared connection may have chosen the same one.
        const token = relay.progressToken === undefined ? undefined : `mandate-${++progressTokens}`;
        const sent = token === undefined ? params : withMeta(params, { progressToken: token });
        if (token !== undefined) byToken.set(token, relay);
        relays.add(relay);
        return tracked(() => client.request({ method, params: sent as Record<string, unknown> }, ResultSchema, { timeout: timeoutMs, signal: relay.signal })).finally(() => {
          relays.delete(relay);
          if (token !== undefined) byToken.delete(token);
        });
      },
      close: async () => {
        closedByUs = true;
        this.live.delete(conn);
        await client.close();
        await transport.close();
      },
      pid: null,
      tools: undefined,
    };
    this.live.add(conn);
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => this.toolsChanged(name, conn));
    client.onclose = () => {
      // A close we did not ask for is a crash: back off before the next start.
      if (!closedByUs && state.generation === generation && state.connection) {
        this.opts.log?.warn(`upstream ${name} exited`);
        this.markDown(state);
      }
    };
    try {
      await tracked(() => client.connect(transport, { timeout: config.timeoutMs }));
    } catch (err) {
      // A start that failed (or timed out) must not leave its process behind.
      closedByUs = true;
      await conn.close().catch(() => undefined);
      throw err;
    }
    conn.pid = transport.pid;
    return conn;
  }

  /** Streamable HTTP: the lean client, so the hot path skips fetch and web streams. */
  private async startHttp(name: string, state: UpstreamState, generation: number, headers: Record<string, string>): Promise<Connection> {
    const config = state.config as Extract<UpstreamConfig, { transport: 'http' }>;
    const client = new HttpUpstreamClient(config.url, headers, relayedCapabilities(config));
    let closedByUs = false;
    const close = () => {
      closedByUs = true;
      return client.close();
    };
    const conn: Connection = { request: (m, p, t, relay, txnToken) => client.request(m, p, t, relay, undefined, txnHeader(config, txnToken)), close, pid: null, tools: undefined };
    const stateless: Connection['stateless'] = (m, p, headers, t, relay) => client.request(m, p, t, relay, headers);
    client.onNotification = (m) => {
      if (m.method === 'notifications/tools/list_changed') this.toolsChanged(name, conn);
      else if (m.method && NOTICES.has(m.method)) this.opts.onUpstreamNotice?.(name, m.method, (m.params ?? {}) as Record<string, unknown>);
    };
    client.onSessionLost = () => {
      if (closedByUs || state.generation !== generation || !state.connection) return;
      this.markDown(state, false);
      void close().catch(() => undefined); // its event stream and keep-alive sockets go with it
    };
    try {
      await client.connect(config.timeoutMs);
      if (await client.discover(config.timeoutMs)) {
        conn.stateless = stateless;
        // A 2026 upstream says what changed on a listen stream; its 2025 sessions may hear nothing of it.
        client.listenStateless(config.timeoutMs);
      }
    } catch (err) {
      await close().catch(() => undefined); // its keep-alive sockets must not outlive a failed start
      throw err;
    }
    return conn;
  }

  private toolsChanged(name: string, conn: Connection): void {
    conn.tools = undefined;
    conn.statelessTools = undefined;
    this.opts.onToolsChanged?.(name);
  }

  private markDown(state: UpstreamState, backOff = true): void {
    state.connection = undefined;
    if (!backOff) return;
    state.failures += 1;
    state.retryAtMs = this.opts.clock.nowMs() + Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (state.failures - 1));
    if (state.idleTimer) clearTimeout(state.idleTimer);
  }

  private touch(name: string, state: UpstreamState): void {
    if (state.config.transport !== 'stdio') return;
    if (state.idleTimer) clearTimeout(state.idleTimer);
    state.idleTimer = setTimeout(() => void this.stop(name), state.config.idleStopMs);
    state.idleTimer.unref();
  }

  private async stop(name: string): Promise<void> {
    const state = this.states.get(name);
    if (!state?.connection) return;
    if (state.idleTimer) clearTimeout(state.idleTimer);
    const pending = state.connection;
    state.connection = undefined;
    const conn = await pending.catch(() => undefined);
    await conn?.close().catch(() => undefined);
  }

  /** Maps whatever the upstream does wrong to a gateway code; never lets a raw error escape. */
  private async guard<T>(name: string, state: UpstreamState, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof CodedError) throw err;
      if (err instanceof McpError && err.code === McpErrorCode.RequestTimeout) {
        throw new CodedError('gateway.upstream_timeout', `upstream \`${name}\` did not answer within ${state.config.timeoutMs} ms`);
      }
      if (err instanceof McpError && err.code === McpErrorCode.ConnectionClosed) {
        throw new CodedError('gateway.upstream_unavailable', `upstream \`${name}\` closed the connection`);
      }
      throw new CodedError('gateway.upstream_error', `upstream \`${name}\` failed the call`, {}, { cause: err });
    }
  }
}

/** `params` with these entries added to its `_meta`. */
function withMeta(params: unknown, entries: Record<string, unknown>): Record<string, unknown> {
  const p = (params ?? {}) as Record<string, unknown> & { _meta?: object };
  return { ...p, _meta: { ...(p._meta ?? {}), ...entries } };
}

/** The header that carries a call's transaction token to an HTTP upstream. */
function txnHeader(config: UpstreamConfig, txnToken: string | undefined): Record<string, string> | undefined {
  return txnToken === undefined || !config.transactionToken ? undefined : { [config.transactionToken.header]: txnToken };
}

/** The SDK's schema for a server-to-client request method the gateway relays. */
function RequestSchemaOf(method: string): typeof CreateMessageRequestSchema | typeof ElicitRequestSchema | typeof ListRootsRequestSchema {
  if (method === 'sampling/createMessage') return CreateMessageRequestSchema;
  if (method === 'elicitation/create') return ElicitRequestSchema;
  return ListRootsRequestSchema;
}

/** What the SDK's stdio transport reports for a line it cannot read: not JSON, or JSON that is not a JSON-RPC message. */
function isUnparsableMessage(err: unknown): boolean {
  return err instanceof SyntaxError || (err instanceof Error && err.name === 'ZodError');
}

/**
 * An unread stderr pipe fills and blocks the child, so it is always drained;
 * lines go to the log with every injected secret value masked.
 */
function drainStderr(transport: StdioClientTransport, name: string, secretValues: string[], log: Log | undefined): void {
  const stream = transport.stderr;
  if (!stream) return;
  let pending = '';
  stream.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    if (pending.length > 8192) pending = pending.slice(-8192);
    for (const line of lines) if (line.trim()) log?.info(`upstream ${name}: ${redact(line, secretValues)}`);
  });
}

export function redact(text: string, secretValues: readonly string[]): string {
  let out = text;
  for (const value of secretValues) if (value.length >= 4) out = out.split(value).join('[secret]');
  return out;
}


/**
 * The headers of a 2026 request, from its body: `Mcp-Method`; `Mcp-Name` (the tool
 * or prompt, or the resource URI); and an `Mcp-Param-<Name>` for each argument the
 * tool's input schema marks `x-mcp-header`, so intermediaries may route on them.
 */
export function statelessHeaders(method: string, params: Record<string, unknown>, tool: Tool | undefined): StatelessHeaders {
  const name = method === 'resources/read' ? params.uri : method === 'tools/call' || method === 'prompts/get' ? params.name : undefined;
  return {
    'mcp-method': method,
    ...(typeof name === 'string' ? { 'mcp-name': encodeHeaderValue(name) } : {}),
    ...(tool ? paramHeadersOf(tool.inputSchema, (params.arguments ?? {}) as Record<string, unknown>) : {}),
  };
}
