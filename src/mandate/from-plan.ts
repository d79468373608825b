import { z } from 'zod';
import { CodedError, FORBIDDEN_PATH_SEGMENTS, formatZodError, TOOL_NAME } from '../core/index.js';
import { ArgConstraintSchema, CONSTRAINT_KEYS, MandateSchema, MAX_ARG_PATH_DEPTH, MAX_LIST_ITEMS, type ArgConstraint, type ArgConstraintInput, type MandateInput } from './model.js';

/** `limits.maxCalls` a plan gets unless it says otherwise: room for retries and paging, still a bound. */
export const PLAN_CALLS_PER_STEP = 3;
/** Longest stated string: a recipient, an IBAN or a URL, not a document. */
export const MAX_STATED_STRING_LENGTH = 2048;
/** Most distinct values one argument may be stated with (the size `oneOf` accepts). */
export const MAX_STATED_VALUES = 256;

/** Keys that make an object argument a constraint (`{ "max": 1200 }`) rather than stated field values. */
const CONSTRAINT_KEY_SET = new Set<string>([...CONSTRAINT_KEYS, 'optional']);

const PlanStepSchema = z
  .object({
    tool: z.string().regex(TOOL_NAME, 'expected `<server>.<tool>`'),
    /** The values the user stated for this call, or constraints on them; arguments left out stay unconstrained. */
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const M = MandateSchema.shape;

/** An agent's declared plan: the tools it will call, in order, and the values the user stated. */
export const PlanSchema = z
  .object({
    purpose: M.purpose,
    onBehalfOf: M.onBehalfOf,
    steps: z.array(PlanStepSchema).min(1).max(100),
    ttlSeconds: M.ttlSeconds,
    dataClasses: M.dataClasses,
    egress: M.egress,
    /** Overrides the derived limits; `maxCalls` defaults to PLAN_CALLS_PER_STEP × steps. */
    limits: M.limits,
    parentTask: M.parentTask,
  })
  .strict();

export type PlanInput = z.input<typeof PlanSchema>;
export type Plan = z.output<typeof PlanSchema>;

/** The mandate a plan gives: every tool in object form, `plan` and `limits.maxCalls` always set. */
export type PlanMandate = MandateInput & { tools: { name: string; args: Record<string, ArgConstraintInput> }[]; plan: string[]; limits: NonNullable<MandateInput['limits']> };

type Scalar = string | number | boolean;

/** What the steps state for one argument path of one tool, merged across steps. */
type Stated =
  | { kind: 'value'; values: Scalar[]; step: number }
  | { kind: 'list'; items: Scalar[]; maxItems: number; step: number }
  | { kind: 'constraint'; constraint: ArgConstraint; step: number };

const KIND_WORD = { value: 'a single value', list: 'a list', constraint: 'a constraint' } as const;

/**
 * The mandate a plan asks for. Each distinct tool is declared; a stated value
 * becomes `oneOf` every value stated for that argument across the steps, a
 * stated list `each: { oneOf }` with `maxItems` the longest list, an object of
 * constraint keys passes through as a constraint and a nested object of values
 * becomes dotted paths. A step that states nothing for an argument does not lift
 * what another step of the same tool states. `plan` is the step order. Values
 * are kept as stated. Throws `mandate.invalid` naming every wrong field.
 */
export function mandateFromPlan(input: unknown): PlanMandate {
  const parsed = PlanSchema.safeParse(input);
  if (!parsed.success) throw new CodedError('mandate.invalid', `plan: ${formatZodError(parsed.error)}`);
  const plan = parsed.data;

  const issues: string[] = [];
  const tools = new Map<string, Map<string, Stated>>();
  plan.steps.forEach((step, i) => {
    const args = tools.get(step.tool) ?? new Map<string, Stated>();
    tools.set(step.tool, args);
    const where = `steps.${i}.args`;
    const add = (path: string, stated: Stated) => {
      const before = args.get(path);
      const merged = before ? merge(before, stated, step.tool, path, issues) : stated;
      if (merged) args.set(path, merged);
    };
    for (const [name, value] of Object.entries(step.args)) walk(value, [], name, i, where, add, issues);
  });
  for (const [tool, args] of tools) {
    for (const [path, stated] of args) {
      const count = stated.kind === 'value' ? stated.values.length : stated.kind === 'list' ? stated.items.length : 0;
      if (count > MAX_STATED_VALUES) issues.push(`steps: \`${path}\` of \`${tool}\` is stated with ${count} distinct values, more than ${MAX_STATED_VALUES}`);
    }
  }
  if (issues.length) throw new CodedError('mandate.invalid', `plan: ${issues.join('; ')}`);

  const mandate: PlanMandate = {
    purpose: plan.purpose,
    tools: [...tools].map(([name, args]) => ({ name, args: Object.fromEntries([...args].map(([path, stated]) => [path, constraintOf(stated)])) })),
    dataClasses: plan.dataClasses,
    egress: plan.egress,
    limits: { ...plan.limits, maxCalls: plan.limits.maxCalls ?? PLAN_CALLS_PER_STEP * plan.steps.length },
    ttlSeconds: plan.ttlSeconds,
    plan: plan.steps.map((s) => s.tool),
    ...(plan.onBehalfOf !== undefined ? { onBehalfOf: plan.onBehalfOf } : {}),
    ...(plan.parentTask !== undefined ? { parentTask: plan.parentTask } : {}),
  };
  // The plan checks should leave nothing for the mandate schema to refuse; if one slips through, say so here, not at grant.
  const check = MandateSchema.safeParse(mandate);
  if (!check.success) throw new CodedError('mandate.invalid', `plan gives an invalid mandate: ${formatZodError(check.error)}`);
  return mandate;
}

function walk(value: unknown, parent: string[], key: string, step: number, where: string, add: (path: string, s: Stated) => void, issues: string[]): void {
  // Keys split on dots as the mandate reads them, so `"payment.iban"` and `{ payment: { iban } }` name the same argument.
  const segments = key.split('.');
  const path = [...parent, ...segments];
  const at = `${where}.${path.join('.')}`;
  if (segments.some((s) => s === '')) return void issues.push(`${at}: an argument name has an empty segment`);
  if (segments.some((s) => FORBIDDEN_PATH_SEGMENTS.includes(s))) return void issues.push(`${at}: \`${key}\` names a prototype property`);
  if (path.length > MAX_ARG_PATH_DEPTH) return void issues.push(`${at}: nested more than ${MAX_ARG_PATH_DEPTH} levels deep`);
  // An argument written as `undefined` in code is an argument not stated.
  if (value === undefined) return;

  if (Array.isArray(value)) {
    if (value.length === 0) return void issues.push(`${at}: an empty list states nothing; leave the argument out, or give a constraint such as \`{ "maxItems": 0 }\``);
    if (value.length > MAX_LIST_ITEMS) return void issues.push(`${at}: a list of more than ${MAX_LIST_ITEMS} items`);
    const items: Scalar[] = [];
    value.forEach((item, k) => {
      const problem = scalarProblem(item);
      if (problem) issues.push(`${at}.${k}: ${problem}`);
      else items.push(item as Scalar);
    });
    if (items.length === value.length) add(path.join('.'), { kind: 'list', items: distinct(items), maxItems: value.length, step });
    return;
  }
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 0) return void issues.push(`${at}: an empty object states nothing; leave the argument out`);
    const constraintKeys = keys.filter((k) => CONSTRAINT_KEY_SET.has(k));
    if (constraintKeys.length === keys.length) {
      const parsed = ArgConstraintSchema.safeParse(value);
      if (!parsed.success) return void issues.push(...parsed.error.issues.map((i) => `${[at, ...i.path].join('.')}: ${i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.message}`));
      return add(path.join('.'), { kind: 'constraint', constraint: parsed.data, step });
    }
    if (constraintKeys.length > 0) {
      const fields = keys.filter((k) => !CONSTRAINT_KEY_SET.has(k));
      return void issues.push(`${at}: mixes constraint keys (${constraintKeys.join(', ')}) with fields (${fields.join(', ')}); give either a constraint or the stated values of its fields`);
    }
    for (const [k, v] of Object.entries(value)) walk(v, path, k, step, where, add, issues);
    return;
  }
  const problem = scalarProblem(value);
  if (problem) return void issues.push(`${at}: ${problem}`);
  add(path.join('.'), { kind: 'value', values: [value as Scalar], step });
}

