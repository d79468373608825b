import { createHash } from 'node:crypto';

export function sha256Hex(input: string): string {
  return createHash('sha256').update(input).digest('hex');
}

/**
 * JSON with object keys sorted at every depth, so equal values hash equally
 * whatever order their keys were written in (audit chain, argument hashes).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // Null prototype: a key named `__proto__` (JSON.parse makes it an own property) must be kept, not set the
    // prototype and vanish, or `{ "amount": 5, "__proto__": ... }` would hash like `{ "amount": 5 }` and use its approval.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
