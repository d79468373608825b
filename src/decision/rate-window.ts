/**
 * Calls per task in the last minute, kept in memory. Rate is an approximate
 * signal (per replica); exact limits (total calls) live in the store.
 */
export class RateWindow {
  private readonly calls = new Map<string, number[]>();

  constructor(private readonly windowMs = 60_000) {}

  count(key: string, nowMs: number): number {
    const times = this.calls.get(key);
    if (!times) return 0;
    const cutoff = nowMs - this.windowMs;
    while (times.length > 0 && times[0]! <= cutoff) times.shift();
    if (times.length === 0) this.calls.delete(key);
    return times.length;
  }

  add(key: string, nowMs: number): void {
    const times = this.calls.get(key);
    if (times) times.push(nowMs);
    else this.calls.set(key, [nowMs]);
  }
}
