/**
 * `mandate/openai-agents`: Mandate for the OpenAI Agents SDK (`@openai/agents`).
 *
 * - `mandateTool` wraps a function tool (one made with `tool({ … })`, or the
 *   options for one) so that each call is decided by the control plane first (in
 *   process, through the SDK's task). A refusal is the tool's output, the text
 *   `denied (<code>): …` or `approval required (<code>): …`, so the model reads it
 *   and can re-plan.
 * - `mandateMcpServer` is an `MCPServer` for `new Agent({ mcpServers: [...] })`:
 *   the SDK's own `MCPServerStreamableHttp` to the gateway (`<control plane>/mcp`),
 *   sending through the task's `fetch`: the credential on every request, with a
 *   fresh DPoP proof when the agent connected with `dpop: true`. It reconnects with
 *   a new credential when the mandate is declared again before the old one expires.
 *
 * Loads only the Agents SDK and Mandate's SDK: no server code.
 */
import { MCPServerStreamableHttp, tool as functionTool, type FunctionTool, type MCPServer, type ToolOptions } from '@openai/agents';
import type { TaskHandle } from '../../sdk/index.js';
import { argsOf, gatewayConnection, gatewayTask, guardedCall, RenewingTask, type GatewayTaskOptions, type GuardOptions, type TaskSource } from '../common/index.js';

export { exposedToolName, MandateRefusal, RenewingTask, refusalText } from '../common/index.js';
export type { DeclaringAgent, GatewayTaskOptions, GuardOptions, RenewingTaskOptions, TaskSource } from '../common/index.js';

type AnyFunctionTool = FunctionTool<any, any, any>;

/**
 * A function tool decided by the control plane at every call under the mandate's
 * name for it (`files.read`); give the tool, or the options `tool()` takes. Only
 * an allowed call runs; its output (after the decision's `@redact` obligation) is
 * reported to the task so labels and provenance work. A refusal, or arguments
 * that are not JSON, is the tool's output and nothing runs.
 */
export function mandateTool<T extends AnyFunctionTool>(task: TaskSource, mandateName: string, tool: T, opts?: GuardOptions): T;
export function mandateTool<P extends ToolOptions<any, any>>(task: TaskSource, mandateName: string, options: P, opts?: GuardOptions): FunctionTool<any, any, unknown>;
export function mandateTool(task: TaskSource, mandateName: string, toolOrOptions: AnyFunctionTool | ToolOptions<any, any>, opts: GuardOptions = {}): AnyFunctionTool {
  const tool: AnyFunctionTool = 'invoke' in toolOrOptions && typeof toolOrOptions.invoke === 'function' ? (toolOrOptions as AnyFunctionTool) : functionTool(toolOrOptions as ToolOptions<any, any>);
  const invoke = tool.invoke;
  return {
    ...tool,
    invoke: async (runContext, input, details) => {
      let args: unknown;
      try {
        args = input ? JSON.parse(input) : {};
      } catch {
        return `denied (request.invalid): the arguments of \`${tool.name}\` are not JSON, so the call was not decided`;
      }
      const out = await guardedCall(task, mandateName, argsOf(args), () => invoke.call(tool, runContext, input, details), opts);
      return out.ok ? out.result : out.text;
    },
  };
}

type StreamableHttpOptions = ConstructorParameters<typeof MCPServerStreamableHttp>[0];
type ServerOptions = Omit<StreamableHttpOptions, 'url' | 'requestInit' | 'authProvider' | 'sessionId' | 'fetch'>;

export type MandateMcpServerOptions = ServerOptions & {
  /** The control plane, e.g. `http://127.0.0.1:8080`; its gateway is `<url>/mcp`. */
  url: string;
} & GatewayTaskOptions;

type ListedTool = Awaited<ReturnType<MCPServer['listTools']>>[number];
type CallResultContent = Awaited<ReturnType<MCPServer['callTool']>>;
type CallResult = Awaited<ReturnType<NonNullable<MCPServer['callToolResult']>>>;
type CallOptions = Parameters<MCPServer['callTool']>[3];

/**
 * The gateway as one MCP server of an agent. It holds one `MCPServerStreamableHttp`
 * per task: the gateway binds a session to the task that opened it, so a renewed
 * credential gets a new connection, and the old one is closed once its calls are
 * done. Tools appear as the gateway names them (`<upstream>_<tool>`); refusals are
 * tool results whose text starts `denied (<code>): …`.
 */
