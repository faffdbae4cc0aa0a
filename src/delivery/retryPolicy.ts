// When the next attempt happens after a failed one. The schedule (DESIGN defaults: 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) gives the delay after attempt 1, 2, …; each delay gets
// up to ±20 % jitter so that endpoints that failed together do not retry together. A
// `Retry-After` on 429 or 503 is honoured, clamped to the schedule's smallest and largest
// delay so that a receiver can neither make us hammer it nor park a delivery for a week.

export interface RetryDecision {
  next: 'retry' | 'failed';
  delayMs: number;
}

export interface RetryPolicy {
  /** After attempt number `attempt` (1-based) failed. */
  afterFailure(attempt: number, retryAfterMs?: number): RetryDecision;
  readonly maxAttempts: number;
}

export function createRetryPolicy(scheduleMs: number[], random: () => number = Math.random): RetryPolicy {
  const min = Math.min(...scheduleMs);
  const max = Math.max(...scheduleMs);
  return {
    maxAttempts: scheduleMs.length + 1,
    afterFailure(attempt, retryAfterMs) {
      const base = scheduleMs[attempt - 1];
      if (base === undefined) return { next: 'failed', delayMs: 0 };
      if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
        return { next: 'retry', delayMs: Math.min(max, Math.max(min, retryAfterMs)) };
      }
      const jitter = 1 + (random() * 2 - 1) * 0.2;
      return { next: 'retry', delayMs: Math.round(base * jitter) };
    },
  };
}

/** `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now.getTime());
}
