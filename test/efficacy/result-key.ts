/** The key a scenario result is looked up by: the tool and its arguments, keys sorted at every depth. */
export function resultKey(tool: string, args: Record<string, unknown>): string {
  return `${tool} ${sorted(args)}`;
}

function sorted(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sorted).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sorted(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
