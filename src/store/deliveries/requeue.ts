// Putting work back in the queue (resend, recover) and taking it out for good (skip), in the
// caller's transaction. Off the hot path: a few statements each, in the lock order the ack
// uses (queue row, then the record, then the key, then endpoint_state), so they cannot
// deadlock with it.
import type { Queryable } from '../db.js';
import { lockKeys, promoteHeads } from '../ordering.js';
import { markDue } from './turns.js';

interface QueueRow {
  delivery_id: number;
  endpoint_id: string;
  state: 'pending' | 'failed';
  due_at: Date | null;
  lease_owner: string | null;
  ordering_key: string | null;
  sequence: number | null;
}

async function lockQueueRow(q: Queryable, tenantId: string, id: number): Promise<QueueRow | undefined> {
  const rows = await q.query<QueueRow>(
    `SELECT delivery_id, endpoint_id, state, due_at, lease_owner, ordering_key, sequence
     FROM delivery_queue WHERE delivery_id = $2 AND tenant_id = $1 FOR UPDATE`,
    [tenantId, id],
  );
  return rows[0];
}

/** A lease that has not run out: the delivery is being sent right now. */
function inFlight(r: QueueRow, now: Date): boolean {
  return r.lease_owner !== null && r.due_at !== null && r.due_at > now;
}

/** A lease that ran out (its worker died) is given back before the row changes hands. */
async function dropExpiredLease(q: Queryable, r: QueueRow): Promise<void> {
  if (r.lease_owner === null) return;
  await q.query('UPDATE endpoint_state SET in_flight = greatest(0, in_flight - 1) WHERE endpoint_id = $1', [
    r.endpoint_id,
  ]);
}

/**
 * Queues one more attempt now. A delivery being sent at this moment is left alone; any other
 * becomes pending and due now, and keeps its attempt history. An ordered delivery goes when it
 * is the head of its key (at once for a given-up head, which is what unblocks the key); behind
 * an unfinished earlier one it waits its turn.
 */
export async function resendDelivery(
  q: Queryable,
  tenantId: string,
  id: number,
  now: Date,
): Promise<'queued' | 'in_flight' | 'not_found'> {
  const queued = await lockQueueRow(q, tenantId, id);
  if (queued) {
    if (inFlight(queued, now)) return 'in_flight';
    const waiting = queued.sequence !== null && queued.state === 'pending' && queued.due_at === null;
    if (!waiting) {
      await dropExpiredLease(q, queued);
      await q.query(
        `UPDATE delivery_queue SET state = 'pending', due_at = $2, lease_owner = NULL WHERE delivery_id = $1`,
        [id, now],
      );
      await markDue(q, [queued.endpoint_id], now);
    }
    await q.query(
      `UPDATE deliveries SET state = 'pending', updated_at = $2, completed_at = NULL WHERE id = $1`,
      [id, now],
    );
    return 'queued';
  }
  // Finished (succeeded, cancelled): back into the queue.
  const rows = await q.query<{ endpoint_id: string; ordering_key: string | null; sequence: number | null }>(
    `UPDATE deliveries SET state = 'pending', updated_at = $3, completed_at = NULL
     WHERE tenant_id = $1 AND id = $2
     RETURNING endpoint_id, ordering_key, sequence`,
    [tenantId, id, now],
  );
  const d = rows[0];
  if (!d) return 'not_found';
  let head = true;
  if (d.sequence !== null) {
    // One more unfinished delivery of the key: the head only if nothing else is unfinished.
    const counted = await q.query<{ unfinished: number }>(
      `UPDATE ordering_keys SET unfinished = unfinished + 1 WHERE endpoint_id = $1 AND key = $2 RETURNING unfinished`,
      [d.endpoint_id, d.ordering_key ?? ''],
    );
    head = (counted[0]?.unfinished ?? 1) === 1;
  }
  await q.query(
    `INSERT INTO delivery_queue (delivery_id, endpoint_id, tenant_id, due_at, ordering_key, sequence, endpoint_sequence, created_at)
     SELECT d.id, d.endpoint_id, d.tenant_id, $2::timestamptz, d.ordering_key, d.sequence,
            (SELECT min(a.endpoint_sequence) FROM attempts a WHERE a.delivery_id = d.id), d.created_at
     FROM deliveries d WHERE d.id = $1`,
    [id, head ? now : null],
  );
  if (head) await markDue(q, [d.endpoint_id], now);
  else await promoteHeads(q, [{ endpointId: d.endpoint_id, key: d.ordering_key ?? '' }], now);
  return 'queued';
}