export class MandateMcpServer implements MCPServer {
  readonly cacheToolsList: boolean;
  readonly toolFilter: MCPServer['toolFilter'];
  readonly toolMetaResolver: MCPServer['toolMetaResolver'];
  readonly customDataExtractor: MCPServer['customDataExtractor'];
  readonly toolInputGuardrails: MCPServer['toolInputGuardrails'];
  readonly toolOutputGuardrails: MCPServer['toolOutputGuardrails'];
  readonly useStructuredContent: MCPServer['useStructuredContent'];
  readonly errorFunction: MCPServer['errorFunction'];
  private readonly connections = new Map<TaskHandle, Promise<MCPServerStreamableHttp>>();
  private readonly unsubscribe: () => void;

  constructor(
    /** The task whose credential the connection carries; it changes when the mandate is declared again. */
    readonly task: RenewingTask,
    private readonly opts: ServerOptions & { url: string },
    private readonly owned: boolean,
  ) {
    this.cacheToolsList = opts.cacheToolsList ?? false;
    this.toolFilter = opts.toolFilter;
    this.toolMetaResolver = opts.toolMetaResolver;
    this.customDataExtractor = opts.customDataExtractor;
    this.toolInputGuardrails = opts.toolInputGuardrails;
    this.toolOutputGuardrails = opts.toolOutputGuardrails;
    this.useStructuredContent = opts.useStructuredContent;
    this.errorFunction = opts.errorFunction;
    this.unsubscribe = task.onRetire((t) => this.disconnect(t));
  }

  get name(): string {
    return this.opts.name ?? 'mandate';
  }

  private connection(t: TaskHandle): Promise<MCPServerStreamableHttp> {
    let c = this.connections.get(t);
    if (!c) {
      const { url, ...rest } = this.opts;
      const server = new MCPServerStreamableHttp({ ...rest, name: this.name, ...gatewayConnection(url, t) });
      c = server.connect().then(() => server);
      this.connections.set(t, c);
      c.catch(() => this.connections.delete(t));
    }
    return c;
  }

  private async disconnect(t: TaskHandle): Promise<void> {
    const c = this.connections.get(t);
    this.connections.delete(t);
    await c?.then((s) => s.close()).catch(() => undefined);
  }

  /** Opens the connection for the current task. */
  async connect(): Promise<void> {
    await this.task.use((t) => this.connection(t));
  }

  async listTools(): Promise<ListedTool[]> {
    return this.task.use(async (t) => (await this.connection(t)).listTools());
  }

  async callTool(toolName: string, args: Record<string, unknown> | null, meta?: Record<string, unknown> | null, options?: CallOptions): Promise<CallResultContent> {
    return this.task.use(async (t) => (await this.connection(t)).callTool(toolName, args, meta, options));
  }

  async callToolResult(toolName: string, args: Record<string, unknown> | null, meta?: Record<string, unknown> | null, options?: CallOptions): Promise<CallResult> {
    return this.task.use(async (t) => (await this.connection(t)).callToolResult(toolName, args, meta, options));
  }

  async invalidateToolsCache(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.then((s) => s.invalidateToolsCache()).catch(() => undefined)));
  }

  /** Closes every connection and, unless the task was given, completes it. */
  async close(reason?: string): Promise<void> {
    this.unsubscribe();
    await Promise.all([...this.connections.keys()].map((t) => this.disconnect(t)));
    if (this.owned) await this.task.complete(reason ?? 'done');
  }
}

/** Declares the mandate (unless a renewing task is given) and returns the gateway as an `MCPServer`, connected. */
export async function mandateMcpServer(opts: MandateMcpServerOptions): Promise<MandateMcpServer> {
  const { agent: _a, mandate: _m, renewBeforeMs: _r, now: _n, task: _t, ...serverOpts } = opts as MandateMcpServerOptions & Partial<{ agent: unknown; mandate: unknown; renewBeforeMs: unknown; now: unknown; task: unknown }>;
  const { task, owned } = await gatewayTask(opts);
  const server = new MandateMcpServer(task, serverOpts, owned);
  try {
    await server.connect();
  } catch (err) {
    await server.close('the gateway could not be reached').catch(() => undefined);
    throw err;
  }
  return server;
}
