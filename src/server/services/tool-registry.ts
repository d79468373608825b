import type { Actor, AuditSink } from '../../audit/index.js';
import { CodedError, ToolSpecSchema, formatZodError, type Clock, type MutableToolCatalog, type ToolSpec } from '../../core/index.js';
import type { ChangeFeed, ToolRepo } from '../../store/index.js';

export interface ToolRegistryDeps {
  catalog: MutableToolCatalog;
  tools: ToolRepo;
  changes: ChangeFeed;
  audit: AuditSink;
  clock: Clock;
}

/** Tool metadata registered through the API, beside the configured catalog, shared by every replica. */
export class ToolRegistry {
  constructor(private readonly d: ToolRegistryDeps) {}

  /** Tools registered through the API join the catalog (at start, and when another replica registers one). */
  async load(): Promise<void> {
    for (const spec of await this.d.tools.list()) this.d.catalog.register(spec);
  }

  /**
   * Registers (or updates) a tool's metadata so decisions know a tool no gateway
   * proxies. Errors: request.invalid, request.conflict (a configured tool).
   */
  async register(name: string, input: unknown, by: Actor): Promise<ToolSpec> {
    const parsed = ToolSpecSchema.safeParse({ ...(input !== null && typeof input === 'object' ? input : {}), name });
    if (!parsed.success) throw new CodedError('request.invalid', formatZodError(parsed.error));
    if (!this.d.catalog.register(parsed.data)) throw new CodedError('request.conflict', `tool \`${name}\` is configured; change it in the configuration`);
    await this.d.tools.upsert(parsed.data, this.d.clock.nowMs());
    await this.d.audit.record({ type: 'tool.registered', data: { ...parsed.data, by } });
    await this.d.changes.publish({ kind: 'tool', name }).catch(() => undefined);
    return parsed.data;
  }
}