/**
 * Queues again every given-up delivery of one endpoint created in [since, until) (through
 * delivery_queue_failed_order, which holds only given-up rows). Each gets one more attempt: if that
 * fails too it is failed again, as a resend would be. A given-up ordered delivery is the head
 * of its key (only heads are sent), so it goes at once and the key follows. A disabled
 * endpoint keeps them until it is enabled.
 */
export async function requeueFailed(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  since: Date,
  now: Date,
  until?: Date,
): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `WITH back AS (
       UPDATE delivery_queue SET state = 'pending', due_at = $4
       WHERE endpoint_id = $2 AND tenant_id = $1 AND state = 'failed' AND created_at >= $3
         AND ($5::timestamptz IS NULL OR created_at < $5)
       RETURNING delivery_id
     ), rec AS (
       UPDATE deliveries d SET state = 'pending', updated_at = $4, completed_at = NULL
       FROM back WHERE d.id = back.delivery_id
     )
     SELECT count(*)::int AS n FROM back`,
    [tenantId, endpointId, since, now, until ?? null],
  );
  const n = rows[0]?.n ?? 0;
  if (n > 0) await markDue(q, [endpointId], now);
  return n;
}

export type SkipOutcome = 'skipped' | 'in_flight' | 'finished' | 'not_found';

/**
 * Gives up on one delivery for good (cancelled): the way to release an ordering key whose
 * head failed and should not be sent again. The next delivery of the key becomes due.
 */
export async function skipDelivery(
  q: Queryable,
  tenantId: string,
  id: number,
  now: Date,
): Promise<SkipOutcome> {
  const queued = await lockQueueRow(q, tenantId, id);
  if (!queued) {
    const found = await q.query('SELECT 1 FROM deliveries WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return found.length > 0 ? 'finished' : 'not_found';
  }
  if (inFlight(queued, now)) return 'in_flight';
  await dropExpiredLease(q, queued);
  await q.query('DELETE FROM delivery_queue WHERE delivery_id = $1', [id]);
  await q.query(
    `UPDATE deliveries SET state = 'cancelled', updated_at = $2, completed_at = $2 WHERE id = $1`,
    [id, now],
  );
  if (queued.sequence !== null) {
    const key = { endpointId: queued.endpoint_id, key: queued.ordering_key ?? '' };
    await lockKeys(q, [key]);
    await q.query(
      'UPDATE ordering_keys SET unfinished = greatest(0, unfinished - 1) WHERE endpoint_id = $1 AND key = $2',
      [key.endpointId, key.key],
    );
    // A fresh statement after the lock: it sees every fan-out and ack of the key before it.
    await promoteHeads(q, [key], now);
  }
  return 'skipped';
}

/** Which given-up deliveries a bulk replay takes (see replayFailedBatch). */
export interface ReplayFilter {
  tenantId: string;
  /** One endpoint; absent: every endpoint of the tenant. */
  endpointId?: string;
  /** Event types: exact names, or "topic.*" prefixes; absent or empty: any type. */
  types?: string[];
  /** Deliveries created in [since, until). */
  since: Date;
  until: Date;
}

/** Where a replay has got to: the last (created_at in µs, delivery id) it took. */
export interface ReplayCursor {
  createdUs: number;
  id: number;
}

/**
 * The failed queue rows a replay matches, as a condition on `q` (delivery_queue), joined to
 * the event only when types are named. The given-up rows of an endpoint are read from
 * delivery_queue_failed_order (endpoint_id, created_at, delivery_id) WHERE state = 'failed', in
 * the order a replay takes them (migration 015);
 * tenant-wide, the endpoints come from endpoints_tenant.
 */
function replayMatch(oneEndpoint: boolean): string {
  return `q.state = 'failed' AND q.tenant_id = $1
  AND ${
    oneEndpoint
      ? 'q.endpoint_id = $2'
      : 'q.endpoint_id IN (SELECT id FROM endpoints WHERE tenant_id = $1 AND ($2::text IS NULL OR id = $2))'
  }
  AND q.created_at >= $3 AND q.created_at < $4
  AND ($5::text[] IS NULL OR EXISTS (
        SELECT 1 FROM deliveries d JOIN events ev ON ev.seq = d.event_seq
        WHERE d.id = q.delivery_id
          AND (ev.type = ANY($5::text[])
               OR EXISTS (SELECT 1 FROM unnest($6::text[]) p WHERE left(ev.type, length(p)) = p))))`;
}

function typeParams(types: string[] | undefined): [string[] | null, string[] | null] {
  if (!types || types.length === 0) return [null, null];
  const exact = types.filter((t) => !t.endsWith('*'));
  const prefixes = types.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1));
  return [exact, prefixes];
}