/** Why a value cannot be a stated scalar, or undefined when it can. */
function scalarProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.trim() === '') return 'an empty string states nothing';
    if (value.length > MAX_STATED_STRING_LENGTH) return `a value longer than ${MAX_STATED_STRING_LENGTH} characters`;
    return undefined;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${value} is not a finite number`;
  if (typeof value === 'boolean') return undefined;
  if (value === null) return 'null states nothing; leave the argument out';
  return `expected a string, number, boolean, list or object, got ${Array.isArray(value) ? 'a nested list' : typeof value}`;
}

function merge(a: Stated, b: Stated, tool: string, path: string, issues: string[]): Stated | undefined {
  const where = `steps.${b.step}.args.${path}`;
  if (a.kind !== b.kind) {
    issues.push(`${where}: \`${path}\` of \`${tool}\` is ${KIND_WORD[a.kind]} in step ${a.step} and ${KIND_WORD[b.kind]} here`);
    return undefined;
  }
  if (a.kind === 'value' && b.kind === 'value') return { ...a, values: distinct([...a.values, ...b.values]) };
  if (a.kind === 'list' && b.kind === 'list') return { ...a, items: distinct([...a.items, ...b.items]), maxItems: Math.max(a.maxItems, b.maxItems) };
  if (a.kind === 'constraint' && b.kind === 'constraint') {
    // Two different constraints have no general union; a silent pick would loosen or tighten one step's call.
    if (JSON.stringify(a.constraint) === JSON.stringify(b.constraint)) return a;
    issues.push(`${where}: \`${path}\` of \`${tool}\` has a different constraint in step ${a.step}; state one constraint for it`);
  }
  return undefined;
}

function constraintOf(s: Stated): ArgConstraintInput {
  if (s.kind === 'value') return { oneOf: s.values };
  if (s.kind === 'list') return { each: { oneOf: s.items }, maxItems: s.maxItems };
  return s.constraint;
}

/** Distinct by type and value: `1` and `"1"` are different statements. */
function distinct(values: Scalar[]): Scalar[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = `${typeof v}:${String(v)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
