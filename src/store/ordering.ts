// Ordering by business key, as a chain: on an ordered endpoint only the head of each key
// (its unfinished delivery with the lowest sequence) is ever due; the others wait in the
// queue with due_at NULL, which the claim never matches. When a head succeeds or is skipped,
// the next one is promoted (made due). The claim itself therefore needs no ordering check at
// all, and a failing head holds only its own key.
//
// Race-freedom rests on the ordering_keys row of (endpoint, key): its last sequence number and
// its count of unfinished deliveries, both written under its row lock. A fan-out adds to the
// count with an upsert, which sees the latest committed row: found at 0, its first new
// delivery is the head and goes due at once. An ack (or skip) of a head takes the count down
// under the same lock and promotes the next waiting delivery; when that delivery was committed
// after the ack's snapshot, the count says one is owed but none is seen, and the ack looks
// again with a fresh statement (see deliveries/ack.ts). Given-up heads stay counted: their key
// stays blocked until they are resent, recovered or skipped.
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
 * Makes the head of each key due at `at` if it is waiting, and marks its endpoint due. A head
 * that is due, in flight or failed is left alone (a failed head keeps its key blocked).
 * Returns the endpoints that got a newly due delivery, for the claim to look at.
 */
export async function promoteHeads(q: Queryable, keys: KeyRef[], at: Date): Promise<string[]> {
  if (keys.length === 0) return [];
  const sorted = distinctKeys(keys);
  // One probe of delivery_queue_ordering per key: its first row is the head.
  const rows = await q.query<{ endpoint_id: string }>(
    `WITH promoted AS (
       UPDATE delivery_queue q SET due_at = $3
       FROM (SELECT (SELECT h.delivery_id FROM delivery_queue h
                     WHERE h.endpoint_id = k.endpoint_id AND h.ordering_key = k.key AND h.sequence IS NOT NULL
                     ORDER BY h.sequence LIMIT 1) AS head_id
             FROM unnest($1::text[], $2::text[]) AS k(endpoint_id, key)) x
       WHERE q.delivery_id = x.head_id AND q.state = 'pending' AND q.due_at IS NULL AND q.lease_owner IS NULL
       RETURNING q.endpoint_id
     ), marks AS (
       INSERT INTO endpoint_turns (endpoint_id, due_at) SELECT DISTINCT endpoint_id, $3::timestamptz FROM promoted
     )
     SELECT DISTINCT endpoint_id FROM promoted`,
    [sorted.map((k) => k.endpointId), sorted.map((k) => k.key), at],
  );
  return rows.map((r) => r.endpoint_id);
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
  opts: { blocked: boolean; limit: number; cursor?: string; now?: Date },
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
       FROM delivery_queue
       WHERE endpoint_id = $1 AND sequence IS NOT NULL AND ($2::text IS NULL OR ordering_key > $2)
       GROUP BY ordering_key
     ), heads AS (
       SELECT k.key, k.unfinished, o.last_sequence, h.delivery_id AS head_delivery_id, h.sequence AS head_sequence,
              CASE WHEN h.state = 'failed' THEN 'failed'
                   WHEN h.lease_owner IS NOT NULL AND h.due_at > $5 THEN 'delivering'
                   ELSE 'pending' END AS head_state,
              d.attempts AS head_attempts,
              CASE WHEN h.lease_owner IS NULL THEN h.due_at END AS head_next_attempt_at,
              d.last_status AS head_last_status, d.last_error AS head_last_error,
              (h.state = 'failed' OR (d.attempts > 0 AND d.last_error IS NOT NULL)) AS blocked
       FROM keys k
       JOIN delivery_queue h ON h.endpoint_id = $1 AND h.ordering_key = k.key AND h.sequence = k.head_sequence
       JOIN deliveries d ON d.id = h.delivery_id
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
    [endpointId, after, opts.blocked, opts.limit + 1, opts.now ?? new Date()],
  );
  return pageOf(rows, opts.limit, (r) => [r.key]);
}
