import { z } from 'zod';
import { FORBIDDEN_PATH_SEGMENTS } from './args.js';
import { ToolParamsSchema } from './params.js';

/**
 * What kind of action a tool performs. Each kind is a Cedar action that is a
 * member of the `call_tool` group, so one policy can speak of all tool calls.
 */
export const TOOL_KINDS = ['read', 'write', 'delete', 'export', 'send', 'payment', 'execute', 'retrieve_secret'] as const;
export type ToolKind = (typeof TOOL_KINDS)[number];

export const RISKS = ['low', 'medium', 'high', 'critical'] as const;
export type Risk = (typeof RISKS)[number];

/** Tool names are namespaced `<server>.<tool>`; the server part is the tool's group in policy. */
export const TOOL_NAME = /^[a-z][a-z0-9_-]*\.[A-Za-z0-9_.-]+$/;

const LabelRuleSchema = z
  .object({
    arg: z.string().min(1).max(128),
    prefix: z.string().min(1).max(1024).optional(),
    equals: z.string().max(1024).optional(),
    labels: z.array(z.string().min(1).max(64)).min(1).max(32),
  })
  .strict()
  .refine((r) => r.prefix !== undefined || r.equals !== undefined, 'a label rule needs `prefix` or `equals`');

/** A tool's further kinds, besides its `kind`. */
export const ToolEffectsSchema = z.array(z.enum(TOOL_KINDS)).max(TOOL_KINDS.length);
/** A tool's policy-only tags. */
export const ToolTagsSchema = z.array(z.string().min(1).max(64)).max(32);

export const ToolSpecSchema = z
  .object({
    name: z.string().regex(TOOL_NAME, 'expected `<server>.<tool>` in lowercase letters, digits, `_` or `-`'),
    kind: z.enum(TOOL_KINDS),
    /**
     * Further kinds the tool also performs (a calendar `write` that e-mails the
     * participants: `[send]`). A call is decided under its `kind` and under each
     * effect, and allowed only when all allow.
     */
    effects: ToolEffectsSchema.optional(),
    risk: z.enum(RISKS).default('low'),
    /** Labels every result of this tool carries (confidential, pii, secret, untrusted, ...); policy sees them as `resource.labels`. */
    labels: z.array(z.string().min(1).max(64)).max(32).default([]),
    /** Tags for policy only (`resource.tags`): results do not carry them. */
    tags: ToolTagsSchema.optional(),
    /**
     * Labels that depend on the resource a call touches: a result of a call whose
     * argument matches carries these labels too (`{ arg: "path", prefix: "/srv/hr/", labels: ["confidential", "pii"] }`).
     */
    labelRules: z.array(LabelRuleSchema).max(64).optional(),
    description: z.string().max(1000).default(''),
    /**
     * The arguments that name where the call goes — recipients, an IBAN, a URL,
     * participants (dotted paths for nested fields). Each value's provenance
     * (declared, trusted, untrusted, unseen) reaches policy as `context.call`.
     */
    targets: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,128}(?:\.[A-Za-z0-9_-]{1,128}){0,7}$/, 'an argument name, or a dotted path to a nested field')
          .refine((path) => !path.includes('.') || !path.split('.').some((s) => FORBIDDEN_PATH_SEGMENTS.includes(s)), 'a dotted path may not name a prototype property'),
      )
      .max(16)
      .optional(),
    /**
     * Fields of an untrusted result that name who wrote it (an e-mail's `from`, a
     * chat message's `user`): their values are the counterparty, someone the task
     * may answer, rather than untrusted content.
     */
    counterparty: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a result field name')).max(8).optional(),
    /**
     * Fields of a result that other people write, in a tool whose results are
     * otherwise trusted: an event's `description`, a profile's `status`, a
     * payment's `reference`. Their values count as untrusted content, and a
     * result with one filled makes the task untrusted.
     */
    untrustedFields: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a result field name')).max(16).optional(),
    /** The tool's parameters, when known: a mandate constraint on an argument the tool lacks, or of the wrong type, is refused at grant time. */
    params: ToolParamsSchema.optional(),
  })
  .strict();

export type ToolSpec = z.infer<typeof ToolSpecSchema>;

/** The labels a result carries: the tool's own, plus those of every rule the call's arguments match. */
export function resultLabels(tool: ToolSpec | undefined, args: Record<string, unknown>): string[] {
  if (!tool) return [];
  const out = new Set(tool.labels);
  for (const rule of tool.labelRules ?? []) {
    const value = Object.hasOwn(args, rule.arg) ? args[rule.arg] : undefined;
    if (typeof value !== 'string') continue;
    // A `..` segment could step out of the prefix the rule names: such a value matches every prefix rule (fail towards more labels).
    const escapes = value.split(/[\\/]/).includes('..');
    const matches = (rule.equals === undefined || value === rule.equals) && (rule.prefix === undefined || value.startsWith(rule.prefix) || escapes);
    if (matches) for (const l of rule.labels) out.add(l);
  }
  return [...out];
}

/**
 * The kinds a call is decided under besides the tool's `kind`: each once, in
 * order, without the kind itself. Empty for most tools.
 */
export function extraKinds(tool: Pick<ToolSpec, 'kind' | 'effects'>): ToolKind[] {
  const effects = tool.effects;
  if (effects === undefined || effects.length === 0) return [];
  const out: ToolKind[] = [];
  for (const e of effects) if (e !== tool.kind && !out.includes(e)) out.push(e);
  return out;
}

export function toolGroup(toolName: string): string {
  const dot = toolName.indexOf('.');
  return dot === -1 ? toolName : toolName.slice(0, dot);
}

/** The tools the control plane knows; a call to a tool outside it is denied. */
export interface ToolCatalog {
  get(name: string): ToolSpec | undefined;
  list(): readonly ToolSpec[];
}

export function toolCatalog(tools: readonly ToolSpec[]): ToolCatalog {
  const byName = new Map(tools.map((t) => [t.name, Object.freeze({ ...t, labels: [...t.labels] })]));
  if (byName.size !== tools.length) throw new TypeError('tool catalog: duplicate tool names');
  const list = Object.freeze([...byName.values()]);
  return { get: (name) => byName.get(name), list: () => list };
}

/** A catalog that also takes tools registered at run time (through the API); the configured ones cannot be replaced. */
export interface MutableToolCatalog extends ToolCatalog {
  /** False when the name belongs to a configured tool. */
  register(spec: ToolSpec): boolean;
}

export function mutableToolCatalog(fixed: readonly ToolSpec[]): MutableToolCatalog {
  const base = toolCatalog(fixed);
  const registered = new Map<string, ToolSpec>();
  let list: readonly ToolSpec[] = base.list();
  return {
    get: (name) => base.get(name) ?? registered.get(name),
    list: () => list,
    register: (spec) => {
      if (base.get(spec.name)) return false;
      registered.set(spec.name, Object.freeze({ ...spec, labels: [...spec.labels] }));
      list = Object.freeze([...base.list(), ...registered.values()]);
      return true;
    },
  };
}
