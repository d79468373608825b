import {
  ListPromptsResultSchema,
  ListResourceTemplatesResultSchema,
  ListResourcesResultSchema,
  type CallToolResult,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { CodedError, type Clock } from '../../core/index.js';
import type { CallRelay } from './relay.js';
import { META, clientEnvelope, isInputRequired, openState, sealState, type Envelope, type InputRequired, type StateBinding } from './stateless.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What a 2026 agent sends back with a request an upstream answered `input_required`. */
export interface Continuation {
  inputResponses?: unknown;
  /** The gateway's sealed state (`sealState`), as the agent echoes it. */
  requestState?: unknown;
}

/** The gateway refused one of the requests an upstream made of the agent in an `input_required` result. */
export class InputRefused extends Error {
  constructor(readonly refusal: unknown) {
    super('an input request was refused');
    this.name = 'InputRefused';
  }
}

/** A sealed `requestState` that does not hold: altered, expired, or made for another call. */
export class StateRejected extends Error {
  constructor() {
    super('requestState integrity check failed: it was altered, has expired, or belongs to another call');
    this.name = 'StateRejected';
  }
}

/** How the gateway reaches upstreams for one agent request, whatever revisions the two speak. */
export interface UpstreamView {
  tools(upstream: string): Promise<Map<string, Tool>>;
  resources(upstream: string): Promise<{ resources: Resource[]; templates: ResourceTemplate[] }>;
  prompts(upstream: string): Promise<Prompt[]>;
  /** May answer `input_required` (2026 only). `txnToken`: the call's transaction token, when the upstream takes one. */
  readResource(upstream: string, uri: string, more?: Continuation, txnToken?: string): Promise<object>;
  getPrompt(upstream: string, name: string, args: Record<string, string>, more?: Continuation, txnToken?: string): Promise<object>;
  callTool(upstream: string, tool: string, args: Record<string, unknown>, relay?: CallRelay, more?: Continuation, txnToken?: string): Promise<CallToolResult | InputRequired>;
  complete(upstream: string, params: Record<string, unknown>): Promise<object>;
}

/** A 2025 agent's requests go over each upstream's session. */
export function sessionView(pool: UpstreamPool): UpstreamView {
  return {
    tools: (u) => pool.tools(u),
    resources: (u) => pool.resources(u),
    prompts: (u) => pool.prompts(u),
    readResource: (u, uri, _more, txnToken) => pool.readResource(u, uri, txnToken),
    getPrompt: (u, name, args, _more, txnToken) => pool.getPrompt(u, name, args, txnToken),
    callTool: (u, tool, args, relay, _more, txnToken) => pool.callTool(u, tool, args, relay, txnToken),
    complete: (u, params) => pool.forward(u, 'completion/complete', params),
  };
}

export interface StatelessViewPorts {
  pool: UpstreamPool;
  clock: Clock;
  /** The deployment's key: it seals `requestState`. */
  key: string;
  taskId: string;
  envelope: Envelope;
  /** Decides each request of the client in an `input_required` result; returns what to answer if one is refused. */
  approveInputs(upstream: string, inputs: NonNullable<InputRequired['inputRequests']>): Promise<unknown | undefined>;
}

/**
 * A 2026 agent's requests: to an upstream that speaks 2026-07-28 as 2026 requests
 * on the agent's behalf (its envelope, the capabilities the gateway relays for that
 * upstream), `input_required` passed back with the upstream's state sealed; to a
 * 2025 upstream over its session, where nothing can be asked of the agent mid-call.
 */
export function statelessView(p: StatelessViewPorts): UpstreamView {
  const legacy = sessionView(p.pool);
  const speaks = (u: string) => p.pool.speaksStateless(u).catch(() => false);
  const meta = (u: string, extra: Record<string, unknown> = {}) => ({
    ...clientEnvelope(sharedCapabilities(p.envelope.clientCapabilities, p.pool.clientCapabilities(u))),
    ...(p.envelope.logLevel ? { [META.logLevel]: p.envelope.logLevel } : {}),
    ...extra,
  });
  const list = async <S extends z.ZodType>(u: string, method: string, schema: S): Promise<z.output<S>> => {
    const parsed = schema.safeParse(await p.pool.statelessRequest(u, method, { _meta: meta(u) }));
    if (!parsed.success) throw new CodedError('gateway.upstream_error', `upstream \`${u}\` answered \`${method}\` with an invalid result`);
    return parsed.data;
  };

  /** A request that may need the agent's input: the agent's continuation opened, the upstream's `input_required` decided and sealed. */
  const mayAsk = async (u: string, method: string, target: string, args: unknown, params: Record<string, unknown>, more: Continuation = {}, relay?: CallRelay, extraMeta?: Record<string, unknown>, txnToken?: string) => {
    const binding: StateBinding = { taskId: p.taskId, upstream: u, method, target, args };
    let inner: string | null = null;
    if (more.requestState !== undefined) {
      const opened = typeof more.requestState === 'string' ? openState(p.key, binding, more.requestState, p.clock.nowMs()) : undefined;
      if (opened === undefined) throw new StateRejected();
      inner = opened;
    }
    const sent = { ...params, _meta: meta(u, extraMeta), ...('inputResponses' in more ? { inputResponses: more.inputResponses } : {}), ...(inner !== null ? { requestState: inner } : {}) };
    const result = await p.pool.statelessRequest(u, method, sent, relay, txnToken);
    if (!isInputRequired(result)) return result;
    const refusal = await p.approveInputs(u, result.inputRequests ?? {});
    if (refusal !== undefined) throw new InputRefused(refusal);
    return { ...result, requestState: sealState(p.key, binding, result.requestState, p.clock.nowMs()) };
  };

  return {
    tools: async (u) => ((await speaks(u)) ? p.pool.statelessTools(u) : legacy.tools(u)),
    resources: async (u) => {
      if (!(await speaks(u))) return legacy.resources(u);
      const resources = await list(u, 'resources/list', ListResourcesResultSchema);
      const templates = await list(u, 'resources/templates/list', ListResourceTemplatesResultSchema).catch(() => ({ resourceTemplates: [] }));
      return { resources: resources.resources as Resource[], templates: templates.resourceTemplates as ResourceTemplate[] };
    },
    prompts: async (u) => ((await speaks(u)) ? ((await list(u, 'prompts/list', ListPromptsResultSchema)).prompts as Prompt[]) : legacy.prompts(u)),
    readResource: async (u, uri, more, txnToken) =>
      (await speaks(u)) ? ((await mayAsk(u, 'resources/read', uri, { uri }, { uri }, more, undefined, undefined, txnToken)) as object) : legacy.readResource(u, uri, undefined, txnToken),
    getPrompt: async (u, name, args, more, txnToken) =>
      (await speaks(u)) ? ((await mayAsk(u, 'prompts/get', name, args, { name, arguments: args }, more, undefined, undefined, txnToken)) as object) : legacy.getPrompt(u, name, args, undefined, txnToken),
    callTool: async (u, tool, args, relay, more, txnToken) => {
      if (!(await speaks(u))) return legacy.callTool(u, tool, args, relay, undefined, txnToken);
      const progress = relay?.progressToken === undefined ? undefined : { progressToken: relay.progressToken };
      const result = await mayAsk(u, 'tools/call', tool, args, { name: tool, arguments: args }, more, relay, progress, txnToken);
      if (!isInputRequired(result) && !Array.isArray((result as { content?: unknown } | null)?.content)) {
        throw new CodedError('gateway.upstream_error', `upstream \`${u}\` answered without a content list`);
      }
      return result as CallToolResult | InputRequired;
    },
    complete: async (u, params) => ((await speaks(u)) ? ((await p.pool.statelessRequest(u, 'completion/complete', { ...params, _meta: meta(u) })) as object) : legacy.complete(u, params)),
  };
}

/** The client capabilities an upstream is told of: those the agent declared and the gateway relays for that upstream. */
function sharedCapabilities(agent: Record<string, unknown>, relayed: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(agent).filter(([name]) => name in relayed));
}
