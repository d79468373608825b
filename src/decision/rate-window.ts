import { Lru } from '../core/index.js';

/** Calls per second over the last 61 seconds; the slot of second `s` is `s % SLOTS`. */
const SLOTS = 61;

interface Slots {
  /** The latest second a call was counted in. */
  lastSecond: number;
  counts: Uint32Array;
}

/**
 * Calls per task in the last minute, kept in memory. Rate is an approximate
 * signal (per replica); exact limits (total calls) live in the store.
 *
 * Calls are counted in one-second slots, so a task costs the same few hundred
 * bytes after ten calls or ten million. A call counts until the slot of its
 * second leaves the window, 60 to 61 seconds later: the count never misses a
 * call made within the last 60 seconds, so a limit is never exceeded, and may
 * hold a call up to a second longer than an exact window would.
 */
export class RateWindow {
  /** Ordered by the last call, so tasks idle for a whole window are at the front. */
  private readonly tasks: Lru<string, Slots>;

  constructor(capacity = 100_000) {
    this.tasks = new Lru(capacity);
  }

  /** Tasks with a call in the window (and idle ones not yet pruned). */
  get size(): number {
    return this.tasks.size;
  }

  count(key: string, nowMs: number): number {
    const slots = this.tasks.peek(key);
    if (!slots) return 0;
    const second = Math.floor(nowMs / 1000);
    if (second - slots.lastSecond >= SLOTS) {
      this.tasks.delete(key);
      return 0;
    }
    let total = 0;
    // Slots of seconds after lastSecond are stale (written a full window ago): skip them.
    for (let s = Math.max(second - SLOTS + 1, slots.lastSecond - SLOTS + 1); s <= slots.lastSecond; s++) total += slots.counts[s % SLOTS]!;
    return total;
  }

  add(key: string, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    let slots = this.tasks.get(key);
    if (!slots) {
      slots = { lastSecond: second, counts: new Uint32Array(SLOTS) };
      this.tasks.set(key, slots);
    } else if (second > slots.lastSecond) {
      // Clear the slots of the seconds skipped since the last call: they hold calls a window old.
      for (let s = slots.lastSecond + 1; s <= Math.min(second, slots.lastSecond + SLOTS); s++) slots.counts[s % SLOTS] = 0;
      slots.lastSecond = second;
    }
    // A clock that stepped back counts the call in the latest second: it is still counted, never lost.
    slots.counts[Math.min(second, slots.lastSecond) % SLOTS]! += 1;
    this.pruneIdle(second);
  }

  /** The task ended: its window goes with it. */
  forget(key: string): void {
    this.tasks.delete(key);
  }

  /** Drops tasks with no call in the window; they are at the front, so this stops at the first busy one. */
  private pruneIdle(second: number): void {
    for (const key of this.tasks.keys()) {
      const slots = this.tasks.peek(key)!;
      if (second - slots.lastSecond < SLOTS) return;
      this.tasks.delete(key);
    }
  }
}
