import { z } from 'zod';
import type { AgentId, CredentialId, TaskId } from '../core/index.js';
import { FORBIDDEN_PATH_SEGMENTS, TOOL_NAME } from '../core/index.js';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Largest `pattern` accepted: constraint regexes run on every call. */
export const MAX_PATTERN_LENGTH = 256;

/** How many `each` a constraint may nest (a list of lists of ... four deep). */
export const MAX_EACH_DEPTH = 4;
/** Longest list a list constraint checks; a longer one is refused rather than partly checked. */
export const MAX_LIST_ITEMS = 1000;
/** Most segments in a dotted argument path (`payment.iban` has two). */
export const MAX_ARG_PATH_DEPTH = 8;

/** A constraint on one argument (or, through `each`, on every item of a list argument). */
export interface ArgConstraint {
  equals?: string | number | boolean;
  oneOf?: (string | number | boolean)[];
  prefix?: string;
  pattern?: string;
  max?: number;
  min?: number;
  maxLength?: number;
  each?: ArgConstraint;
  subsetOf?: (string | number | boolean)[];
  minItems?: number;
  maxItems?: number;
  optional: boolean;
}
export type ArgConstraintInput = Omit<ArgConstraint, 'each' | 'optional'> & { each?: ArgConstraintInput; optional?: boolean };

/** The keys that constrain a value (`optional` only qualifies them). */
export const CONSTRAINT_KEYS = ['equals', 'oneOf', 'prefix', 'pattern', 'max', 'min', 'maxLength', 'each', 'subsetOf', 'minItems', 'maxItems'] as const;

// Built to a fixed depth rather than recursively: a mandate is agent input, and parsing must stay bounded.
function argConstraintSchema(level: number): z.ZodType<ArgConstraint, ArgConstraintInput> {
  const each = level < MAX_EACH_DEPTH ? argConstraintSchema(level + 1) : z.never({ error: `\`each\` nests at most ${MAX_EACH_DEPTH} levels deep` });
  return z
    .object({
      equals: Scalar.optional(),
      oneOf: z.array(Scalar).min(1).max(256).optional(),
      prefix: z.string().min(1).max(1024).optional(),
      /** A JavaScript regular expression the whole value must match. */
      pattern: z
        .string()
        .min(1)
        .max(MAX_PATTERN_LENGTH)
        .refine(isCompilableRegex, 'not a valid regular expression')
        .optional(),
      max: z.number().finite().optional(),
      min: z.number().finite().optional(),
      maxLength: z.number().int().nonnegative().optional(),
      /** The value is a list and every item satisfies this constraint. */
      each: each.optional(),
      /** The value is a list and every item is one of these. */
      subsetOf: z.array(Scalar).min(1).max(256).optional(),
      minItems: z.number().int().nonnegative().max(MAX_LIST_ITEMS).optional(),
      maxItems: z.number().int().nonnegative().max(MAX_LIST_ITEMS).optional(),
      /** A constrained argument must be present unless marked optional (fail closed). */
      optional: z.boolean().default(false),
    })
    .strict()
    .superRefine((c, ctx) => {
      if (!Object.keys(c).some((k) => k !== 'optional')) ctx.addIssue({ code: 'custom', message: `a constraint needs at least one of ${CONSTRAINT_KEYS.join(', ')}` });
      if (c.minItems !== undefined && c.maxItems !== undefined && c.minItems > c.maxItems) ctx.addIssue({ code: 'custom', path: ['minItems'], message: '`minItems` is larger than `maxItems`' });
      if (c.min !== undefined && c.max !== undefined && c.min > c.max) ctx.addIssue({ code: 'custom', path: ['min'], message: '`min` is larger than `max`' });
    }) as unknown as z.ZodType<ArgConstraint, ArgConstraintInput>;
}

export const ArgConstraintSchema = argConstraintSchema(0);

