import type { ApiConfig } from './http-upstream-config.js';

/**
 * The headers the gateway adds to every request it forwards to this upstream.
 * INVARIANT: the only place upstream credentials enter a forwarded request, so
 * brokered secrets (references resolved at call time, never shown to the agent,
 * never logged or audited) plug in here; for now the values are plain strings
 * from the configuration. Async so that resolving a reference does not change
 * the callers.
 */
export async function upstreamHeaders(config: Pick<ApiConfig, 'headers'>): Promise<Record<string, string>> {
  return { ...config.headers };
}