function replayParams(f: ReplayFilter): unknown[] {
  return [f.tenantId, f.endpointId ?? null, f.since, f.until, ...typeParams(f.types)];
}

/** How many given-up deliveries a replay would queue (a dry run). */
export async function countReplayable(q: Queryable, f: ReplayFilter): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM delivery_queue q WHERE ${replayMatch(false)}`,
    replayParams(f),
  );
  return rows[0]?.n ?? 0;
}

/**
 * Queues again up to `limit` given-up deliveries of one endpoint (f.endpointId, required)
 * after `after`, in (created_at, id) order, in
 * the caller's (short) transaction, as requeueFailed does for each: pending and due now, one
 * more attempt. Rows a resend or skip holds right now are skipped (SKIP LOCKED), not waited
 * for. The cursor makes a replay take each delivery once, even one that fails again before
 * the replay ends. Returns what it queued and the cursor of the last row it looked at (null
 * when none was left).
 */
export async function replayFailedBatch(
  q: Queryable,
  f: ReplayFilter,
  after: ReplayCursor | null,
  limit: number,
  now: Date,
): Promise<{ queued: number; last: ReplayCursor | null }> {
  if (!f.endpointId) throw new Error('replayFailedBatch: one endpoint at a time');
  const rows = await q.query<{ queued: number; last_us: number | null; last_id: number | null }>(
    `WITH pick AS (
       SELECT q.delivery_id, q.endpoint_id, q.created_at FROM delivery_queue q
       WHERE ${replayMatch(true)}
         AND ($7::bigint IS NULL
              OR (q.created_at >= timestamptz 'epoch' + $7::bigint * interval '1 microsecond'
                  AND (q.created_at, q.delivery_id) > (timestamptz 'epoch' + $7::bigint * interval '1 microsecond', $8::bigint)))
       ORDER BY q.created_at, q.delivery_id
       LIMIT $9
       FOR UPDATE OF q SKIP LOCKED
     ), back AS (
       UPDATE delivery_queue q SET state = 'pending', due_at = $10
       FROM pick WHERE q.delivery_id = pick.delivery_id
       RETURNING q.delivery_id
     ), rec AS (
       UPDATE deliveries d SET state = 'pending', updated_at = $10, completed_at = NULL
       FROM back WHERE d.id = back.delivery_id
     ), last AS (
       SELECT (extract(epoch FROM created_at) * 1000000)::bigint AS us, delivery_id FROM pick
       ORDER BY created_at DESC, delivery_id DESC LIMIT 1
     )
     SELECT (SELECT count(*)::int FROM back) AS queued,
            (SELECT us FROM last) AS last_us, (SELECT delivery_id FROM last) AS last_id`,
    [...replayParams(f), after?.createdUs ?? null, after?.id ?? null, limit, now],
  );
  const r = rows[0]!;
  if (r.queued > 0) await markDue(q, [f.endpointId], now);
  return {
    queued: r.queued,
    last:
      r.last_us === null || r.last_id === null
        ? null
        : { createdUs: Number(r.last_us), id: Number(r.last_id) },
  };
}

/** The tenant's endpoints (or the one named) that have given-up deliveries, in id order. */
export async function endpointsWithFailed(
  q: Queryable,
  tenantId: string,
  endpointId?: string,
): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `SELECT e.id FROM endpoints e
     WHERE e.tenant_id = $1 AND ($2::text IS NULL OR e.id = $2)
       AND EXISTS (SELECT 1 FROM delivery_queue q WHERE q.endpoint_id = e.id AND q.state = 'failed')
     ORDER BY e.id`,
    [tenantId, endpointId ?? null],
  );
  return rows.map((r) => r.id);
}
