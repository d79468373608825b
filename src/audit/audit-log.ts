import { canonicalJson, newId, type Clock, type EventId, type Random } from '../core/index.js';
import { hashWithDataText } from './chain.js';
import { GENESIS_HASH, type AuditEntry, type AuditEvent, type AuditReceipt, type AuditSink } from './model.js';
import type { AuditRepo, AuditSpool, SpooledEntry } from './ports.js';

interface Pending {
  entry: AuditEntry;
  id: EventId;
  atMs: number;
  /** When `record()` was called, on the lag meter's clock (0 without one). */
  sinceMs: number;
  resolve: (receipt: AuditReceipt) => void;
  reject: (err: unknown) => void;
}

export interface AuditLogOptions {
  /**
   * Where records go while the store cannot take them: a local append-only file,
   * replayed into the store, in order, once it answers again. Without one, a
   * failed write rejects its callers.
   */
  spool?: AuditSpool;
  /** A write that has not finished after this long is treated as failed and spooled. */
  appendTimeoutMs?: number;
  /** Told when a write fails or times out, so the caller can start probing the store. */
  onStoreFault?: (err: unknown) => void;
  /** Told how long each record waited from `record()` until durable (stored or spooled): the append lag. */
  lag?: LagMeter;
}

/** A monotonic clock and where the waits go; the server's metrics, in milliseconds. */
export interface LagMeter {
  nowMs(): number;
  observe(waitedMs: number): void;
}

/** Records replayed from the spool per transaction. */
const REPLAY_CHUNK = 500;

/**
 * The append-only, hash-chained log of one segment. Records are group-committed:
 * everything recorded while a write is in flight goes into the next single
 * transaction, and each caller resumes only once its event is durable.
 * INVARIANT: seq and prevHash are assigned when a batch reaches the store, so a
 * failed write never leaves later events chained to an event that does not exist.
 * INVARIANT: while anything is spooled, every new record is spooled behind it, so
 * the replayed chain keeps the order in which records were made.
 */
export class AuditLog implements AuditSink {
  private headSeq = 0;
  private headHash = GENESIS_HASH;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private spooled = 0;
  private replayWanted = false;
  /** Told the store is out of reach: spool at once rather than wait on it, until a replay succeeds. */
  private down = false;
  /** Gives up waiting on the write in flight. */
  private abandonWrite: ((err: Error) => void) | undefined;

  private constructor(
    private readonly repo: AuditRepo,
    readonly segment: string,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly options: AuditLogOptions,
  ) {}

  /** Opens the segment's head; records spooled before a crash are replayed first. */
  static async open(repo: AuditRepo, segment: string, clock: Clock, random: Random, options: AuditLogOptions = {}): Promise<AuditLog> {
    const log = new AuditLog(repo, segment, clock, random, options);
    await log.reloadHead();
    if (options.spool) {
      log.spooled = (await options.spool.read()).length;
      if (log.spooled > 0) await log.replay();
    }
    return log;
  }

  private readonly storedListeners = new Set<(headSeq: number) => void>();

  /**
   * Tells `listener` the new head after each batch reaches the store (the checkpointer
   * counts with it, the sink wakes up); returns the function that stops telling it.
   */
  whenStored(listener: (headSeq: number) => void): () => void {
    this.storedListeners.add(listener);
    return () => this.storedListeners.delete(listener);
  }

  /** The last event stored: its seq and hash. */
  get head(): { seq: number; hash: string } {
    return { seq: this.headSeq, hash: this.headHash };
  }

  /** True while records wait in the spool for the store to come back. */
  get spooling(): boolean {
    return this.spooled > 0;
  }

  /** The store is known to be out of reach: spool from now on, and stop waiting on the write in flight. */
  storeDown(): void {
    if (!this.options.spool) return;
    this.down = true;
    this.abandonWrite?.(new Error('the store is out of reach'));
  }

  record(entry: AuditEntry): Promise<AuditReceipt> {
    return new Promise<AuditReceipt>((resolve, reject) => {
      this.queue.push({ entry, id: newId('event', this.random), atMs: this.clock.nowMs(), sinceMs: this.options.lag?.nowMs() ?? 0, resolve, reject });
      this.kick();
    });
  }

  /**
   * Replays what is spooled into the store (when it answers again). Resolves true
   * once nothing is left in the spool, false when the store still refuses.
   */
  async replay(): Promise<boolean> {
    if (!this.spooling && !this.down) return true;
    this.replayWanted = true;
    this.kick();
    await this.flush();
    return !this.spooling;
  }

