import type { SecretResolver } from '../index.js';
import type { ApiConfig } from './http-upstream-config.js';

/** How long resolved header values are reused: a rotated secret reaches the upstream within this. */
const RESOLVED_TTL_MS = 60_000;

/**
 * The headers the gateway adds to every request it forwards to one API.
 * INVARIANT: the only place upstream credentials enter a forwarded request.
 * Secret references are resolved through the vault (which audits the secret's
 * name and version, never its value) and reused for a minute.
 */
export class UpstreamHeaders {
  private cached: { values: Record<string, string>; atMs: number } | undefined;

  constructor(
    private readonly api: string,
    private readonly config: Pick<ApiConfig, 'headers'>,
    private readonly secrets: SecretResolver,
    private readonly nowMs: () => number,
  ) {}

  /** Errors: gateway.secret_unavailable. */
  async get(): Promise<Record<string, string>> {
    const now = this.nowMs();
    if (this.cached && now - this.cached.atMs < RESOLVED_TTL_MS) return this.cached.values;
    const { values } = await this.secrets.resolveAll(this.config.headers, `api:${this.api}`);
    this.cached = { values, atMs: now };
    return values;
  }
}
