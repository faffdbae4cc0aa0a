// API rate limiting per tenant token: a token bucket per token, in this process's memory.
// With several api processes each keeps its own buckets, so a token may reach N times the
// rate across N processes; the limit protects each process, it is not a billing meter.
// The operator token is not limited: it is the operator's own publishing path.
import type { Principal } from './auth.js';
import type { App } from './context.js';
import { ApiError } from './errors.js';

export interface Take {
  ok: boolean;
  /** Whole seconds until a request would be allowed (when not ok). */
  retryAfterS: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param ratePerS tokens added per second
   * @param burst most tokens a bucket holds (requests allowed at once after a quiet spell)
   * @param now monotonic milliseconds; rate limiting is about real time, not the business clock
   */
  constructor(
    readonly ratePerS: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(key: string): Take {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerS);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, retryAfterS: 0 };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerS)) };
  }

  /** Forgets buckets that have refilled: they would start full anyway. */
  private prune(t: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.ratePerS >= this.burst) this.buckets.delete(key);
    }
  }
}

/** The key a principal is limited under, or undefined when it is not limited. */
function limitKey(p: Principal | null): string | undefined {
  return p?.kind === 'tenant' ? `token:${p.tokenId}` : undefined;
}

/**
 * Adds the limit as an onRequest hook; register it after the hook that sets req.principal.
 * A rate of 0 turns limiting off. The bucket holds two seconds' worth of requests.
 */
export function registerRateLimit(app: App, ratePerS: number): void {
  if (ratePerS <= 0) return;
  const buckets = new TokenBuckets(ratePerS, Math.max(1, Math.ceil(ratePerS * 2)));
  app.addHook('onRequest', async (req) => {
    const key = limitKey(req.principal);
    if (!key) return;
    const r = buckets.take(key);
    if (!r.ok) {
      throw new ApiError(
        429,
        'rate_limited',
        `Too many requests for this token; try again in ${r.retryAfterS} s.`,
        { limit_per_s: ratePerS },
        { 'retry-after': String(r.retryAfterS) },
      );
    }
  });
}
