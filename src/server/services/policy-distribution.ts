import type { AuditSink } from '../../audit/index.js';
import { CodedError, type Clock, type Log } from '../../core/index.js';
import { loadPolicies, type PolicyEngine } from '../../policy/index.js';
import type { ChangeFeed, PolicySetRepo } from '../../store/index.js';

export interface PolicyDistributionDeps {
  /** `dir`: each replica serves its own directory; `store`: every replica serves the newest stored set. */
  source: 'dir' | 'store';
  engine: PolicyEngine;
  sets: PolicySetRepo;
  changes: ChangeFeed;
  audit: AuditSink;
  clock: Clock;
}

/** Which policy set this replica serves: pushed through the store to every replica, or reloaded from its directory. */
export class PolicyDistribution {
  private stopWatch: (() => void) | undefined;

  constructor(private readonly d: PolicyDistributionDeps) {}

  /** With `policy.source: store`, serves the newest stored set if this replica is behind (`force`: whatever it serves now). */
  async sync(force = false): Promise<void> {
    if (this.d.source !== 'store') return;
    const engine = this.d.engine;
    if (!force && (await this.d.sets.latestVersion()) <= engine.version) return;
    const latest = await this.d.sets.latest();
    if (!latest || (!force && latest.version <= engine.version)) return;
    const result = engine.installFiles(latest.files, latest.version);
    await this.d.audit.record({ type: 'policy.loaded', data: result.ok ? { version: latest.version, hash: latest.hash, source: 'store', by: latest.createdBy } : { version: latest.version, refused: result.errors } });
  }

  /**
   * Stores a new policy set as the next version and serves it; the other replicas
   * follow on the change notification or their next catch-up read.
   * Errors: request.invalid (with `file:line` problems), request.conflict (a concurrent push).
   */
  async push(files: { name: string; text: string }[], by: string): Promise<{ version: number; hash: string }> {
    if (this.d.source !== 'store') throw new CodedError('request.invalid', 'policies are read from a directory on this deployment (`policy.source: dir`)');
    let loaded;
    try {
      loaded = loadPolicies(files);
    } catch (err) {
      throw new CodedError('request.invalid', err instanceof Error ? err.message : 'the policies do not validate');
    }
    const version = (await this.d.sets.latestVersion()) + 1;
    try {
      await this.d.sets.insert({ version, files, hash: loaded.hash, createdAtMs: this.d.clock.nowMs(), createdBy: by });
    } catch {
      throw new CodedError('request.conflict', 'another policy set was pushed at the same time; push again');
    }
    await this.sync();
    await this.d.changes.publish({ kind: 'policy', version }).catch(() => undefined);
    return { version, hash: loaded.hash };
  }

  /** Reloads policies when their files change; a broken edit keeps the last good set. */
  watch(log: Log): void {
    if (this.d.source === 'store') return; // the store is the source: `mandate policy push`
    const engine = this.d.engine;
    this.stopWatch = engine.watch((result) => {
      if (result.ok) {
        log.info(`policies reloaded: version ${result.version}`);
        void this.d.audit.record({ type: 'policy.loaded', data: { version: engine.version, hash: engine.hash } }).catch(() => undefined);
      } else log.warn(`policy reload refused, keeping version ${engine.version}: ${result.errors}`);
    });
  }

  close(): void {
    this.stopWatch?.();
  }
}
