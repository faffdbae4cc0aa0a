// What one attempt decides for its delivery: succeeded, retry at a time, or give up; and
// whether the endpoint said it is gone. Pure: the worker applies it, the ack records it.
import type { AttemptResult } from '../store/deliveries/types.js';
import { parseRetryAfter, type RetryPolicy } from './retryPolicy.js';
import type { SendResult } from './sender.js';

export interface Outcome {
  next: AttemptResult['next'];
  retryAt: Date | null;
  gone: boolean;
}

/**
 * - any 2xx: succeeded;
 * - 410 Gone: given up, and the endpoint is disabled;
 * - a request that could not be built (a profile that cannot encode this payload): given up,
 *   since sending it again would fail the same way;
 * - anything else: the retry policy decides (Retry-After honoured on 429 and 503), until the
 *   schedule runs out.
 */
export function decideOutcome(
  res: SendResult,
  attempt: number,
  policy: RetryPolicy,
  startedAt: Date,
  finishedAt: Date,
  buildFailed = false,
): Outcome {
  if (res.ok) return { next: 'succeeded', retryAt: null, gone: false };
  const gone = res.status === 410;
  if (gone || buildFailed) return { next: 'failed', retryAt: null, gone };
  const retryAfter =
    res.status === 429 || res.status === 503
      ? parseRetryAfter(res.headers?.['retry-after'], startedAt)
      : undefined;
  const d = policy.afterFailure(attempt, retryAfter);
  if (d.next === 'failed') return { next: 'failed', retryAt: null, gone: false };
  return { next: 'retry', retryAt: new Date(finishedAt.getTime() + d.delayMs), gone: false };
}
