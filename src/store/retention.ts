// Removing old history in small batches. Each call is one short transaction over a few
// hundred rows, so that deliveries keep flowing between batches (on PGlite the single
// connection is free again after every batch).
import { PRUNE_CHAIN_OF } from './attemptChain.js';
import type { Queryable } from './db.js';

export interface EventBatchResult {
  /** The highest seq looked at: the next batch starts after it. */
  lastSeq: number | null;
  deleted: number;
  /** The batch met an event newer than the cutoff: this pass is done. */
  reachedCutoff: boolean;
}

/**
 * Deletes events created before `cutoff` with their deliveries, attempts and queue rows
 * (through deliveries_event, attempts_delivery and the queue's primary key: the hot tables
 * have no foreign keys to cascade, see migration 006), walking the events in seq order (the
 * primary key) from `afterSeq`. An event is kept while it is still owed somewhere: a delivery
 * pending or in flight, or a failed ordered delivery, which may be the head that keeps its key
 * blocked until it is resent or skipped.
 */
export async function deleteExpiredEvents(
  q: Queryable,
  afterSeq: number | null,
  cutoff: Date,
  limit: number,
): Promise<EventBatchResult> {
  const rows = await q.query<{ last_seq: number | null; deleted: number; reached: boolean | null }>(
    `WITH batch AS (
       SELECT seq, created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $3
     ), doomed AS (
       SELECT b.seq FROM batch b
       WHERE b.created_at < $2
         AND NOT EXISTS (SELECT 1 FROM deliveries d
                         WHERE d.event_seq = b.seq
                           AND (d.state = 'pending' OR (d.state = 'failed' AND d.sequence IS NOT NULL)))
     ), dls AS (
       SELECT d.id FROM deliveries d WHERE d.event_seq IN (SELECT seq FROM doomed)
     ), a AS (
       DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM dls) RETURNING id
     ), ${PRUNE_CHAIN_OF('a')}, qd AS (
       DELETE FROM delivery_queue WHERE delivery_id IN (SELECT id FROM dls)
     ), d AS (
       DELETE FROM deliveries WHERE id IN (SELECT id FROM dls)
     ), gone AS (
       DELETE FROM events e USING doomed WHERE e.seq = doomed.seq RETURNING e.seq
     )
     SELECT (SELECT max(seq) FROM batch) AS last_seq,
            (SELECT count(*) FROM gone)::int AS deleted,
            (SELECT bool_or(created_at >= $2) FROM batch) AS reached`,
    [afterSeq ?? 0, cutoff, limit],
  );
  const r = rows[0]!;
  return {
    lastSeq: r.last_seq,
    deleted: r.deleted,
    reachedCutoff: r.reached === true || r.last_seq === null,
  };
}

/**
 * Deletes attempts recorded before `cutoff` that outlived their event (a delivery still
 * owed keeps its event, not its oldest attempt logs), oldest first through attempts_created.
 */
export async function deleteExpiredAttempts(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `WITH doomed AS (SELECT id FROM attempts WHERE created_at < $1 ORDER BY created_at LIMIT $2),
          gone AS (DELETE FROM attempts a USING doomed WHERE a.id = doomed.id RETURNING a.id),
          ${PRUNE_CHAIN_OF('gone')}
     SELECT count(*)::int AS n FROM gone`,
    [cutoff, limit],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Deletes kept request bodies recorded before `cutoff`, walking attempt_bodies by its primary
 * key from `afterId` (attempt ids grow with time, so the old ones come first and the walk
 * stops at the first body newer than the cutoff). The attempts keep their body_sha256.
 */
export async function deleteExpiredBodies(
  q: Queryable,
  afterId: number,
  cutoff: Date,
  limit: number,
): Promise<{ lastId: number; deleted: number; reachedCutoff: boolean }> {
  const rows = await q.query<{ last_id: number | null; deleted: number; reached: boolean | null }>(
    `WITH batch AS (
       SELECT attempt_id, created_at FROM attempt_bodies WHERE attempt_id > $1 ORDER BY attempt_id LIMIT $3
     ), gone AS (
       DELETE FROM attempt_bodies b USING batch WHERE b.attempt_id = batch.attempt_id AND batch.created_at < $2
       RETURNING 1
     )
     SELECT (SELECT max(attempt_id)::float8 FROM batch) AS last_id,
            (SELECT count(*) FROM gone)::int AS deleted,
            (SELECT bool_or(created_at >= $2) FROM batch) AS reached`,
    [afterId, cutoff, limit],
  );
  const r = rows[0]!;
  return {
    lastId: r.last_id ?? afterId,
    deleted: r.deleted,
    reachedCutoff: r.reached === true || r.last_id === null,
  };
}

/**
 * Deletes hourly endpoint statistics older than `cutoff`, oldest first through
 * endpoint_stats_hourly_hour. The stats outlive the attempts they were rolled up from (the
 * stats route answers up to a year of days), so they have a retention of their own.
 */
export async function deleteExpiredStats(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `WITH doomed AS (SELECT endpoint_id, hour FROM endpoint_stats_hourly WHERE hour < $1 ORDER BY hour LIMIT $2),
          gone AS (DELETE FROM endpoint_stats_hourly s USING doomed
                   WHERE s.endpoint_id = doomed.endpoint_id AND s.hour = doomed.hour RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [cutoff, limit],
  );
  return rows[0]?.n ?? 0;
}
