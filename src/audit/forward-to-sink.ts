import type { AuditEvent } from './model.js';
import type { AuditRepo, SinkCursor } from './ports.js';

/** Where the trail is delivered (`audit.sink`): a file a log shipper reads, or a SIEM's HTTP collector. */
export interface AuditDestination {
  /** For logs: `file:/var/log/mandate/audit.jsonl`, `https://siem.example/collect`. */
  readonly name: string;
  /** Delivers consecutive events of one segment, in seq order; resolves once the destination holds them, throws to have them sent again. */
  deliver(events: readonly AuditEvent[]): Promise<void>;
}

export interface ForwarderOptions {
  repo: AuditRepo;
  cursor: SinkCursor;
  destination: AuditDestination;
  /** The segments this writer delivers, in order: its earlier restarts, then the one it writes (see `ownSegments`). */
  segments: readonly string[];
  /** Events read from the store and delivered at once. */
  batchEvents: number;
  /** The wait after the first failure, doubled after each until `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** How often the store is looked at when nothing said new events were stored (a spool replayed, a restart's old segment). */
  pollMs: number;
  /** A delivery or a store read that failed: reported, then retried. */
  onFault?(err: unknown, attempt: number): void;
}

/**
 * Delivers every stored event of this writer's segments to the sink, at least once
 * and in seq order per segment, from the cursor kept in the store: a restart
 * resumes where delivery stopped, and an event is marked delivered only after the
 * destination took it (a crash in between delivers it again). It reads what the
 * store already holds, behind the writer, on its own loop: a slow or failing sink
 * delays nothing but itself, and a failure is retried with backoff, never skipped.
 */
export class AuditForwarder {
  private stopped = false;
  /** Ends the current wait when stopping. */
  private wakeStopped: (() => void) | undefined;
  /** Ends the current wait when it is an idle one and events were stored. */
  private wakeIdle: (() => void) | undefined;
  /** Set when events were stored while a pass was under way: look again before sleeping. */
  private nudged = false;
  private readonly running: Promise<void>;
  /** Passes started so far, and who waits for one with nothing left to deliver. */
  private passes = 0;
  private caughtUpWaiters: { afterPass: number; resolve: () => void }[] = [];
  /** The cursor of each segment as last read or written: this forwarder is its only writer. */
  private readonly deliveredUpTo = new Map<string, number>();

  private constructor(private readonly o: ForwarderOptions) {
    this.running = this.loop();
  }

  static start(o: ForwarderOptions): AuditForwarder {
    return new AuditForwarder(o);
  }

  /** New events were stored: deliver them now rather than at the next poll. */
  nudge(): void {
    this.nudged = true;
    this.wakeIdle?.();
  }

  /** Resolves once a pass started after this call has found nothing left to deliver. */
  caughtUp(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.caughtUpWaiters.push({ afterPass: this.passes, resolve });
      this.nudge();
    });
  }

  /**
   * Stops after the delivery in flight, first giving the sink up to `drainWithinMs`
   * to take what is stored; what is left is delivered from the cursor at the next start.
   */
  async stop(drainWithinMs = 0): Promise<void> {
    if (drainWithinMs > 0 && !this.stopped) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.caughtUp(), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainWithinMs)))]);
      clearTimeout(timer);
    }
    this.stopped = true;
    this.wakeStopped?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.nudged = false;
      const pass = ++this.passes;
      try {
        const delivered = await this.pass();
        failures = 0;
        if (delivered === 0) this.settle(pass);
      } catch (err) {
        failures += 1;
        this.o.onFault?.(err, failures);
        await this.sleep(this.backoff(failures));
        continue;
      }
      if (!this.nudged) await this.sleep(this.o.pollMs, true);
    }
  }

  private settle(pass: number): void {
    const waiting = this.caughtUpWaiters;
    this.caughtUpWaiters = waiting.filter((w) => w.afterPass >= pass);
    for (const w of waiting) if (w.afterPass < pass) w.resolve();
  }

  /** Delivers everything stored after the cursor of each segment; resolves with how many events it delivered. */
  private async pass(): Promise<number> {
    let delivered = 0;
    for (const segment of this.o.segments) {
      let after = this.deliveredUpTo.get(segment) ?? (await this.o.cursor.delivered(segment));
      this.deliveredUpTo.set(segment, after);
      while (!this.stopped) {
        const page = await this.o.repo.list({ segment, afterSeq: after, limit: this.o.batchEvents, order: 'asc' });
        if (page.length === 0) break;
        if (!(await this.deliver(page))) return delivered;
        after = page[page.length - 1]!.seq;
        // INVARIANT: the cursor moves only past what the destination took; a failure here means a duplicate later, never a loss.
        await this.o.cursor.setDelivered(segment, after);
        this.deliveredUpTo.set(segment, after);
        delivered += page.length;
        // One page per turn of the event loop: a backlog must not hold up the requests this process serves.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    return delivered;
  }

  /** Sends one page until the destination takes it; false when stopped first. */
  private async deliver(events: readonly AuditEvent[]): Promise<boolean> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.o.destination.deliver(events);
        return true;
      } catch (err) {
        this.o.onFault?.(err, attempt);
        await this.sleep(this.backoff(attempt));
      }
    }
    return false;
  }

  private backoff(attempt: number): number {
    return Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(attempt - 1, 30));
  }

  /** Waits `ms`, or less when stopped; an idle wait (not a backoff, which must hold) also ends when nudged. */
  private sleep(ms: number, idle = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeIdle = undefined;
        this.wakeStopped = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeStopped = done;
      if (idle) this.wakeIdle = done;
    });
  }
}

/**
 * The segments a writer configured as `configured` delivers, oldest first: that one
 * and its restarts (`<configured>:r<n>`, see `segmentToWrite`) among those stored,
 * and the one it writes now, stored or not yet.
 */
export function ownSegments(stored: readonly string[], configured: string, writing: string): string[] {
  const restart = (s: string) => (s.startsWith(`${configured}:r`) && /^\d+$/.test(s.slice(configured.length + 2)) ? Number(s.slice(configured.length + 2)) : undefined);
  const own = new Set([...stored, writing].filter((s) => s === configured || restart(s) !== undefined));
  return [...own].sort((a, b) => (restart(a) ?? 0) - (restart(b) ?? 0));
}
