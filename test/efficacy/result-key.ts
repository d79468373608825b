import { canonicalJson } from '../../src/core/index.js';

/** The key a scenario result is looked up by: the tool and its arguments, keys sorted at every depth. */
export function resultKey(tool: string, args: Record<string, unknown>): string {
  return `${tool} ${canonicalJson(args)}`;
}
