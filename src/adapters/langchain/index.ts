/**
 * `mandate/langchain`: Mandate for LangChain.js (`@langchain/core`).
 *
 * - `mandateTool` wraps a LangChain tool (or the fields of a
 *   `DynamicStructuredTool`: name, description, schema, func) so that each call is
 *   decided by the control plane first (in process, through the SDK's task). A
 *   refusal is the tool's answer: a `ToolMessage` with status `error` whose text is
 *   `denied (<code>): …` or `approval required (<code>): …` (the text alone when
 *   the tool is invoked without a tool call).
 * - `mandateMcp` gives the gateway's tools (`<control plane>/mcp`) through
 *   `@langchain/mcp-adapters` (loaded on first use): its `loadMcpTools` over an
 *   MCP SDK client whose Streamable HTTP transport sends through the task's
 *   `fetch`, so every request carries the credential, with a fresh DPoP proof when
 *   the agent connected with `dpop: true`. (`MultiServerMCPClient` takes only fixed
 *   headers, which a key-bound credential cannot use.) It declares the mandate
 *   again and reconnects before the credential expires.
 *
 * Loads only LangChain (with the MCP SDK `@langchain/mcp-adapters` is built on)
 * and Mandate's SDK: no server code.
 */
import { ToolMessage } from '@langchain/core/messages';
import type { RunnableConfig } from '@langchain/core/runnables';
import { DynamicStructuredTool, type DynamicStructuredToolInput, type StructuredToolInterface } from '@langchain/core/tools';
import type { CallbackManagerForToolRun } from '@langchain/core/callbacks/manager';
import type { TaskHandle } from '../../sdk/index.js';
import { argsOf, gatewayConnection, guardedCall, openListing, redactResult, gatewayTask, RenewingTask, sessionsPerTask, type GatewayTaskOptions, type GuardOptions, type TaskSource } from '../common/index.js';

export { exposedToolName, MandateRefusal, RenewingTask, refusalText } from '../common/index.js';
export type { DeclaringAgent, GatewayTaskOptions, GuardOptions, RenewingTaskOptions, TaskSource } from '../common/index.js';

type AnyTool = StructuredToolInterface<any, any, any>;
type ToolFields = DynamicStructuredToolInput<any, any, any> & { name: string };
type ToolCallConfig = RunnableConfig & { toolCall?: { id?: string; name: string; args: Record<string, unknown> } };

function isTool(t: AnyTool | ToolFields): t is AnyTool {
  return typeof (t as AnyTool).invoke === 'function';
}

/** The inner tool's input: the tool call when the outer one was invoked with one (so the answer is a `ToolMessage` with any artifact), else the arguments. */
function innerInput(name: string, input: unknown, config: ToolCallConfig | undefined): unknown {
  const call = config?.toolCall;
  return call?.id ? { type: 'tool_call', id: call.id, name, args: input } : input;
}

/** The config the inner tool runs with: the outer run as its parent for callbacks, the tool call left out (it is in the input). */
function innerConfig(runManager: CallbackManagerForToolRun | undefined, config: ToolCallConfig | undefined): RunnableConfig {
  const { toolCall: _call, ...rest } = config ?? {};
  return { ...rest, callbacks: runManager?.getChild() ?? rest.callbacks };
}

/** What the model reads instead of a result: a `ToolMessage` with status `error` when answering a tool call, else the text. */
function refusal(name: string, text: string, config: ToolCallConfig | undefined): string | ToolMessage {
  const id = config?.toolCall?.id;
  return id ? new ToolMessage({ status: 'error', content: text, tool_call_id: id, name }) : text;
}

const handling = {
  redact: (r: unknown, fields: readonly string[]) => {
    if (!ToolMessage.isInstance(r)) return redactResult(r, fields);
    return new ToolMessage({ status: r.status, content: redactResult(r.content, fields) as ToolMessage['content'], artifact: redactResult(r.artifact, fields), tool_call_id: r.tool_call_id, name: r.name, metadata: r.metadata });
  },
  contentOf: (r: unknown) => (ToolMessage.isInstance(r) ? r.content : r),
};

/**
 * The tool, decided by the control plane at every call under the mandate's name
 * for it (`files.read`). Only an allowed call reaches the tool; its result (after
 * the decision's `@redact` obligation) is reported to the task so labels and
 * provenance work. The wrapper keeps the tool's name, description and schema.
 */
export function mandateTool(task: TaskSource, mandateName: string, toolOrFields: AnyTool | ToolFields, opts: GuardOptions = {}): DynamicStructuredTool {
  const inner: AnyTool = isTool(toolOrFields) ? toolOrFields : new DynamicStructuredTool(toolOrFields);
  return new DynamicStructuredTool({
    name: inner.name,
    description: inner.description,
    schema: inner.schema,
    func: async (input: unknown, runManager?: CallbackManagerForToolRun, config?: ToolCallConfig) => {
      const out = await guardedCall(task, mandateName, argsOf(input), () => inner.invoke(innerInput(inner.name, input, config) as never, innerConfig(runManager, config)) as Promise<unknown>, opts, handling);
      return out.ok ? out.result : refusal(inner.name, out.text, config);
    },
  });
}

