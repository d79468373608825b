import { CodedError } from '../core/index.js';
import type { ArgConstraint, Mandate, ToolGrant } from './model.js';

/**
 * Is this call inside the mandate's declared scope? Returns the grant for the
 * tool. Errors: mandate.tool_not_declared, mandate.arg_constraint.
 */
export function checkCallAgainstMandate(mandate: Mandate, tool: string, args: Record<string, unknown>): ToolGrant {
  const grant = mandate.tools.find((t) => t.name === tool);
  if (!grant) throw new CodedError('mandate.tool_not_declared', `tool \`${tool}\` is not declared in the task mandate`);
  for (const [name, constraint] of Object.entries(grant.args)) {
    const violation = checkArg(constraint, Object.hasOwn(args, name) ? args[name] : undefined);
    if (violation) throw new CodedError('mandate.arg_constraint', `argument \`${name}\` ${violation}`, { tool, arg: name });
  }
  return grant;
}

/** The reason a value breaks a constraint, or null when it satisfies every part of it. */
export function checkArg(c: ArgConstraint, value: unknown): string | null {
  if (value === undefined || value === null) return c.optional ? null : 'is required by the mandate';
  if (c.equals !== undefined && value !== c.equals) return `must equal \`${String(c.equals)}\``;
  if (c.oneOf !== undefined && !c.oneOf.some((v) => v === value)) return `must be one of ${c.oneOf.map((v) => `\`${String(v)}\``).join(', ')}`;
  if (c.prefix !== undefined) {
    if (typeof value !== 'string') return 'must be a string';
    if (!value.startsWith(c.prefix)) return `must start with \`${c.prefix}\``;
    // A prefix on a path must not be escaped with `..` (`/tmp/../etc/passwd` starts with `/tmp/`).
    if (hasDotDotSegment(value.slice(c.prefix.length))) return 'must not contain `..` segments';
  }
  if (c.pattern !== undefined) {
    if (typeof value !== 'string') return 'must be a string';
    if (!new RegExp(`^(?:${c.pattern})$`, 'u').test(value)) return `must match \`${c.pattern}\``;
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
  return null;
}

function hasDotDotSegment(rest: string): boolean {
  return rest.split(/[\\/]/).some((segment) => segment === '..');
}
