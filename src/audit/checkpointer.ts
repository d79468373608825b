import type { Clock } from '../core/index.js';
import type { AuditLog } from './audit-log.js';
import { merkleRoot, type Checkpoint } from './checkpoint.js';
import type { AuditRepo, AuditWitness, WitnessedCheckpoint } from './ports.js';

export interface CheckpointerOptions {
  log: AuditLog;
  repo: AuditRepo;
  clock: Clock;
  /** Signs a checkpoint with the trust domain's key: the compact JWS and the public key that checks it. */
  sign(checkpoint: Checkpoint): Promise<{ jws: string; jwk: Record<string, unknown> }>;
  witnesses: readonly AuditWitness[];
  /** A checkpoint once this many events were stored since the last one… */
  everyEvents: number;
  /** …or once this long has passed with events not yet covered. */
  everyMs: number;
  /** A checkpoint that cannot be made, or a witness that cannot be written, is reported, not fatal: the chain goes on. */
  onFault?(what: string, err: unknown): void;
}

/** Events read back a page at a time while a checkpoint is made. */
const PAGE = 200;

/**
 * Makes the checkpoints of one segment: every `everyEvents` events or `everyMs`,
 * the head and the Merkle root of the events since the previous checkpoint, read
 * back from the store, signed, recorded in the chain (`audit.checkpoint`) and
 * appended to every witness. The checkpoint's own event is covered by the next one.
 */
export class AuditCheckpointer {
  /** The seq the last checkpoint covers. */
  private coveredSeq = 0;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: () => void = () => undefined;

  private constructor(private readonly o: CheckpointerOptions) {}

  static async start(o: CheckpointerOptions): Promise<AuditCheckpointer> {
    const c = new AuditCheckpointer(o);
    const [last] = await o.repo.list({ segment: o.log.segment, type: 'audit.checkpoint', order: 'desc', limit: 1 });
    c.coveredSeq = typeof last?.data.seq === 'number' ? last.data.seq : 0;
    c.stopListening = o.log.whenStored((headSeq) => {
      if (headSeq - c.coveredSeq >= o.everyEvents) c.trigger();
    });
    c.timer = setInterval(() => c.trigger(), o.everyMs);
    c.timer.unref();
    return c;
  }

  /** A checkpoint already being made answers the count or the clock. */
  private trigger(): void {
    if (!this.running) void this.checkpoint();
  }

  /**
   * A checkpoint of everything stored so far (after the one being made, if any),
   * unless nothing but the last checkpoint's own event is uncovered; resolves once it is witnessed.
   */
  async checkpoint(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.make()
      .catch((err: unknown) => this.o.onFault?.('checkpoint', err))
      .finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Stops, after a last checkpoint that covers everything stored: a tail deleted
   * after a clean stop is then caught. Records that land while it is made (work
   * finishing as the process stops) get another, a few times at most.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (let i = 0; i < 3; i++) {
      await this.checkpoint();
      await this.o.log.flush();
      if (this.o.log.head.seq <= this.coveredSeq + 1) break;
    }
    this.stopListening();
  }

  /** Stops making checkpoints, without a last one (a start that failed). */
  abandon(): void {
    clearInterval(this.timer);
    this.stopListening();
  }

  private async make(): Promise<void> {
    const { log, repo } = this.o;
    // What is stored now, not what is queued: under sustained load the queue never empties,
    // and waiting for it would hold every checkpoint back until the load stops.
    const head = log.head;
    // Only the previous checkpoint's own event since then: nothing to vouch for.
    if (head.seq <= this.coveredSeq + 1) return;
    const hashes: string[] = [];
    let after = this.coveredSeq;
    while (after < head.seq) {
      // Small pages of hashes only, with a turn of the event loop between them: reading the
      // interval back must not hold up the decisions being answered meanwhile (SQLite reads block).
      const page = await repo.links(log.segment, after, PAGE);
      if (page.length === 0) return; // the store lost events under us: verify will say so, a checkpoint must not paper over it
      for (const e of page) if (e.seq <= head.seq) hashes.push(e.hash);
      after = page[page.length - 1]!.seq;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const checkpoint: Checkpoint = { segment: log.segment, fromSeq: this.coveredSeq + 1, seq: head.seq, headHash: head.hash, root: merkleRoot(hashes), atMs: this.o.clock.nowMs() };
    const signed = await this.o.sign(checkpoint);
    const witnessed: WitnessedCheckpoint = { ...checkpoint, ...signed };
    // Which witnesses keep it: `verify` then knows that a witness missing it lost it.
    await log.record({ type: 'audit.checkpoint', data: { ...checkpoint, jws: signed.jws, witnesses: this.o.witnesses.map((w) => w.name) } });
    for (const w of this.o.witnesses) await w.append(witnessed).catch((err: unknown) => this.o.onFault?.(`witness ${w.name}`, err));
    this.coveredSeq = checkpoint.seq;
  }
}