  /** Resolves once everything recorded so far is durable (or failed). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private kick(): void {
    if (!this.flushing) this.flushing = this.drain();
  }

  private async drain(): Promise<void> {
    // Wait one turn of the event loop, so the records of requests that arrived meanwhile share the
    // transaction (group commit): bounded, one turn, and under load a commit carries many records.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 || this.replayWanted) {
      if (this.replayWanted) {
        this.replayWanted = false;
        await this.replaySpool().catch(() => undefined);
      }
      const batch = this.queue;
      this.queue = [];
      if (batch.length === 0) continue;
      if (this.spooling || this.down) {
        await this.toSpool(batch);
        continue;
      }
      const { events, seq, prevHash } = this.chain(batch.map((p) => ({ id: p.id, atMs: p.atMs, entry: p.entry })));
      try {
        await this.appendWithin(events);
        this.headSeq = seq;
        this.headHash = prevHash;
        for (const p of batch) p.resolve('stored');
        this.measure(batch);
        for (const listener of this.storedListeners) listener(seq);
      } catch (err) {
        this.options.onStoreFault?.(err);
        if (this.options.spool) {
          await this.toSpool(batch);
        } else {
          for (const p of batch) p.reject(err);
          // Another writer may own this segment, or the store hiccuped: re-read the head before going on.
          await this.reloadHead().catch(() => undefined);
        }
      }
    }
    this.flushing = null;
  }

  private measure(batch: readonly Pending[]): void {
    const lag = this.options.lag;
    if (!lag) return;
    const now = lag.nowMs();
    for (const p of batch) lag.observe(now - p.sinceMs);
  }

  private chain(items: readonly { id: EventId; atMs: number; entry: AuditEntry }[]): { events: AuditEvent[]; seq: number; prevHash: string } {
    let seq = this.headSeq;
    let prevHash = this.headHash;
    const events: AuditEvent[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const { id, atMs, entry } = items[i]!;
      seq += 1;
      // Built once, hash last: a copy per event was a good part of the append path's allocation.
      const event: AuditEvent = { segment: this.segment, seq, id, type: entry.type, atMs, taskId: entry.taskId ?? null, agentId: entry.agentId ?? null, data: entry.data, prevHash, hash: '', dataText: canonicalJson(entry.data) };
      event.hash = hashWithDataText(event, event.dataText!);
      prevHash = event.hash;
      events[i] = event;
    }
    return { events, seq, prevHash };
  }

  /** A write that hangs (a black-holed connection) counts as failed once its time is up. */
  private async appendWithin(events: readonly AuditEvent[]): Promise<void> {
    const ms = this.options.appendTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      this.abandonWrite = reject;
      if (ms !== undefined) timer = setTimeout(() => reject(new Error(`audit append did not finish within ${ms} ms`)), ms);
    });
    const write = this.repo.append(events);
    write.catch(() => undefined);
    try {
      await Promise.race([write, giveUp]);
    } finally {
      clearTimeout(timer);
      this.abandonWrite = undefined;
    }
  }

  private async toSpool(batch: readonly Pending[]): Promise<void> {
    // afterSeq: the last seq known stored. A write that timed out may still have landed after it; replay skips those ids.
    const lines: SpooledEntry[] = batch.map((p) => ({ id: p.id, atMs: p.atMs, type: p.entry.type, taskId: p.entry.taskId ?? null, agentId: p.entry.agentId ?? null, data: p.entry.data, afterSeq: this.headSeq }));
    try {
      await this.options.spool!.append(lines);
      this.spooled += lines.length;
      for (const p of batch) p.resolve('spooled');
      this.measure(batch);
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** Moves the spool into the store, chained after the stored head; leaves it in place on any failure. */
  private async replaySpool(): Promise<void> {
    const spool = this.options.spool;
    if (!spool) return;
    const entries = await spool.read();
    if (entries.length === 0) {
      // Nothing waits, but the store must answer before records go to it again.
      await this.reloadHead();
      this.spooled = 0;
      this.down = false;
      return;
    }
    await this.reloadHead();
    const afterSeq = Math.min(...entries.map((e) => e.afterSeq));
    // Ids already stored: a write that timed out but landed, or a replay cut short by a crash.
    const stored = new Set<string>();
    for (let cursor = afterSeq; ; ) {
      const page = await this.repo.list({ segment: this.segment, afterSeq: cursor, limit: 1000, order: 'asc' });
      for (const e of page) stored.add(e.id);
      if (page.length < 1000) break;
      cursor = page[page.length - 1]!.seq;
    }
    const todo = entries.filter((e) => !stored.has(e.id));
    for (let i = 0; i < todo.length; i += REPLAY_CHUNK) {
      const chunk = todo.slice(i, i + REPLAY_CHUNK).map((e) => ({ id: e.id as EventId, atMs: e.atMs, entry: { type: e.type, taskId: e.taskId, agentId: e.agentId, data: e.data } }));
      const { events, seq, prevHash } = this.chain(chunk);
      await this.appendWithin(events);
      this.headSeq = seq;
      this.headHash = prevHash;
    }
    await spool.clear();
    this.spooled = 0;
    this.down = false;
  }

  private async reloadHead(): Promise<void> {
    const last = await this.repo.last(this.segment);
    this.headSeq = last?.seq ?? 0;
    this.headHash = last?.hash ?? GENESIS_HASH;
  }
}
