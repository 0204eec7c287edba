/** Latency figures of one query shape, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * The `q` quantile of an ascending sample by nearest rank: the smallest value with at least
 * q of the sample at or below it. Nearest rank reports a latency that was observed, never an
 * interpolation between two; with 200 samples p99 is the second largest.
 * @throws Error when the sample is empty or q is outside (0, 1].
 */
export function nearestRank(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error("no samples");
  if (!(q > 0 && q <= 1)) throw new Error("a quantile is in (0, 1]");
  return sorted[Math.ceil(q * sorted.length) - 1] as number;
}

/** p50, p95, p99 and max of `samples` (ms), rounded to hundredths of a millisecond. */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round2(nearestRank(sorted, 0.5)),
    p95: round2(nearestRank(sorted, 0.95)),
    p99: round2(nearestRank(sorted, 0.99)),
    max: round2(nearestRank(sorted, 1)),
  };
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;
