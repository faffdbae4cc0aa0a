import { describe, expect, it } from 'vitest';
import { createRetryPolicy, parseRetryAfter } from '../../src/delivery/retryPolicy.js';

const SCHEDULE = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

describe('retry policy', () => {
  it('follows the schedule with at most ±20 % jitter, then gives up after 8 attempts', () => {
    for (const r of [0, 0.5, 0.999999]) {
      const p = createRetryPolicy(SCHEDULE, () => r);
      expect(p.maxAttempts).toBe(8);
      SCHEDULE.forEach((base, i) => {
        const d = p.afterFailure(i + 1);
        expect(d.next).toBe('retry');
        expect(d.delayMs).toBeGreaterThanOrEqual(base * 0.8);
        expect(d.delayMs).toBeLessThanOrEqual(base * 1.2);
      });
      expect(p.afterFailure(8).next).toBe('failed');
    }
  });

  it('spreads retries (jitter is not constant)', () => {
    const p = createRetryPolicy(SCHEDULE, () => 0);
    const q = createRetryPolicy(SCHEDULE, () => 0.99);
    expect(p.afterFailure(1).delayMs).not.toBe(q.afterFailure(1).delayMs);
  });

  it('honours Retry-After, clamped to the schedule bounds', () => {
    const p = createRetryPolicy(SCHEDULE);
    expect(p.afterFailure(1, 60_000).delayMs).toBe(60_000);
    expect(p.afterFailure(1, 10).delayMs).toBe(5_000);
    expect(p.afterFailure(1, 7 * 86_400_000).delayMs).toBe(36_000_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
