import { z } from 'zod';
import type { AgentId, CredentialId, TaskId } from '../core/index.js';
import { TOOL_NAME } from '../core/index.js';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Largest `pattern` accepted: constraint regexes run on every call. */
export const MAX_PATTERN_LENGTH = 256;

export const ArgConstraintSchema = z
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
    /** A constrained argument must be present unless marked optional (fail closed). */
    optional: z.boolean().default(false),
  })
  .strict()
  .refine((c) => Object.keys(c).some((k) => k !== 'optional'), 'a constraint needs at least one of equals, oneOf, prefix, pattern, max, min, maxLength');

export type ArgConstraint = z.infer<typeof ArgConstraintSchema>;

const ToolGrantSchema = z
  .object({
    name: z.string().regex(TOOL_NAME, 'expected `<server>.<tool>`'),
    args: z.record(z.string().min(1).max(128), ArgConstraintSchema).default({}),
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
export interface Task {
  id: TaskId;
  agentId: AgentId;
  agentName: string;
  spiffeId: string;
  mandate: Mandate;
  principal: string | null;
  parentTaskId: TaskId | null;
  delegationDepth: number;
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
