// Turn marks outside the hot statements: writers of due work that are not a publish, claim or
// ack, and the two safety nets (leases whose worker died, and turns that went missing).
import type { Queryable } from '../db.js';

/**
 * Shows endpoints' due work to the claim by `at`, in the transaction that made that work due.
 * A plain insert: nothing is locked, and a claim that sees the mark sees the work.
 */
export async function markDue(q: Queryable, endpointIds: string[], at: Date): Promise<void> {
  if (endpointIds.length === 0) return;
  await q.query(
    'INSERT INTO endpoint_turns (endpoint_id, due_at) SELECT DISTINCT unnest($1::text[]), $2::timestamptz',
    [endpointIds, at],
  );
}

/**
 * The safety net for leases whose worker died or hung: the rows are due already (a lease is
 * a due time), so any claim takes them over, and a claim that finds every lease of an
 * endpoint past its end (endpoint_state.lease_horizon) stops counting them as in flight. What
 * may be missing is a turn: an endpoint whose in-flight requests all belonged to the dead
 * worker may have no mark. This gives such endpoints one. Returns how many leases ran out
 * (as far as the counters know).
 */
export async function releaseExpiredLeases(q: Queryable, now: Date): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `WITH stale AS (
       SELECT s.endpoint_id, s.in_flight FROM endpoint_state s
       WHERE s.in_flight > 0 AND s.lease_horizon < $1
     ), marks AS (
       INSERT INTO endpoint_turns (endpoint_id, due_at)
       SELECT x.endpoint_id, $1 FROM stale x
       WHERE NOT EXISTS (SELECT 1 FROM endpoint_turns t WHERE t.endpoint_id = x.endpoint_id AND t.due_at <= $1)
     )
     SELECT coalesce(sum(in_flight), 0)::int AS n FROM stale`,
    [now],
  );
  return rows[0]?.n ?? 0;
}

/**
 * The safety net under the marks (polling guarantees progress): an enabled endpoint with due
 * work but no turn mark at all, that is not waiting for room, gets one now. Each endpoint
 * costs one probe of its oldest due queue row. Returns how many were repaired; anything but
 * 0 is a bug somewhere, and the worker logs it.
 */
export async function repairMissedTurns(q: Queryable, now: Date): Promise<number> {
  const rows = await q.query(
    `INSERT INTO endpoint_turns (endpoint_id, due_at)
     SELECT s.endpoint_id, $1 FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
     WHERE NOT e.disabled AND NOT s.wants_room
       AND (SELECT q.due_at FROM delivery_queue q
            WHERE q.endpoint_id = s.endpoint_id AND q.due_at IS NOT NULL AND q.lease_owner IS NULL
            ORDER BY q.due_at LIMIT 1) <= $1
       AND NOT EXISTS (SELECT 1 FROM endpoint_turns t WHERE t.endpoint_id = s.endpoint_id)
     RETURNING endpoint_id`,
    [now],
  );
  return rows.length;
}

/**
 * Queue rows and marks left by an endpoint deleted while a publish that still saw it was
 * writing (there is no foreign key to remove them): removed in small batches.
 */
export async function removeOrphans(q: Queryable, limit = 500): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `WITH rows AS (
       DELETE FROM delivery_queue q WHERE q.delivery_id IN (
         SELECT q2.delivery_id FROM delivery_queue q2
         WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = q2.delivery_id)
            OR NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = q2.endpoint_id)
         LIMIT $1)
       RETURNING 1
     ), marks AS (
       DELETE FROM endpoint_turns t
       WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = t.endpoint_id)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM rows)::int + (SELECT count(*) FROM marks)::int AS n`,
    [limit],
  );
  return rows[0]?.n ?? 0;
}

/** The endpoints of the oldest due marks, in mark order: what a claim would serve now. */
export async function dueEndpoints(q: Queryable, now: Date, limit: number): Promise<string[]> {
  const rows = await q.query<{ endpoint_id: string }>(
    `SELECT endpoint_id FROM (SELECT endpoint_id, min(due_at) AS first FROM
       (SELECT endpoint_id, due_at FROM endpoint_turns WHERE due_at <= $1 ORDER BY due_at LIMIT $2) m
       GROUP BY endpoint_id) x
     ORDER BY first`,
    [now, limit],
  );
  return rows.map((r) => r.endpoint_id);
}
