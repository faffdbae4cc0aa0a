// Retries of answers that ask for it: 429 (and 503) with Retry-After, in seconds or as an
// HTTP date. Other answers and network errors are returned or thrown as they are: whether a
// call may be repeated is the caller's business (a publish with an id or Idempotency-Key may).

export interface RetryOptions {
  /** Retries after the first try (default 3; 0 turns retrying off). */
  retries?: number;
  /** Longest wait for one retry (default 60 s); an answer asking for longer is returned. */
  maxDelayMs?: number;
  /** How to wait (tests). */
  sleep?: (ms: number) => Promise<void>;
}

export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A fetch that repeats a request the server answered 429 or 503 with a Retry-After. */
export function retryingFetch(
  base: (req: Request) => Promise<Response>,
  opts: RetryOptions = {},
): (req: Request) => Promise<Response> {
  const retries = opts.retries ?? 3;
  const maxDelayMs = opts.maxDelayMs ?? 60_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return async (req) => {
    for (let attempt = 0; ; attempt++) {
      // A request body can be read once: each try sends a copy.
      const res = await base(attempt < retries ? req.clone() : req);
      if ((res.status !== 429 && res.status !== 503) || attempt >= retries) return res;
      const wait = retryAfterMs(res.headers.get('retry-after'));
      if (wait === undefined || wait > maxDelayMs) return res;
      await res.body?.cancel();
      await sleep(wait);
    }
  };
}
