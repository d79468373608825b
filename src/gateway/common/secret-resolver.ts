import type { ValueOrSecret } from '../../secrets/index.js';

/** Resolves literal-or-secret values (env, headers) for an upstream; the values never leave the gateway. */
export interface SecretResolver {
  resolveAll(values: Record<string, ValueOrSecret>, usedBy: string): Promise<{ values: Record<string, string>; secrets: { value: string }[] }>;
}
