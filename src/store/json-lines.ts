import { readFile } from 'node:fs/promises';
import type { z } from 'zod';

/** One non-empty line of a JSON-lines file: its value when it parses and fits the schema. */
export interface JsonLine<T> {
  /** 1-based. */
  number: number;
  value: T | undefined;
  /** The last line, without its newline: cut short by a crash mid-append. */
  last: boolean;
}

/** The non-empty lines of a JSON-lines file, each parsed with `schema`; none for a file that does not exist. */
export async function readJsonLines<S extends z.ZodType>(file: string, schema: S): Promise<JsonLine<z.output<S>>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  const out: JsonLine<z.output<S>>[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    let parsed;
    try {
      parsed = schema.safeParse(JSON.parse(line));
    } catch {
      parsed = undefined;
    }
    out.push({ number: i + 1, value: parsed?.success ? parsed.data : undefined, last: i === lines.length - 1 });
  });
  return out;
}
