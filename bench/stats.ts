/** Percentile of an ascending-sorted sample (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

export type Metrics = Record<string, { value: number; unit: string; note?: string }>;

/** The five metrics of a direct-versus-through-the-gateway run; `added` is via minus direct at the same percentile. */
export function addedMetrics(prefix: string, directMs: number[], viaMs: number[]): Metrics {
  const direct = summarize(directMs);
  const via = summarize(viaMs);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    [`${prefix}.direct_p50_ms`]: { value: r(direct.p50), unit: 'ms' },
    [`${prefix}.via_p50_ms`]: { value: r(via.p50), unit: 'ms' },
    [`${prefix}.via_p99_ms`]: { value: r(via.p99), unit: 'ms' },
    [`${prefix}.added_p50_ms`]: { value: r(via.p50 - direct.p50), unit: 'ms' },
    [`${prefix}.added_p99_ms`]: { value: r(via.p99 - direct.p99), unit: 'ms' },
  };
}
