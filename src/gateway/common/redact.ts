const MASK = '[redacted]';
const WITHHELD = `${MASK}: this text cannot be redacted field by field, so it is withheld`;

/**
 * The redact obligation on an upstream result (a tool result, resource contents,
 * a prompt): every named field, at any depth, is masked; a `text` string is read
 * as JSON and redacted inside. Text that is not JSON cannot be redacted by field,
 * so it is withheld rather than passed on unredacted (fail closed).
 */
export function redactResult<T>(result: T, fields: readonly string[]): { result: T; count: number } {
  if (fields.length === 0) return { result, count: 0 };
  const names = new Set(fields);
  let count = 0;
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (key === 'text' && typeof v === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        count += 1;
        return WITHHELD;
      }
      return JSON.stringify(walk(parsed, undefined));
    }
    if (Array.isArray(v)) return v.map((item) => walk(item, undefined));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) {
        if (names.has(k)) {
          count += 1;
          out[k] = MASK;
        } else out[k] = walk(inner, k);
      }
      return out;
    }
    return v;
  };
  return { result: walk(result, undefined) as T, count };
}
