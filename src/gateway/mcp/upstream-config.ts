import { z } from 'zod';
import { RISKS, TOOL_KINDS, ToolSpecSchema, type ToolSpec } from '../../core/index.js';
import { ValueOrSecretSchema } from '../../secrets/index.js';
import { TransactionTokenSchema } from '../common/index.js';

/** What policy and the monitor know about one upstream tool: the gateway exposes nothing it cannot describe. */
const ToolMetadataSchema = z
  .object({
    kind: z.enum(TOOL_KINDS),
    effects: ToolSpecSchema.shape.effects,
    risk: z.enum(RISKS).default('low'),
    labels: z.array(z.string().min(1).max(64)).max(32).default([]),
    tags: ToolSpecSchema.shape.tags,
    labelRules: ToolSpecSchema.shape.labelRules,
    targets: ToolSpecSchema.shape.targets,
    counterparty: ToolSpecSchema.shape.counterparty,
    untrustedFields: ToolSpecSchema.shape.untrustedFields,
    description: z.string().max(1000).default(''),
    /**
     * The tool's parameters (`{ to: { type: array, items: { type: string } } }`): mandate constraints are checked
     * against them at grant time. When absent they are learned from the upstream's `inputSchema` (see README.md).
     */
    params: ToolSpecSchema.shape.params,
  })
  .strict();

const Common = {
  /**
   * When set, the upstream's resources are exposed as the action `<upstream>.resources`
   * (arguments: `uri`), so a mandate declares them and constrains the URI like any tool.
   */
  resources: ToolMetadataSchema.optional(),
  /** When set, the upstream's prompts are exposed as the action `<upstream>.prompts` (arguments: `name` and the prompt's own). */
  prompts: ToolMetadataSchema.optional(),
  /**
   * When set, the upstream may ask the agent's client to sample its model during a call (`sampling/createMessage`),
   * decided as the action `<upstream>.sampling` (arguments: `maxTokens`, `messages`, the number of messages); unset, it is refused.
   */
  sampling: ToolMetadataSchema.optional(),
  /** When set, the upstream may ask the agent's user for input during a call (`elicitation/create`), decided as `<upstream>.elicitation` (argument: `message`). */
  elicitation: ToolMetadataSchema.optional(),
  /** When set, the upstream may ask the agent's client for its roots during a call (`roots/list`), decided as `<upstream>.roots`. */
  roots: ToolMetadataSchema.optional(),
  /** Per-call timeout for this upstream. */
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** How agents see this upstream's tools and prompts (`tool-names.ts`); policies and mandates name them `<upstream>.<tool>` whatever this says. */
  expose: z
    .object({
      prefix: z.string().regex(/^[A-Za-z0-9_-]{0,32}$/, 'a prefix is letters, digits, `_` or `-`').optional(),
      separator: z.string().regex(/^[A-Za-z0-9_-]{0,4}$/, 'a separator is letters, digits, `_` or `-`').default('_'),
    })
    .strict()
    .prefault({}),
  /**
   * When set, each allowed `tools/call`, `resources/read` and `prompts/get` carries a transaction token
   * (docs/transaction-tokens.md): in the `header` over HTTP, in `params._meta["mandate/txn-token"]` over stdio.
   */
  transactionToken: TransactionTokenSchema.optional(),
  /** Tools by their upstream name; each becomes `<upstream>.<tool>` in the catalog. */
  tools: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'tool names are letters, digits, `_`, `.` or `-`'), ToolMetadataSchema),
};

export const UpstreamSchema = z.discriminatedUnion('transport', [
  z
    .object({
      transport: z.literal('stdio'),
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      /**
       * Added to a minimal default environment (PATH, HOME, …): the gateway's own
       * environment is not passed on. A value may name a brokered secret: `{ secret: "name" }`.
       */
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), ValueOrSecretSchema).default({}),
      cwd: z.string().optional(),
      /** Stop the process after this long without a call; it starts again on the next one. */
      idleStopMs: z.number().int().min(1000).default(300_000),
      ...Common,
    })
    .strict(),
  z
    .object({
      transport: z.literal('http'),
      url: z.string().url(),
      /** Sent on every upstream request; a value may name a brokered secret: `{ secret: "name", prefix: "Bearer " }`. */
      headers: z.record(z.string(), ValueOrSecretSchema).default({}),
      ...Common,
    })
    .strict()
    .superRefine((u, ctx) => {
      const header = u.transactionToken?.header.toLowerCase();
      for (const name of Object.keys(u.headers)) {
        if (name.toLowerCase() === header) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'this header carries the transaction token (`transactionToken.header`)' });
      }
    }),
]);

export type UpstreamConfig = z.output<typeof UpstreamSchema>;

export const UpstreamsSchema = z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'upstream names are lowercase letters, digits, `_` or `-`'), UpstreamSchema).default({});
export type UpstreamsConfig = z.output<typeof UpstreamsSchema>;

/** The catalog entries an upstream contributes: `<upstream>.<tool>` with its metadata. */
export function upstreamToolSpecs(upstreams: UpstreamsConfig): ToolSpec[] {
  return Object.entries(upstreams).flatMap(([upstream, config]) => [
    ...Object.entries(config.tools).map(([tool, meta]) => ({ name: `${upstream}.${tool}`, ...meta })),
    ...(config.resources ? [{ name: resourcesAction(upstream), ...config.resources }] : []),
    ...(config.prompts ? [{ name: promptsAction(upstream), ...config.prompts }] : []),
    ...CLIENT_FEATURES.flatMap((feature) => (config[feature] ? [{ name: `${upstream}.${feature}`, ...config[feature] }] : [])),
  ]);
}

/** What an upstream may ask of the agent's client during a call, each an action of its own. */
export const CLIENT_FEATURES = ['sampling', 'elicitation', 'roots'] as const;

/** The client capabilities the gateway declares to an upstream: the features its configuration lets it relay. */
export function relayedCapabilities(config: UpstreamConfig): Record<string, unknown> {
  return Object.fromEntries(CLIENT_FEATURES.filter((f) => config[f]).map((f) => [f, {}]));
}

/** The action that stands for reading any resource of an upstream. */
export const resourcesAction = (upstream: string) => `${upstream}.resources`;
/** The action that stands for getting any prompt of an upstream. */
export const promptsAction = (upstream: string) => `${upstream}.prompts`;

/** Splits `<upstream>.<tool>` at the first dot. */
export function splitToolName(name: string): { upstream: string; tool: string } | undefined {
  const dot = name.indexOf('.');
  return dot <= 0 || dot === name.length - 1 ? undefined : { upstream: name.slice(0, dot), tool: name.slice(dot + 1) };
}
