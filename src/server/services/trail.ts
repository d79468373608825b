import { verifyChain, type AuditEvent, type AuditLog, type AuditRepo, type ChainReport } from '../../audit/index.js';
import type { TaskId } from '../../core/index.js';

/** Reading the audit trail: recent decisions, and proof that it was not edited. */
export class Trail {
  constructor(private readonly d: { log: AuditLog; records: AuditRepo }) {}

  /** Decisions, newest first. */
  recentDecisions(taskId: TaskId | undefined, limit: number | undefined): Promise<AuditEvent[]> {
    return this.d.records.list({ type: 'decision', taskId, limit, order: 'desc' });
  }

  /** Recomputes every segment's chain, once what is recorded so far is stored. */
  async verify(): Promise<ChainReport> {
    await this.d.log.flush();
    return verifyChain(this.d.records);
  }
}
