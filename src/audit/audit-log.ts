import { newId, type Clock, type EventId, type Random } from '../core/index.js';
import { hashEvent } from './chain.js';
import { GENESIS_HASH, type AuditEntry, type AuditEvent, type AuditSink } from './model.js';
import type { AuditRepo } from './ports.js';

interface Pending {
  entry: AuditEntry;
  id: EventId;
  atMs: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The append-only, hash-chained log of one segment. Records are group-committed:
 * everything recorded while a write is in flight goes into the next single
 * transaction, and each caller resumes only once its event is stored.
 * INVARIANT: seq and prevHash are assigned at flush time, so a failed write
 * never leaves later events chained to an event that does not exist.
 */
export class AuditLog implements AuditSink {
  private headSeq = 0;
  private headHash = GENESIS_HASH;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;

  private constructor(
    private readonly repo: AuditRepo,
    readonly segment: string,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  static async open(repo: AuditRepo, segment: string, clock: Clock, random: Random): Promise<AuditLog> {
    const log = new AuditLog(repo, segment, clock, random);
    await log.reloadHead();
    return log;
  }

  record(entry: AuditEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, id: newId('event', this.random), atMs: this.clock.nowMs(), resolve, reject });
      if (!this.flushing) this.flushing = this.drain();
    });
  }

  /** Resolves once everything recorded so far is stored (or failed). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    // Yield once so records made in the same tick share a transaction.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let seq = this.headSeq;
      let prevHash = this.headHash;
      const events: AuditEvent[] = batch.map((p) => {
        seq += 1;
        const unhashed = {
          segment: this.segment,
          seq,
          id: p.id,
          type: p.entry.type,
          atMs: p.atMs,
          taskId: p.entry.taskId ?? null,
          agentId: p.entry.agentId ?? null,
          data: p.entry.data,
          prevHash,
        };
        const event = { ...unhashed, hash: hashEvent(unhashed) };
        prevHash = event.hash;
        return event;
      });
      try {
        await this.repo.append(events);
        this.headSeq = seq;
        this.headHash = prevHash;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
        // Another writer may own this segment, or the store hiccuped: re-read the head before going on.
        await this.reloadHead().catch(() => undefined);
      }
    }
    this.flushing = null;
  }

  private async reloadHead(): Promise<void> {
    const last = await this.repo.last(this.segment);
    this.headSeq = last?.seq ?? 0;
    this.headHash = last?.hash ?? GENESIS_HASH;
  }
}
