import { CodedError, within, type Log } from '../core/index.js';

export interface StoreHealthOptions {
  /** A store call on the decision path that takes longer than this fails, and the store is marked down. */
  answerWithinMs: number;
  /** How often a down store is probed. */
  probeMs: number;
  /** A cheap round trip to the store. */
  ping(): Promise<void>;
  /** Runs once the store answers again (replay the audit spool, catch up); false keeps it down. */
  recover(): Promise<boolean>;
  /** Told once when the store goes down (the audit log starts spooling at once). */
  onDown?: () => void;
  log?: Log;
}

/**
 * Whether this replica can use its store right now. Every store call on the
 * decision path goes through `guard`: one that hangs (a black-holed connection)
 * or fails with a connection or I/O error marks the store down, and from then on
 * decisions are refused at once, without waiting on the store, until a probe
 * gets through and recovery (replaying the audit spool) succeeds.
 */
export class StoreHealth {
  private downSinceMs: number | null = null;
  /** Guarded calls in flight, oldest first (a Map keeps insertion order, and every call has the same bound). */
  private readonly inflight = new Map<number, { deadlineMs: number; reject: (err: CodedError) => void }>();
  private nextCall = 0;
  /** One timer for every call in flight, set for the oldest one's deadline (a timer per call made a guarded call 2.5 times as dear). */
  private watchdog: NodeJS.Timeout | undefined;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: StoreHealthOptions) {}

  get available(): boolean {
    return this.downSinceMs === null;
  }

  /** A store call failed or hung: stop waiting on the store and probe it until it answers. */
  fault(err: unknown): void {
    if (this.closed) return;
    if (this.downSinceMs === null) {
      this.downSinceMs = performance.now();
      this.o.log?.error(`store unreachable, refusing decisions until it answers: ${describe(err)}`);
      this.o.onDown?.();
      const refusal = unreachable('the store stopped answering');
      for (const call of this.inflight.values()) call.reject(refusal);
      this.inflight.clear();
      this.watchdog?.unref();
    }
    this.scheduleProbe();
  }

  /** Runs a store call within the bound; a fault becomes `store.unreachable`. */
  async guard<T>(call: Promise<T>): Promise<T> {
    if (this.downSinceMs !== null) {
      call.catch(() => undefined);
      throw unreachable('the store is not answering');
    }
    const id = this.nextCall++;
    try {
      return await new Promise<T>((resolve, reject) => {
        this.inflight.set(id, { deadlineMs: performance.now() + this.o.answerWithinMs, reject });
        this.watch();
        // A call in flight keeps the process alive until it answers or fails, as a timer of its own did.
        this.watchdog?.ref();
        call.then(resolve, reject);
      });
    } catch (err) {
      if (err instanceof CodedError) throw err;
      if (!isStoreFault(err)) throw err;
      this.fault(err);
      throw unreachable('the store failed the call');
    } finally {
      this.inflight.delete(id);
      // Armed for a call that has answered: nothing to keep the process alive for.
      if (this.inflight.size === 0) this.watchdog?.unref();
      call.catch(() => undefined);
    }
  }

  /** Arms the watchdog for the oldest call in flight; a call past its bound marks the store down, which fails every call waiting. */
  private watch(): void {
    if (this.watchdog !== undefined) return;
    const oldest = this.inflight.values().next().value;
    if (oldest === undefined) return;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      const now = performance.now();
      for (const [id, call] of this.inflight) {
        if (call.deadlineMs > now) break;
        // Closed, the store is not marked down any more (`fault` does nothing), but a call past its bound still fails.
        if (!this.closed) this.fault(new Error(`a store call took longer than ${this.o.answerWithinMs} ms`));
        this.inflight.delete(id);
        call.reject(unreachable(`the store did not answer within ${this.o.answerWithinMs} ms`));
      }
      this.watch();
    }, Math.max(0, oldest.deadlineMs - performance.now()));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probe);
  }

  private scheduleProbe(): void {
    if (this.probe || this.closed) return;
    this.probe = setTimeout(() => void this.runProbe(), this.o.probeMs);
    this.probe.unref();
  }

  private async runProbe(): Promise<void> {
    let ok = false;
    try {
      const ms = Math.max(this.o.answerWithinMs, 1000);
      await within(this.o.ping(), ms, () => new Error(`no answer within ${ms} ms`));
      ok = await this.o.recover();
    } catch {
      ok = false;
    }
    this.probe = undefined;
    if (this.closed) return;
    if (ok) {
      if (this.downSinceMs !== null) this.o.log?.info(`store answering again after ${Math.round(performance.now() - this.downSinceMs)} ms`);
      this.downSinceMs = null;
    } else this.scheduleProbe();
  }
}

function unreachable(message: string): CodedError {
  return new CodedError('store.unreachable', message);
}

/**
 * Errors that say the store cannot be used right now, as opposed to a bug or a
 * refused request: lost or refused connections, timeouts, PostgreSQL's
 * connection, resource and operator classes (08, 53, 57, 58), and SQLite's
 * I/O, full, read-only, busy and locked results.
 */
export function isStoreFault(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|53|57|58)[0-9A-Z]{3}$/.test(code)) return true;
    if (/^SQLITE_(IOERR|FULL|READONLY|BUSY|LOCKED|CANTOPEN|CORRUPT|NOTADB|PROTOCOL)/.test(code)) return true;
    if (/^E[A-Z]+$/.test(code) && code !== 'ERR_INVALID_ARG_TYPE') return true;
  }
  return /connection terminated|connection error|not queryable|timeout|timed out|ECONN|cannot use a pool after calling end/i.test(err.message);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
