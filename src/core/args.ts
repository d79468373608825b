/** Path segments that never name an argument: they would reach an object's prototype. */
export const FORBIDDEN_PATH_SEGMENTS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/**
 * The value an argument name reaches: a dotted name walks into objects through
 * own properties only. A missing or null object on the way means the value is
 * absent; anything else on the way that is not an object is an error, named.
 * Shared by the mandate's constraints and the provenance of a call's targets,
 * so both read the same value for the same name.
 */
export function resolveArg(args: Record<string, unknown>, name: string): { value: unknown } | { error: string } {
  if (!name.includes('.')) return { value: Object.hasOwn(args, name) ? args[name] : undefined };
  const segments = name.split('.');
  let current: unknown = args;
  for (const [i, segment] of segments.entries()) {
    if (current === undefined || current === null) return { value: undefined };
    if (typeof current !== 'object' || Array.isArray(current)) return { error: `cannot be reached: \`${segments.slice(0, i).join('.')}\` must be an object` };
    // Never the prototype chain: a segment like `__proto__` names nothing, even as an own key.
    if (FORBIDDEN_PATH_SEGMENTS.includes(segment) || !Object.hasOwn(current, segment)) return { value: undefined };
    current = (current as Record<string, unknown>)[segment];
  }
  return { value: current };
}
