// Small statistics: percentiles of a sample and the publish → receipt join.

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of a sorted sample. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function sortNumbers(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function percentiles(values: ArrayLike<number>): Percentiles {
  const s = sortNumbers(values);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
  };
}

/**
 * Publish → receipt latency in ms for every id the receiver saw that was published: the
 * first receipt of an id counts (at-least-once delivery may repeat it). Returns the latencies
 * and how many published ids never arrived. `warmupMs`: publishes scheduled within this long
 * of the first one go to `warmup` instead of `latencies` (a cold process's first seconds, see
 * Sizes.latencyWarmupMs).
 */
export function joinLatency(
  published: { ids: string[]; sentAt: ArrayLike<number> },
  received: { ids: string[]; at: ArrayLike<number> },
  warmupMs = 0,
): { latencies: Float64Array; warmup: Float64Array; missing: number } {
  const firstSeen = new Map<string, number>();
  for (let i = 0; i < received.ids.length; i++) {
    const id = received.ids[i]!;
    if (!firstSeen.has(id)) firstSeen.set(id, received.at[i]!);
  }
  const out: number[] = [];
  const warm: number[] = [];
  let missing = 0;
  const measuredFrom = (published.sentAt[0] ?? 0) + warmupMs;
  for (let i = 0; i < published.ids.length; i++) {
    const at = firstSeen.get(published.ids[i]!);
    const sentAt = published.sentAt[i]!;
    if (at === undefined) missing++;
    else (sentAt < measuredFrom ? warm : out).push(at - sentAt);
  }
  return { latencies: Float64Array.from(out), warmup: Float64Array.from(warm), missing };
}

export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}
