import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ErrorCode as McpErrorCode,
  McpError,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { CodedError, type Clock } from '../../core/index.js';
import type { ValueOrSecret } from '../../secrets/index.js';
import type { UpstreamConfig, UpstreamsConfig } from './upstream-config.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

interface Connection {
  client: Client;
  transport: StdioClientTransport | StreamableHTTPClientTransport;
  tools: Map<string, Tool> | undefined;
}

interface UpstreamState {
  config: UpstreamConfig;
  connection: Promise<Connection> | undefined;
  /** After a crash or a failed start, no new start before this instant. */
  retryAtMs: number;
  failures: number;
  idleTimer: NodeJS.Timeout | undefined;
  closing: boolean;
}

/** Resolves literal-or-secret values for an upstream; the values never leave the pool. */
export interface SecretResolver {
  resolveAll(values: Record<string, ValueOrSecret>, usedBy: string): Promise<{ values: Record<string, string>; secrets: { value: string }[] }>;
}

export interface UpstreamPoolOptions {
  clock: Clock;
  secrets: SecretResolver;
  log?: (line: string) => void;
  /** Tell the gateway a tool list changed so it can notify agents. */
  onToolsChanged?: (upstream: string) => void;
}

/**
 * One MCP client per upstream, shared by every task (see README.md: per-task
 * authority is enforced before a call reaches the pool, and upstream processes
 * are expensive). Stdio processes start on first use, restart after a crash
 * with exponential backoff, and stop when idle. One upstream failing never
 * touches another.
 */
export class UpstreamPool {
  private readonly states = new Map<string, UpstreamState>();

  constructor(
    upstreams: UpstreamsConfig,
    private readonly opts: UpstreamPoolOptions,
  ) {
    for (const [name, config] of Object.entries(upstreams)) {
      this.states.set(name, { config, connection: undefined, retryAtMs: 0, failures: 0, idleTimer: undefined, closing: false });
    }
  }

  has(upstream: string): boolean {
    return this.states.has(upstream);
  }

  /** The upstream's own tool definitions, by upstream tool name. Errors: gateway.upstream_*. */
  async tools(upstream: string): Promise<Map<string, Tool>> {
    const state = this.state(upstream);
    const conn = await this.connect(upstream, state);
    if (!conn.tools) {
      const listed = await this.guard(upstream, state, () => conn.client.listTools(undefined, { timeout: state.config.timeoutMs }));
      conn.tools = new Map(listed.tools.map((t) => [t.name, t]));
    }
    return conn.tools;
  }

  /** Calls one tool. Errors: gateway.upstream_unavailable, gateway.upstream_timeout, gateway.upstream_error. */
  async callTool(upstream: string, tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const { state, conn } = await this.use(upstream);
    const result = await this.guard(upstream, state, () => conn.client.callTool({ name: tool, arguments: args }, undefined, { timeout: state.config.timeoutMs }));
    if (!Array.isArray((result as { content?: unknown }).content)) {
      throw new CodedError('gateway.upstream_error', `upstream \`${upstream}\` answered without a content list`);
    }
    return result as CallToolResult;
  }

  /** Resources and templates the upstream lists (first page). Errors: gateway.upstream_*. */
  async resources(upstream: string): Promise<{ resources: Resource[]; templates: ResourceTemplate[] }> {
    const { state, conn } = await this.use(upstream);
    const opts = { timeout: state.config.timeoutMs };
    const resources = await this.guard(upstream, state, () => conn.client.listResources(undefined, opts));
    const templates = await this.guard(upstream, state, () => conn.client.listResourceTemplates(undefined, opts)).catch(() => ({ resourceTemplates: [] }));
    return { resources: resources.resources, templates: templates.resourceTemplates };
  }

  async readResource(upstream: string, uri: string): Promise<ReadResourceResult> {
    const { state, conn } = await this.use(upstream);
    return this.guard(upstream, state, () => conn.client.readResource({ uri }, { timeout: state.config.timeoutMs }));
  }

