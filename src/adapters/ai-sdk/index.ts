/**
 * `mandate/ai-sdk`: Mandate for the Vercel AI SDK (`ai`).
 *
 * - `mandateTool` / `mandateTools` wrap AI SDK tools so that each call is decided
 *   by the control plane first (in process, through the SDK's task). A refusal is
 *   thrown as a `MandateRefusal`, which the AI SDK hands the model as the tool's
 *   error text: `denied (<code>): …` or `approval required (<code>): …`.
 * - `mandateMcp` gives the gateway's tools (`<control plane>/mcp`) through the AI
 *   SDK's own MCP client (`@ai-sdk/mcp`, loaded on first use), whose HTTP
 *   transport sends through the task's `fetch`: the credential on every request,
 *   with a fresh DPoP proof when the agent connected with `dpop: true`. It declares
 *   the mandate again and reconnects before the credential expires.
 *
 * Loads only the AI SDK and Mandate's SDK: no server code.
 */
import type { MCPClient } from '@ai-sdk/mcp';
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai';
import type { TaskHandle } from '../../sdk/index.js';
import { argsOf, exposedToolName, gatewayConnection, guardedCall, MandateRefusal, openListing, gatewayTask, RenewingTask, sessionsPerTask, type GatewayTaskOptions, type GuardOptions, type TaskSource } from '../common/index.js';

export { exposedToolName, MandateRefusal, RenewingTask, refusalText } from '../common/index.js';
export type { DeclaringAgent, GatewayTaskOptions, GuardOptions, RenewingTaskOptions, TaskSource } from '../common/index.js';

/** An async iterable, as an AI SDK `execute` may return to stream preliminary results. */
function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === 'object' && Symbol.asyncIterator in v;
}

/**
 * The tool, decided by the control plane at every call under the mandate's name
 * for it (`files.read`). Only an allowed call reaches `execute`; its result (after
 * the decision's `@redact` obligation) is reported to the task so labels and
 * provenance work. A tool whose `execute` streams is run to its end and its last
 * value is the result. A tool without `execute` (the client runs it) is refused
 * here: nothing would be decided.
 */
export function mandateTool<T extends Tool>(task: TaskSource, mandateName: string, tool: T, opts: GuardOptions = {}): T {
  const execute = tool.execute as ((input: unknown, options: ToolExecutionOptions<unknown>) => unknown) | undefined;
  if (typeof execute !== 'function') throw new TypeError(`mandateTool: \`${mandateName}\` has no execute function, so no call of it could be decided`);
  const run = async (input: unknown, options: ToolExecutionOptions<unknown>) => {
    const out = execute.call(tool, input, options);
    if (!isAsyncIterable(out)) return out;
    let last: unknown;
    for await (const value of out) last = value;
    return last;
  };
  const guarded = async (input: unknown, options: ToolExecutionOptions<unknown>) => {
    const out = await guardedCall(task, mandateName, argsOf(input), () => run(input, options), opts);
    if (!out.ok) throw new MandateRefusal(out.text, out.decision);
    return out.result;
  };
  return { ...tool, execute: guarded } as T;
}

/** `files.read` → `files_read`, as a type. */
export type ExposedName<S extends string> = S extends `${infer A}.${infer B}` ? `${A}_${ExposedName<B>}` : S;

/**
 * Tools keyed by their mandate names (`{ 'files.read': tool({ … }) }`), each
 * wrapped by `mandateTool`, keyed by the names a model may see (`files_read`).
 */
export function mandateTools<T extends Record<string, Tool>>(task: TaskSource, tools: T, opts: GuardOptions = {}): { [K in keyof T & string as ExposedName<K>]: T[K] } {
  const out: Record<string, Tool> = {};
  for (const [name, tool] of Object.entries(tools)) {
    const key = exposedToolName(name);
    if (Object.hasOwn(out, key)) throw new TypeError(`mandateTools: \`${name}\` and another tool are both seen as \`${key}\``);
    out[key] = mandateTool(task, name, tool, opts);
  }
  return out as { [K in keyof T & string as ExposedName<K>]: T[K] };
}

export type MandateMcpOptions = {
  /** The control plane, e.g. `http://127.0.0.1:8080`; its gateway is `<url>/mcp`. */
  url: string;
  /** The name the MCP client gives itself. Default `mandate-ai-sdk`. */
  clientName?: string;
} & GatewayTaskOptions;

/** The gateway's tools for one mandate, through the AI SDK's MCP client. */
export interface MandateMcp {
  /** The task whose credential the connection carries; it changes when the mandate is declared again. */
  readonly task: RenewingTask;
  /**
   * The tools the mandate declares and the ceiling could allow, named as the
   * gateway shows them (`<upstream>_<tool>`). Each call goes through the current
   * task's connection; refusals come back as the tool's result, whose text starts
   * `denied (<code>): …`.
   */
  tools(): Promise<ToolSet>;
  /** Closes the connections and, unless the task was given, completes it. */
  close(reason?: string): Promise<void>;
}

/** Connects the AI SDK's MCP client to the gateway with a task credential that is renewed automatically. */
export async function mandateMcp(opts: MandateMcpOptions): Promise<MandateMcp> {
  const { createMCPClient } = await import('@ai-sdk/mcp');
  const { task, owned } = await gatewayTask(opts);
  /** One MCP session per task: the gateway binds a session to the task that opened it. */
  const sessions = sessionsPerTask(task, async (t) => {
    const client = await createMCPClient({
      transport: { type: 'http', ...gatewayConnection(opts.url, t) },
      clientName: opts.clientName ?? 'mandate-ai-sdk',
      // The gateway opens a session with `initialize`, which binds it to the task.
      protocolVersionDiscovery: false,
    });
    return openListing(client, async (c) => (await c.tools()) as ToolSet);
  });
  const sessionOf = sessions.sessionOf;

  return {
    task,
    async tools() {
      const listed = await task.use(async (t) => (await sessionOf(t)).tools);
      const out: ToolSet = {};
      for (const [name, tool] of Object.entries(listed)) {
        out[name] = {
          ...tool,
          // Through the session of the task in use at call time, which may be a renewed one.
          execute: (input: unknown, options: ToolExecutionOptions<unknown>) =>
            task.use(async (t) => {
              const current = (await sessionOf(t)).tools[name];
              if (!current?.execute) throw new MandateRefusal(`denied (mandate.tool_not_declared): the gateway no longer lists \`${name}\` for this task`, undefined);
              return (current.execute as (i: unknown, o: ToolExecutionOptions<unknown>) => unknown)(input, options);
            }),
        } as ToolSet[string];
      }
      return out;
    },
    async close(reason?: string) {
      await sessions.closeAll();
      if (owned) await task.complete(reason ?? 'done');
    },
  };
}
