// Retention: events (with their deliveries and attempts) and attempts older than
// TIDINGS_RETENTION_DAYS are removed, a few hundred rows per transaction with a pause
// between, so that the sweep never holds the store long enough to stall delivery.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { deleteExpiredAttempts, deleteExpiredEvents } from '../store/retention.js';

export interface RetentionOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  retentionDays: number;
  /** Rows per transaction. */
  batch?: number;
  /** Pause between batches (ms). */
  pauseMs?: number;
  /** Stop early (shutdown). */
  shouldStop?: () => boolean;
}

export interface RetentionResult {
  events: number;
  attempts: number;
  batches: number;
}

const DAY_MS = 86_400_000;

/** One full pass. Returns what it removed. */
export async function runRetention(o: RetentionOptions): Promise<RetentionResult> {
  const result: RetentionResult = { events: 0, attempts: 0, batches: 0 };
  if (o.retentionDays <= 0) return result;
  const batch = o.batch ?? 500;
  const pause = () => new Promise((r) => setTimeout(r, o.pauseMs ?? 20));
  const cutoff = new Date(o.clock.now().getTime() - o.retentionDays * DAY_MS);
  let after: number | null = null;
  for (;;) {
    if (o.shouldStop?.()) return result;
    const r = await o.db.tx((q) => deleteExpiredEvents(q, after, cutoff, batch));
    result.events += r.deleted;
    result.batches += 1;
    if (r.reachedCutoff) break;
    after = r.lastSeq;
    await pause();
  }
  for (;;) {
    if (o.shouldStop?.()) return result;
    const n = await o.db.tx((q) => deleteExpiredAttempts(q, cutoff, batch));
    result.attempts += n;
    result.batches += 1;
    if (n < batch) break;
    await pause();
  }
  if (result.events + result.attempts > 0) {
    o.log.info(
      { events: result.events, attempts: result.attempts, batches: result.batches, before: cutoff },
      'retention removed old history',
    );
  }
  return result;
}