  async prompts(upstream: string): Promise<Prompt[]> {
    const { state, conn } = await this.use(upstream);
    return (await this.guard(upstream, state, () => conn.client.listPrompts(undefined, { timeout: state.config.timeoutMs }))).prompts;
  }

  async getPrompt(upstream: string, name: string, args: Record<string, string>): Promise<GetPromptResult> {
    const { state, conn } = await this.use(upstream);
    return this.guard(upstream, state, () => conn.client.getPrompt({ name, arguments: args }, { timeout: state.config.timeoutMs }));
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
    return conn?.transport instanceof StdioClientTransport ? conn.transport.pid : null;
  }

  async close(): Promise<void> {
    await Promise.all([...this.states.keys()].map((name) => this.stop(name)));
  }

  private state(upstream: string): UpstreamState {
    const state = this.states.get(upstream);
    if (!state) throw new CodedError('gateway.upstream_unavailable', `no upstream \`${upstream}\``);
    return state;
  }

  private connect(name: string, state: UpstreamState): Promise<Connection> {
    if (state.connection) return state.connection;
    const now = this.opts.clock.nowMs();
    if (now < state.retryAtMs) {
      return Promise.reject(new CodedError('gateway.upstream_unavailable', `upstream \`${name}\` is restarting; retry in ${Math.ceil((state.retryAtMs - now) / 1000)} s`));
    }
    state.closing = false;
    const pending = this.start(name, state);
    state.connection = pending;
    pending.then(
      () => {
        state.failures = 0;
      },
      (err: unknown) => {
        this.opts.log?.(`upstream ${name} failed to start: ${(err as Error).message}`);
        this.markDown(state);
      },
    );
    return pending.catch((err: unknown) => {
      throw new CodedError('gateway.upstream_unavailable', `upstream \`${name}\` could not be started`, {}, { cause: err });
    });
  }

  private async start(name: string, state: UpstreamState): Promise<Connection> {
    const config = state.config;
    // Secrets are resolved at each start, so a rotated secret reaches the upstream on its next start.
    const { values, secrets } = await this.opts.secrets.resolveAll(config.transport === 'stdio' ? config.env : config.headers, `upstream:${name}`);
    let transport: StdioClientTransport | StreamableHTTPClientTransport;
    if (config.transport === 'stdio') {
      transport = new StdioClientTransport({ command: config.command, args: config.args, env: values, cwd: config.cwd, stderr: 'pipe' });
      drainStderr(transport, name, secrets.map((s) => s.value), this.opts.log);
    } else {
      transport = new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: values } });
    }
    const client = new Client({ name: 'mandate-gateway', version: '0.1.0' });
    const conn: Connection = { client, transport, tools: undefined };
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      conn.tools = undefined;
      this.opts.onToolsChanged?.(name);
    });
    client.onclose = () => {
      // A close we did not ask for is a crash: back off before the next start.
      if (state.connection && !state.closing) {
        this.opts.log?.(`upstream ${name} exited`);
        this.markDown(state);
      }
    };
    await client.connect(transport, { timeout: config.timeoutMs });
    this.touch(name, state);
    return conn;
  }

  private markDown(state: UpstreamState): void {
    state.connection = undefined;
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
    state.closing = true;
    if (state.idleTimer) clearTimeout(state.idleTimer);
    const pending = state.connection;
    state.connection = undefined;
    const conn = await pending.catch(() => undefined);
    await conn?.client.close().catch(() => undefined);
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

/**
 * An unread stderr pipe fills and blocks the child, so it is always drained;
 * lines go to the log with every injected secret value masked.
 */
function drainStderr(transport: StdioClientTransport, name: string, secretValues: string[], log: ((line: string) => void) | undefined): void {
  const stream = transport.stderr;
  if (!stream) return;
  let pending = '';
  stream.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    if (pending.length > 8192) pending = pending.slice(-8192);
    for (const line of lines) if (line.trim()) log?.(`upstream ${name}: ${redact(line, secretValues)}`);
  });
}

export function redact(text: string, secretValues: readonly string[]): string {
  let out = text;
  for (const value of secretValues) if (value.length >= 4) out = out.split(value).join('[secret]');
  return out;
}
