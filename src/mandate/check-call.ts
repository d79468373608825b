import { CodedError, resolveArg } from '../core/index.js';
import { MAX_LIST_ITEMS, type ArgConstraint, type Mandate, type ToolGrant } from './model.js';

/** Most list items one argument's check visits, over all levels of `each`: past it the call is refused, never partly checked. */
export const MAX_CHECKED_ITEMS = 10_000;

/**
 * Is this call inside the mandate's declared scope? Returns the grant for the
 * tool. Errors: mandate.tool_not_declared, mandate.arg_constraint.
 */
export function checkCallAgainstMandate(mandate: Mandate, tool: string, args: Record<string, unknown>): ToolGrant {
  const grant = mandate.tools.find((t) => t.name === tool);
  if (!grant) throw new CodedError('mandate.tool_not_declared', `tool \`${tool}\` is not declared in the task mandate`);
  for (const [name, constraint] of Object.entries(grant.args)) {
    const found = resolveArg(args, name);
    const violation = 'error' in found ? found.error : checkArg(constraint, found.value);
    if (violation) throw new CodedError('mandate.arg_constraint', `argument \`${name}\` ${violation}`, { tool, arg: name });
  }
  return grant;
}

/** The reason a value breaks a constraint, or null when it satisfies every part of it. */
export function checkArg(c: ArgConstraint, value: unknown): string | null {
  return check(c, value, { left: MAX_CHECKED_ITEMS });
}

function check(c: ArgConstraint, value: unknown, budget: { left: number }): string | null {
  if (value === undefined || value === null) return c.optional ? null : 'is required by the mandate';
  if (Array.isArray(value)) {
    // A scalar constraint never applies to a list: wrapping a value in a list must not get it past `equals` or `oneOf`.
    const scalar = (['equals', 'oneOf', 'prefix', 'pattern', 'min', 'max'] as const).find((k) => c[k] !== undefined);
    if (scalar) return `is a list: \`${scalar}\` applies to a single value (use \`each\` for the items of a list)`;
  }
  if (c.equals !== undefined && value !== c.equals) return `must equal \`${String(c.equals)}\``;
  if (c.oneOf !== undefined && !c.oneOf.some((v) => v === value)) return `must be one of ${list(c.oneOf)}`;
  if (c.prefix !== undefined) {
    if (typeof value !== 'string') return 'must be a string';
    if (!value.startsWith(c.prefix)) return `must start with \`${c.prefix}\``;
    // A prefix on a path must not be escaped with `..` (`/tmp/../etc/passwd` starts with `/tmp/`).
    if (hasDotDotSegment(value.slice(c.prefix.length))) return 'must not contain `..` segments';
  }
  if (c.pattern !== undefined) {
    if (typeof value !== 'string') return 'must be a string';
    if (!regexOf(c.pattern).test(value)) return `must match \`${c.pattern}\``;
  }
  if (c.max !== undefined || c.min !== undefined) {
    if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
    if (c.max !== undefined && value > c.max) return `must be at most ${c.max}`;
    if (c.min !== undefined && value < c.min) return `must be at least ${c.min}`;
  }
  if (c.maxLength !== undefined) {
    const length = typeof value === 'string' || Array.isArray(value) ? value.length : JSON.stringify(value).length;
    if (length > c.maxLength) return `must be at most ${c.maxLength} long`;
  }
  if (c.each === undefined && c.subsetOf === undefined && c.minItems === undefined && c.maxItems === undefined) return null;
  if (!Array.isArray(value)) return 'must be a list';
  if (value.length > MAX_LIST_ITEMS) return `has ${value.length} items: lists over ${MAX_LIST_ITEMS} items are not checked`;
  if (c.minItems !== undefined && value.length < c.minItems) return `must have at least ${c.minItems} item${c.minItems === 1 ? '' : 's'}`;
  if (c.maxItems !== undefined && value.length > c.maxItems) return `must have at most ${c.maxItems} item${c.maxItems === 1 ? '' : 's'}`;
  budget.left -= value.length;
  if (budget.left < 0) return `holds too many nested items to check (over ${MAX_CHECKED_ITEMS})`;
  if (c.subsetOf !== undefined) {
    const allowed = c.subsetOf;
    const stray = value.findIndex((item) => !allowed.some((v) => v === item));
    if (stray !== -1) return `item ${stray} must be one of ${list(allowed)}`;
  }
  if (c.each !== undefined) {
    for (const [i, item] of value.entries()) {
      const violation = check(c.each, item, budget);
      if (violation) return `item ${i} ${violation}`;
    }
  }
  return null;
}

const compiled = new Map<string, RegExp>();

// Compiled once per pattern: an `each` with a pattern runs it on every item. Patterns are few (they come from granted mandates) but the cache is bounded anyway.
function regexOf(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

function list(values: readonly (string | number | boolean)[]): string {
  return values.map((v) => `\`${String(v)}\``).join(', ');
}

function hasDotDotSegment(rest: string): boolean {
  return rest.split(/[\\/]/).some((segment) => segment === '..');
}