/** An argument name, or a dotted path into an object argument (`payment.iban`). */
const ArgPathSchema = z
  .string()
  .min(1)
  .max(128)
  .superRefine((name, ctx) => {
    const segments = name.split('.');
    if (segments.length > MAX_ARG_PATH_DEPTH) ctx.addIssue({ code: 'custom', message: `argument path \`${name}\` has more than ${MAX_ARG_PATH_DEPTH} segments` });
    else if (segments.some((s) => s === '')) ctx.addIssue({ code: 'custom', message: `argument path \`${name}\` has an empty segment` });
    else if (segments.length > 1 && segments.some((s) => FORBIDDEN_PATH_SEGMENTS.includes(s))) ctx.addIssue({ code: 'custom', message: `argument path \`${name}\` names a prototype property` });
  });

const ToolGrantSchema = z
  .object({
    name: z.string().regex(TOOL_NAME, 'expected `<server>.<tool>`'),
    args: z.record(ArgPathSchema, ArgConstraintSchema).default({}),
  })
  .strict();

export const MandateSchema = z
  .object({
    purpose: z.string().trim().min(1).max(2000),
    tools: z
      .array(z.union([z.string().regex(TOOL_NAME, 'expected `<server>.<tool>`').transform((name) => ({ name, args: {} as Record<string, ArgConstraint> })), ToolGrantSchema]))
      .min(1)
      .max(100),
    dataClasses: z.array(z.string().min(1).max(64)).max(32).default([]),
    /** Labels the task may send out once it has read them (a declared flow): `["confidential"]` lets a confidential read be exported. */
    egress: z.array(z.string().min(1).max(64)).max(32).default([]),
    limits: z
      .object({
        maxCalls: z.number().int().positive().optional(),
        maxCallsPerMinute: z.number().int().positive().optional(),
        maxResultBytes: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    ttlSeconds: z.number().int().min(10).max(86_400).default(900),
    onBehalfOf: z.string().min(1).max(256).optional(),
    /** The order the task means to use its tools in; a call out of that order is the `plan_deviation` drift signal. */
    plan: z.array(z.string().regex(TOOL_NAME, 'expected `<server>.<tool>`')).min(1).max(100).optional(),
    parentTask: z.string().min(1).max(80).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.tools.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `tool \`${t.name}\` is declared twice` });
      seen.add(t.name);
    });
    m.plan?.forEach((step, i) => {
      if (!seen.has(step)) ctx.addIssue({ code: 'custom', path: ['plan', i], message: `plan step \`${step}\` is not a declared tool` });
    });
  });

export type MandateInput = z.input<typeof MandateSchema>;
export type Mandate = z.output<typeof MandateSchema>;
export type ToolGrant = Mandate['tools'][number];

function isCompilableRegex(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

export type TaskStatus = 'active' | 'completed' | 'revoked';

/** A granted mandate and the live state of the task it authorises. */
/** One task a task was delegated from: its id and the agent that held it. */
export interface DelegationLink {
  taskId: TaskId;
  agentId: AgentId;
  spiffeId: string;
}

/** The SPIFFE ids of the agents a task was delegated from (what policies see as `context.delegation.chain`). */
export function delegatorsOf(task: Pick<Task, 'chain'>): string[] {
  return task.chain.map((link) => link.spiffeId);
}

export const DelegationChainSchema = z.array(z.object({ taskId: z.string(), agentId: z.string(), spiffeId: z.string() }).strict()) as unknown as z.ZodType<DelegationLink[]>;

export interface Task {
  id: TaskId;
  agentId: AgentId;
  agentName: string;
  spiffeId: string;
  mandate: Mandate;
  principal: string | null;
  parentTaskId: TaskId | null;
  delegationDepth: number;
  /** The tasks it was delegated from, its parent first (empty for a root task). */
  chain: DelegationLink[];
  status: TaskStatus;
  credentialId: CredentialId;
  createdAtMs: number;
  expiresAtMs: number;
  endedAtMs: number | null;
  endReason: string | null;
  callCount: number;
}

/** One item of a mandate the ceiling refused at grant time. */
export interface RefusedItem {
  item: string;
  code: string;
  reason: string;
  policyIds: string[];
}
