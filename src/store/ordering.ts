// Ordering by business key, as a chain: on an ordered endpoint only the head of each key
// (its unfinished delivery with the lowest sequence) is ever due; the others wait with
// next_attempt_at NULL, which the claim never matches. When a head succeeds or is skipped,
// the next one is promoted (made due) in the same transaction as the ack. The claim itself
// therefore needs no ordering check at all, and a failing head holds only its own key.
//
// Race-freedom rests on one lock: the ordering_keys row of (endpoint, key). Fan-out takes it
// (to number the new deliveries) before it looks for a head; an ack, skip or requeue takes
// it before it looks for the next head. Each side looks in a statement that starts after it
// holds the lock, so under READ COMMITTED it sees what the other side committed, and one of
// the two always promotes a delivery that became the head.
import type { Queryable } from './db.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export interface KeyRef {
  endpointId: string;
  key: string;
}

/** Distinct keys, sorted: every caller locks in the same order, so they cannot deadlock. */
export function distinctKeys(keys: KeyRef[]): KeyRef[] {
  const seen = new Map<string, KeyRef>();
  for (const k of keys) seen.set(`${k.endpointId}\u0000${k.key}`, k);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
}

/** Takes the row lock of each key (see the top of this file), in a fixed order. */
export async function lockKeys(q: Queryable, keys: KeyRef[]): Promise<void> {
  if (keys.length === 0) return;
  const sorted = distinctKeys(keys);
  await q.query(
    `SELECT 1 FROM ordering_keys o
     JOIN unnest($1::text[], $2::text[]) AS k(endpoint_id, key) ON o.endpoint_id = k.endpoint_id AND o.key = k.key
     ORDER BY o.endpoint_id, o.key
     FOR UPDATE OF o`,
    [sorted.map((k) => k.endpointId), sorted.map((k) => k.key)],
  );
}

/**
 * Makes the head of each key due at `at` if it is waiting. A head that is due, in flight or
 * failed is left alone (a failed head keeps its key blocked). Call with the keys locked.
 * Returns the endpoints that got a newly due delivery, for the claim to look at.
 */
export async function promoteHeads(q: Queryable, keys: KeyRef[], at: Date): Promise<string[]> {
  if (keys.length === 0) return [];
  const sorted = distinctKeys(keys);
  // One probe of deliveries_ordering per key: its first row is the head.
  const rows = await q.query<{ endpoint_id: string }>(
    `UPDATE deliveries d SET next_attempt_at = $3, updated_at = $3
     FROM (SELECT (SELECT h.id FROM deliveries h
                   WHERE h.endpoint_id = k.endpoint_id AND h.ordering_key = k.key
                     AND h.sequence IS NOT NULL AND h.state IN ('pending', 'delivering', 'failed')
                   ORDER BY h.sequence LIMIT 1) AS head_id
           FROM unnest($1::text[], $2::text[]) AS k(endpoint_id, key)) x
     WHERE d.id = x.head_id AND d.state = 'pending' AND d.next_attempt_at IS NULL
     RETURNING d.endpoint_id`,
    [sorted.map((k) => k.endpointId), sorted.map((k) => k.key), at],
  );
  return [...new Set(rows.map((r) => r.endpoint_id))];
}

export interface OrderingKeyView {
  key: string;
  /** Unfinished deliveries of the key, the head included. */
  unfinished: number;
  last_sequence: number;
  head_delivery_id: number;
  head_sequence: number;
  head_state: 'pending' | 'delivering' | 'failed';
  head_attempts: number;
  head_next_attempt_at: Date | null;
  head_last_status: number | null;
  head_last_error: string | null;
  /** The head has failed at least once: the key waits for it. */
  blocked: boolean;
  /** When the head first failed. */
  blocked_since: Date | null;
}

/**
 * The keys of an endpoint that have unfinished deliveries, by key; `blocked` keeps only
 * those whose head has failed (retrying, or given up and waiting for a resend or a skip).
 */
export async function listOrderingKeys(
  q: Queryable,
  endpointId: string,
  opts: { blocked: boolean; limit: number; cursor?: string },
): Promise<Page<OrderingKeyView> | undefined> {
  let after: string | null = null;
  if (opts.cursor) {
    const parts = decodeCursor(opts.cursor, ['string']);
    if (!parts) return undefined;
    after = parts[0] as string;
  }
  const rows = await q.query<OrderingKeyView>(
    `WITH keys AS (
       SELECT ordering_key AS key, min(sequence) AS head_sequence, count(*)::int AS unfinished
       FROM deliveries
       WHERE endpoint_id = $1 AND sequence IS NOT NULL AND state IN ('pending', 'delivering', 'failed')
         AND ($2::text IS NULL OR ordering_key > $2)
       GROUP BY ordering_key
     ), heads AS (
       SELECT k.key, k.unfinished, o.last_sequence, h.id AS head_delivery_id, h.sequence AS head_sequence,
              h.state AS head_state, h.attempts AS head_attempts, h.next_attempt_at AS head_next_attempt_at,
              h.last_status AS head_last_status, h.last_error AS head_last_error,
              (h.state = 'failed' OR (h.attempts > 0 AND h.last_error IS NOT NULL)) AS blocked
       FROM keys k
       JOIN deliveries h ON h.endpoint_id = $1 AND h.ordering_key = k.key AND h.sequence = k.head_sequence
                        AND h.state IN ('pending', 'delivering', 'failed')
       JOIN ordering_keys o ON o.endpoint_id = $1 AND o.key = k.key
     )
     SELECT heads.*,
            CASE WHEN blocked THEN coalesce(
              (SELECT min(a.started_at) FROM attempts a WHERE a.delivery_id = heads.head_delivery_id AND a.error IS NOT NULL),
              (SELECT d.updated_at FROM deliveries d WHERE d.id = heads.head_delivery_id)) END AS blocked_since
     FROM heads
     WHERE NOT $3::boolean OR blocked
     ORDER BY key
     LIMIT $4`,
    [endpointId, after, opts.blocked, opts.limit + 1],
  );
  return pageOf(rows, opts.limit, (r) => [r.key]);
}
