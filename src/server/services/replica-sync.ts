import type { AuditLog } from '../../audit/index.js';
import type { TaskId } from '../../core/index.js';
import type { CredentialService, Revocation } from '../../credentials/index.js';
import type { ChangeFeed, StoreHealth } from '../../store/index.js';
import type { PolicyDistribution } from './policy-distribution.js';
import type { TaskMemory } from './task-memory.js';
import type { ToolRegistry } from './tool-registry.js';

export interface ReplicaSyncDeps {
  changes: ChangeFeed;
  credentials: CredentialService;
  policies: PolicyDistribution;
  toolRegistry: ToolRegistry;
  memory: TaskMemory;
  health: StoreHealth;
  audit: AuditLog;
  /** Tells this replica's own change notifications apart from the others'. */
  replicaId: string;
  catchUpMs: number;
  failClosedAfterMs: number;
}

/**
 * Keeps this replica in step with the others: their revocations, tools, policies
 * and task changes arrive on the change feed and apply at once; a periodic re-read
 * covers a missed or dropped notification. Decisions fail closed when the store
 * has not been read for too long to know recent revocations.
 */
export class ReplicaSync {
  /** Real elapsed time, not the domain clock: a skewed clock (tests, the demo) must not fake an outage. */
  private lastSyncMs = performance.now();
  private readonly catchUp: NodeJS.Timeout;

  constructor(private readonly d: ReplicaSyncDeps) {
    d.changes.subscribe((change) => {
      if (change.kind === 'revocation') d.credentials.revocationSet.add(change.revocation as Revocation);
      else if (change.kind === 'gap') void this.sync();
      else if (change.kind === 'tool') void d.toolRegistry.load().catch(() => undefined);
      else if (change.kind === 'policy') void d.policies.sync().catch(() => undefined);
      else if (change.kind === 'task' && change.origin !== d.replicaId) d.memory.changedElsewhere(change.taskId as TaskId);
    });
    this.catchUp = setInterval(() => void this.sync(), d.catchUpMs);
    this.catchUp.unref();
  }

  /** Re-reads the revocations (and the policy version); a failure leaves the freshness clock running towards fail-closed. */
  async sync(): Promise<boolean> {
    try {
      await this.d.credentials.loadRevocations();
      await this.d.policies.sync();
      this.lastSyncMs = performance.now();
      return true;
    } catch {
      // unreachable store: decisions start denying once failClosedAfterMs has passed
      return false;
    }
  }

  /** Whether decisions can be taken now: the store answers, nothing waits in the audit spool, and revocations are fresh. */
  storeAvailable(): boolean {
    return this.d.health.available && !this.d.audit.spooling && performance.now() - this.lastSyncMs <= this.d.failClosedAfterMs;
  }

  close(): void {
    clearInterval(this.catchUp);
  }
}
