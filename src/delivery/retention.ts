// Retention: events (with their deliveries and attempts) and attempts older than
// TIDINGS_RETENTION_DAYS are removed, the request bodies attempts kept, older than
// TIDINGS_BODY_RETENTION_DAYS, and the hourly endpoint statistics older than
// TIDINGS_STATS_RETENTION_DAYS, a few hundred rows per transaction with a pause between, so
// that the sweep never holds the store long enough to stall delivery. What goes leaves its
// hashes: the attempt's body_sha256 and its record in the attempt chain.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db, Queryable } from '../store/db.js';
import {
  deleteExpiredAttempts,
  deleteExpiredBodies,
  deleteExpiredEvents,
  deleteExpiredStats,
} from '../store/retention.js';

export interface RetentionOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  retentionDays: number;
  /** Kept request bodies older than this many days are removed (0: kept as long as their attempt). */
  bodyRetentionDays?: number;
  /** Hourly endpoint statistics older than this many days are removed (0 or absent: kept forever). */
  statsRetentionDays?: number;
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
  bodies: number;
  /** Hourly endpoint statistics rows. */
  stats: number;
  batches: number;
}

const DAY_MS = 86_400_000;

/** One full pass. Returns what it removed. */
export async function runRetention(o: RetentionOptions): Promise<RetentionResult> {
  const result: RetentionResult = { events: 0, attempts: 0, bodies: 0, stats: 0, batches: 0 };
  const batch = o.batch ?? 500;
  const pause = () => new Promise((r) => setTimeout(r, o.pauseMs ?? 20));
  const before = (days: number) => new Date(o.clock.now().getTime() - days * DAY_MS);
  /** Runs one transaction after another until one says the walk is done; false if stopped. */
  const walk = async (step: (q: Queryable) => Promise<boolean>): Promise<boolean> => {
    for (;;) {
      if (o.shouldStop?.()) return false;
      const done = await o.db.tx(step);
      result.batches += 1;
      if (done) return true;
      await pause();
    }
  };
  const bodyDays = o.bodyRetentionDays ?? 0;
  if (bodyDays > 0) {
    const cutoff = before(bodyDays);
    let after = 0;
    const walked = await walk(async (q) => {
      const r = await deleteExpiredBodies(q, after, cutoff, batch);
      result.bodies += r.deleted;
      after = r.lastId;
      return r.reachedCutoff;
    });
    if (!walked) return result;
  }
  const statsDays = o.statsRetentionDays ?? 0;
  if (statsDays > 0) {
    const cutoff = before(statsDays);
    const walked = await walk(async (q) => {
      const n = await deleteExpiredStats(q, cutoff, batch);
      result.stats += n;
      return n < batch;
    });
    if (!walked) return result;
  }
  if (o.retentionDays <= 0) return logged(o, result, null);
  const cutoff = before(o.retentionDays);
  let after: number | null = null;
  const walked = await walk(async (q) => {
    const r = await deleteExpiredEvents(q, after, cutoff, batch);
    result.events += r.deleted;
    after = r.lastSeq;
    return r.reachedCutoff;
  });
  if (!walked) return result;
  const attemptsWalked = await walk(async (q) => {
    const n = await deleteExpiredAttempts(q, cutoff, batch);
    result.attempts += n;
    return n < batch;
  });
  return attemptsWalked ? logged(o, result, cutoff) : result;
}

function logged(o: RetentionOptions, result: RetentionResult, cutoff: Date | null): RetentionResult {
  if (result.events + result.attempts + result.bodies + result.stats > 0) {
    o.log.info(
      {
        events: result.events,
        attempts: result.attempts,
        bodies: result.bodies,
        stats: result.stats,
        batches: result.batches,
        before: cutoff,
      },
      'retention removed old history',
    );
  }
  return result;
}
