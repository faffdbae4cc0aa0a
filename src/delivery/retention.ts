// Retention: events (with their deliveries and attempts) and attempts older than
// TIDINGS_RETENTION_DAYS are removed, the request bodies attempts kept, older than
// TIDINGS_BODY_RETENTION_DAYS, and the hourly endpoint statistics older than
// TIDINGS_STATS_RETENTION_DAYS, a few hundred rows per transaction with a pause between, so
// that the sweep never holds the store long enough to stall delivery. What goes leaves its
// hashes: the attempt's body_sha256 and its record in the attempt chain.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
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
  const bodyDays = o.bodyRetentionDays ?? 0;
  if (bodyDays > 0) {
    const bodyCutoff = new Date(o.clock.now().getTime() - bodyDays * DAY_MS);
    let after = 0;
    for (;;) {
      if (o.shouldStop?.()) return result;
      const r = await o.db.tx((q) => deleteExpiredBodies(q, after, bodyCutoff, batch));
      result.bodies += r.deleted;
      result.batches += 1;
      if (r.reachedCutoff) break;
      after = r.lastId;
      await pause();
    }
  }
  const statsDays = o.statsRetentionDays ?? 0;
  if (statsDays > 0) {
    const statsCutoff = new Date(o.clock.now().getTime() - statsDays * DAY_MS);
    for (;;) {
      if (o.shouldStop?.()) return result;
      const n = await o.db.tx((q) => deleteExpiredStats(q, statsCutoff, batch));
      result.stats += n;
      result.batches += 1;
      if (n < batch) break;
      await pause();
    }
  }
  if (o.retentionDays <= 0) return logged(o, result, null);
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
  return logged(o, result, cutoff);
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