export type MandateMcpOptions = {
  /** The control plane, e.g. `http://127.0.0.1:8080`; its gateway is `<url>/mcp`. */
  url: string;
  /** Options of `@langchain/mcp-adapters` for the tools (how content and artifacts are placed, timeouts). */
  useStandardContentBlocks?: boolean;
  defaultToolTimeout?: number;
  /** The name the MCP client gives itself. Default `mandate-langchain`. */
  clientName?: string;
} & GatewayTaskOptions;

/** The gateway's tools for one mandate, through `@langchain/mcp-adapters`. */
export interface MandateMcp {
  /** The task whose credential the connection carries; it changes when the mandate is declared again. */
  readonly task: RenewingTask;
  /**
   * The tools the mandate declares and the ceiling could allow, named as the
   * gateway shows them (`<upstream>_<tool>`). Each call goes through the current
   * task's connection; a refusal is a `ToolMessage` with status `error` whose text
   * starts `denied (<code>): …`.
   */
  tools(): Promise<DynamicStructuredTool[]>;
  /** Closes the connections and, unless the task was given, completes it. */
  close(reason?: string): Promise<void>;
}

/** The text of the gateway's refusal inside the error `@langchain/mcp-adapters` throws for a tool result marked as an error. */
function gatewayRefusal(err: unknown): string | undefined {
  const message = (err as { message?: unknown })?.message;
  if (typeof message !== 'string') return undefined;
  const m = /returned an error: ((?:denied|approval required) \([\w.]+\):[\s\S]*)$/.exec(message);
  return m?.[1];
}

/**
 * The gateway puts its decision in each result's `_meta`, which
 * `@langchain/mcp-adapters` would fold, with any structured content, into the text
 * the model reads as one JSON string: text blocks go on as text alone, without
 * the structured content and the metadata.
 */
function plainText(call: { result: [unknown, unknown[]] }): { result: [unknown, unknown[]] } {
  const [content, artifacts] = call.result;
  if (!Array.isArray(content)) return { result: [content, artifacts] };
  const blocks = content.map((b: { type?: unknown; text?: unknown }) => (b?.type === 'text' && typeof b.text === 'string' ? { type: 'text', text: b.text } : b));
  return { result: [blocks, artifacts] };
}

/** Connects `@langchain/mcp-adapters` to the gateway with a task credential that is renewed automatically. */
export async function mandateMcp(opts: MandateMcpOptions): Promise<MandateMcp> {
  // The MCP SDK is what `@langchain/mcp-adapters` is built on (a dependency of it):
  // its transport takes the `fetch` that proves possession per request.
  const [{ loadMcpTools }, { Client }, { StreamableHTTPClientTransport }] = await Promise.all([
    import('@langchain/mcp-adapters'),
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  const { task, owned } = await gatewayTask(opts);
  /** One MCP session per task: the gateway binds a session to the task that opened it. */
  const sessions = sessionsPerTask(task, async (t) => {
    const gateway = gatewayConnection(opts.url, t);
    const client = new Client({ name: opts.clientName ?? 'mandate-langchain', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url), { fetch: gateway.fetch }));
    const loadOptions = {
      throwOnLoadError: true,
      prefixToolNameWithServerName: false,
      useStandardContentBlocks: opts.useStandardContentBlocks ?? false,
      afterToolCall: plainText as never,
      ...(opts.defaultToolTimeout ? { defaultToolTimeout: opts.defaultToolTimeout } : {}),
    };
    return openListing(client, async (c) => new Map((await loadMcpTools('mandate', c, loadOptions)).map((tool) => [tool.name, tool as AnyTool])));
  });
  const sessionOf = sessions.sessionOf;

  return {
    task,
    async tools() {
      const listed = await task.use(async (t) => (await sessionOf(t)).tools);
      return [...listed.values()].map(
        (listedTool) =>
          new DynamicStructuredTool({
            name: listedTool.name,
            description: listedTool.description,
            schema: listedTool.schema,
            // Through the session of the task in use at call time, which may be a renewed one.
            func: async (input: unknown, runManager?: CallbackManagerForToolRun, config?: ToolCallConfig) =>
              task.use(async (t) => {
                const current = (await sessionOf(t)).tools.get(listedTool.name);
                if (!current) return refusal(listedTool.name, `denied (mandate.tool_not_declared): the gateway no longer lists \`${listedTool.name}\` for this task`, config);
                try {
                  return (await current.invoke(innerInput(listedTool.name, input, config) as never, innerConfig(runManager, config))) as unknown;
                } catch (err) {
                  const text = gatewayRefusal(err);
                  if (text === undefined) throw err;
                  return refusal(listedTool.name, text, config);
                }
              }),
          }),
      );
    },
    async close(reason?: string) {
      await sessions.closeAll();
      if (owned) await task.complete(reason ?? 'done');
    },
  };
}
