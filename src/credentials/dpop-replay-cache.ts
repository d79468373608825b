import { CodedError, systemClock, type Clock } from '../core/index.js';
import type { DpopReplayCache } from './ports.js';

/** Entries are swept by the second they expire in: a sweep touches only what expired. */
const BUCKET_MS = 1000;

export interface MemoryDpopReplayCacheOptions {
  /**
   * Most proofs held at once; size it to the peak proofs per second times the
   * window (max age plus skew). Default 100,000 (about 20 MB).
   */
  capacity?: number;
  clock?: Clock;
}

/**
 * The replay cache of one process. Bounded: when it is full of proofs that are
 * still within their window it refuses new ones (store.unreachable, retry shortly)
 * rather than forget a live one, which would let that proof be replayed.
 */
export class MemoryDpopReplayCache implements DpopReplayCache {
  readonly capacity: number;
  private readonly clock: Clock;
  /** key -> expiresAtMs */
  private readonly entries = new Map<string, number>();
  /** Math.ceil(expiresAtMs / BUCKET_MS) -> the keys recorded with an expiry in that second. */
  private readonly buckets = new Map<number, string[]>();
  private nextSweepMs = 0;

  constructor(options: MemoryDpopReplayCacheOptions = {}) {
    this.capacity = options.capacity ?? 100_000;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new TypeError(`a DPoP replay cache needs a positive integer capacity, got ${this.capacity}`);
    this.clock = options.clock ?? systemClock;
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  // Synchronous from the first line to the last, so the check and the record cannot interleave with another call.
  async firstSeen(key: string, expiresAtMs: number): Promise<boolean> {
    const now = this.clock.nowMs();
    if (now >= this.nextSweepMs) this.sweep(now);
    const held = this.entries.get(key);
    if (held !== undefined && held > now) return false;
    // Already outside its window: nothing to remember it for.
    if (expiresAtMs <= now) return true;
    if (held === undefined && this.entries.size >= this.capacity) {
      this.sweep(now);
      if (this.entries.size >= this.capacity) throw new CodedError('store.unreachable', 'the DPoP replay cache is full; retry shortly');
    }
    this.entries.set(key, expiresAtMs);
    const bucket = Math.ceil(expiresAtMs / BUCKET_MS);
    const keys = this.buckets.get(bucket);
    if (keys) keys.push(key);
    else this.buckets.set(bucket, [key]);
    return true;
  }

  /** Drops every entry expired by `nowMs`; runs by itself at most once a second and when the cache is full. */
  sweep(nowMs: number): void {
    this.nextSweepMs = nowMs + BUCKET_MS;
    for (const [bucket, keys] of this.buckets) {
      if (bucket * BUCKET_MS > nowMs) continue;
      for (const key of keys) {
        // A key recorded again after it expired sits in a later bucket too, with its later expiry.
        const expiresAtMs = this.entries.get(key);
        if (expiresAtMs !== undefined && expiresAtMs <= nowMs) this.entries.delete(key);
      }
      this.buckets.delete(bucket);
    }
  }
}
