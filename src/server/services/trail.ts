import { verifyTrail, type AuditEvent, type AuditLog, type AuditRepo, type AuditWitness, type TrailReport } from '../../audit/index.js';
import type { TaskId } from '../../core/index.js';

/** Reading the audit trail: recent decisions, and proof that it was not edited. */
export class Trail {
  constructor(private readonly d: { log: AuditLog; records: AuditRepo; witness?: AuditWitness }) {}

  /**
   * Decisions, newest first, each with the task's `labels` and `toolsCalled` as they
   * stood then. A record carries only what was added since the previous one of its
   * task (`labelsAdded`, `toolsCalledAdded`): the sets are its task's records up to
   * it, added up (older records carry whole sets, which add up the same).
   */
  async recentDecisions(taskId: TaskId | undefined, limit: number | undefined): Promise<AuditEvent[]> {
    const events = await this.d.records.list({ type: 'decision', taskId, limit, order: 'desc' });
    const asOf = new Map<string, { labels: string[]; toolsCalled: string[] }>();
    for (const task of new Set(events.flatMap((e) => (e.taskId ? [e.taskId] : [])))) {
      const labels = new Set<string>();
      const tools = new Set<string>();
      for (const e of await this.d.records.list({ type: 'decision', taskId: task, order: 'asc', limit: MAX_FOLDED })) {
        for (const l of strings(e.data['labelsAdded'] ?? e.data['labels'])) labels.add(l);
        for (const t of strings(e.data['toolsCalledAdded'] ?? e.data['toolsCalled'])) tools.add(t);
        asOf.set(e.id, { labels: [...labels], toolsCalled: [...tools] });
      }
    }
    return events.map((e) => ({ ...e, data: { ...e.data, ...(asOf.get(e.id) ?? {}) } }));
  }

  /** Recomputes every segment's chain and holds the store against the witnessed checkpoints, once what is recorded so far is stored. */
  async verify(): Promise<TrailReport> {
    await this.d.log.flush();
    const witness = this.d.witness;
    return verifyTrail(this.d.records, witness && { name: witness.name, checkpoints: await witness.read() });
  }
}

/** Most decision records of one task read to add up its sets. */
const MAX_FOLDED = 100_000;

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
