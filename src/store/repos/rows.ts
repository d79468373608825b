import { z } from 'zod';

// Rows come from outside the process: JSON columns are parsed with schemas before the domain sees them.
export const StringArrayJson = z.array(z.string());
export const DataJson = z.record(z.string(), z.unknown());

/** Parses a JSON column with `schema`; a row that does not match is corrupt, never passed on. */
export function parseJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new TypeError(`store: corrupt ${what} row: ${parsed.error.message}`);
  return parsed.data;
}

/** A nullable integer column as a number or null. */
export const numberOrNull = (v: number | null): number | null => (v === null ? null : Number(v));
