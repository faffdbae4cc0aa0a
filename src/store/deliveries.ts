import {
  CIRCUIT_OPEN_AFTER,
  type EndpointTurnRow,
  endTurn,
  type TurnContext,
  turnCapacity,
} from './claimPlan.js';
import type { Queryable } from './db.js';
import { disableGone } from './health.js';
import { type KeyRef, lockKeys, promoteHeads } from './ordering.js';

export type DeliveryState = 'pending' | 'delivering' | 'succeeded' | 'failed' | 'cancelled';

/** Everything the worker needs to send one claimed delivery, from one claim statement. */
export interface ClaimedDelivery {
  id: number;
  attempts: number;
  tenant_id: string;
  endpoint_id: string;
  url: string;
  profile: string;
  secret: string;
  headers: string | null;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  payload: string;
  ordering_key: string | null;
  sequence: number | null;
}

export interface ClaimOptions {
  now: Date;
  leaseUntil: Date;
  workerId: string;
  /** Most deliveries in this claim. */
  limit: number;
  /** Most deliveries of one endpoint in this claim. */
  perEndpoint: number;
  /** Most endpoints looked at in this claim. */
  endpoints: number;
  /** Consecutive failures that open an endpoint's circuit (default CIRCUIT_OPEN_AFTER). */
  circuitOpenAfter?: number;
}

/**
 * Claims due deliveries fairly across endpoints, in one transaction of three statements:
 *
 * 1. Lock the endpoints whose turn it is (endpoint_state.next_due_at <= now, oldest first,
 *    through endpoint_state_due) FOR UPDATE SKIP LOCKED: two workers never claim for the
 *    same endpoint at once, so the in-flight cap, the circuit's single probe and the rate
 *    limit below are exact, and a publish that adds work for a locked endpoint waits for us
 *    before it marks the endpoint due again. Each endpoint's requests in flight are counted
 *    through deliveries_in_flight (a few rows, whatever the endpoint's history).
 *    claimPlan.ts turns each row into a capacity (cap, circuit, rate limit).
 * 2. Take up to that many of each endpoint's due deliveries in time order (deliveries_due),
 *    round-robin across the endpoints (every endpoint's first, then every second, …) until
 *    the claim's limit, mark them delivering with a lease, and return them joined with what
 *    sending needs. Ordered deliveries need no check here: only the head of a key is ever
 *    due (see ordering.ts).
 * 3. Move each locked endpoint's next_due_at: to the earliest pending delivery, or to "now"
 *    if work is due already (later if a probe or the rate limit says so), which puts a busy
 *    endpoint behind every endpoint that became due before this claim. A fresh event for a
 *    quiet endpoint therefore waits at most one round, never behind another endpoint's
 *    backlog. This is a separate statement so that it sees deliveries committed while
 *    statement 1 waited (READ COMMITTED).
 */
export async function claimDeliveries(q: Queryable, o: ClaimOptions): Promise<ClaimedDelivery[]> {
  const ready = await q.query<EndpointTurnRow>(
    `SELECT s.endpoint_id, e.disabled, e.max_in_flight, e.rate_limit_per_s, s.rate_tat, s.consecutive_failures,
            s.probe_after,
            (SELECT count(*) FROM deliveries x
             WHERE x.endpoint_id = s.endpoint_id AND x.state = 'delivering')::int AS in_flight
     FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
     WHERE s.next_due_at <= $1
     ORDER BY s.next_due_at
     LIMIT $2
     FOR UPDATE OF s SKIP LOCKED`,
    [o.now, o.endpoints],
  );
  if (ready.length === 0) return [];
  const ctx: TurnContext = {
    now: o.now,
    leaseUntil: o.leaseUntil,
    perEndpoint: o.perEndpoint,
    circuitOpenAfter: o.circuitOpenAfter ?? CIRCUIT_OPEN_AFTER,
  };
  const capacities = ready.map((r) => turnCapacity(r, ctx));
  const withRoom = ready
    .map((r, i) => ({ id: r.endpoint_id, capacity: capacities[i]! }))
    .filter((r) => r.capacity > 0);
  let claimed: ClaimedDelivery[] = [];
  if (withRoom.length > 0) {
    claimed = await q.query<ClaimedDelivery>(
      `WITH candidates AS (
         SELECT p.id, p.rn, r.ord
         FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS r(endpoint_id, capacity, ord)
         CROSS JOIN LATERAL (
           SELECT d.id, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS rn
           FROM deliveries d
           WHERE d.endpoint_id = r.endpoint_id AND d.state = 'pending' AND d.next_attempt_at <= $3
           ORDER BY d.next_attempt_at, d.id
           LIMIT r.capacity
         ) p
       ), picked AS (
         -- Only the rows we take are locked; SKIP LOCKED steps over a row a resend holds.
         SELECT d.id FROM deliveries d
         WHERE d.id IN (SELECT id FROM candidates ORDER BY rn, ord LIMIT $4) AND d.state = 'pending'
         FOR UPDATE SKIP LOCKED
       ), upd AS (
         UPDATE deliveries d SET state = 'delivering', locked_until = $5, locked_by = $6, updated_at = $3
         FROM picked WHERE d.id = picked.id
         RETURNING d.id, d.attempts, d.tenant_id, d.endpoint_id, d.event_seq, d.ordering_key, d.sequence
       )
       SELECT upd.id, upd.attempts, upd.tenant_id, upd.endpoint_id, e.url, e.profile, e.secret, e.headers, e.previous_secrets,
              ev.id AS event_id, ev.type AS event_type, ev.created_at AS event_created_at, ev.payload::text AS payload,
              upd.ordering_key, upd.sequence
       FROM upd JOIN endpoints e ON e.id = upd.endpoint_id JOIN events ev ON ev.seq = upd.event_seq
       ORDER BY upd.id`,
      [withRoom.map((r) => r.id), withRoom.map((r) => r.capacity), o.now, o.limit, o.leaseUntil, o.workerId],
    );
  }
  const taken = new Map<string, number>();
  for (const d of claimed) taken.set(d.endpoint_id, (taken.get(d.endpoint_id) ?? 0) + 1);
  const ends = ready.map((r, i) => endTurn(r, capacities[i]!, taken.get(r.endpoint_id) ?? 0, ctx));
  await q.query(
    `UPDATE endpoint_state s
     SET next_due_at = CASE WHEN m.clear OR m.due IS NULL THEN NULL
                            WHEN m.keep_place AND m.due <= $2 THEN s.next_due_at
                            ELSE greatest(m.due, m.not_before) END,
         last_claimed_at = CASE WHEN m.keep_place THEN s.last_claimed_at ELSE $2 END,
         rate_tat = coalesce(m.rate_tat, s.rate_tat),
         probe_after = coalesce(m.probe_after, s.probe_after)
     FROM (SELECT r.*,
                  (SELECT min(d.next_attempt_at) FROM deliveries d
                   WHERE d.endpoint_id = r.endpoint_id AND d.state = 'pending') AS due
           FROM unnest($1::text[], $3::boolean[], $4::boolean[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
             AS r(endpoint_id, clear, keep_place, not_before, rate_tat, probe_after)) m
     WHERE s.endpoint_id = m.endpoint_id`,
    [
      ready.map((r) => r.endpoint_id),
      o.now,
      ends.map((e) => e.clear),
      ends.map((e) => e.keepPlace),
      ends.map((e) => e.notBefore),
      ends.map((e) => e.rateTat),
      ends.map((e) => e.probeAfter),
    ],
  );
  return claimed;
}

/** The outcome of one attempt, as the worker reports it. */
export interface AttemptResult {
  deliveryId: number;
  endpointId: string;
  /** Attempt number (1 for the first). */
  attempt: number;
  startedAt: Date;
  durationMs: number;
  url: string;
  status: number | null;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  error: string | null;
  /** What happens to the delivery next. */
  next: 'succeeded' | 'retry' | 'failed';
  /** When next is 'retry'. */
  retryAt: Date | null;
  /** The endpoint answered 410 Gone: disable it. */
  gone: boolean;
}

/** How an open circuit spaces its probes (see recordAttempts). */
export interface CircuitSettings {
  openAfter: number;
  /** Shortest wait before a probe. */
  probeMinMs: number;
  /** Longest wait before a probe. */
  probeMaxMs: number;
}

export const DEFAULT_CIRCUIT: CircuitSettings = {
  openAfter: CIRCUIT_OPEN_AFTER,
  probeMinMs: 5_000,
  probeMaxMs: 300_000,
};

export interface AckOutcome {
  /** Endpoints whose next ordered delivery became due: worth a claim now. */
  promoted: string[];
}

/**
 * Records a batch of attempts and moves their deliveries on, in the caller's transaction:
 * one commit for many acks. A delivery whose lease we lost (another worker took it over)
 * keeps the other worker's state; our attempt is still recorded, since it happened.
 * A succeeded head of an ordering key makes the next delivery of its key due.
 */
export async function recordAttempts(
  q: Queryable,
  results: AttemptResult[],
  workerId: string,
  now: Date,
  circuit: CircuitSettings = DEFAULT_CIRCUIT,
): Promise<AckOutcome> {
  if (results.length === 0) return { promoted: [] };
  await q.query(
    `INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, url, status, request_headers,
                           response_headers, response_body, error, created_at)
     SELECT * , $11::timestamptz FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::int[], $5::text[], $6::int[],
                          $7::json[], $8::json[], $9::text[], $10::text[])`,
    [
      results.map((r) => r.deliveryId),
      results.map((r) => r.attempt),
      results.map((r) => r.startedAt),
      results.map((r) => r.durationMs),
      results.map((r) => r.url),
      results.map((r) => r.status),
      results.map((r) => JSON.stringify(r.requestHeaders)),
      results.map((r) => (r.responseHeaders ? JSON.stringify(r.responseHeaders) : null)),
      results.map((r) => r.responseBody),
      results.map((r) => r.error),
      now,
    ],
  );
  const moved = await q.query<{ endpoint_id: string; ordering_key: string | null; sequence: number | null }>(
    `UPDATE deliveries d
     SET state = CASE r.next WHEN 'retry' THEN 'pending' ELSE r.next END,
         attempts = greatest(d.attempts, r.attempt),
         next_attempt_at = r.retry_at,
         last_status = r.status, last_error = r.error,
         locked_until = NULL, locked_by = NULL, updated_at = $8,
         completed_at = CASE WHEN r.next = 'retry' THEN NULL ELSE $8::timestamptz END
     FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::int[], $5::text[], $6::int[])
          AS r(id, next, retry_at, status, error, attempt)
     WHERE d.id = r.id AND d.state = 'delivering' AND d.locked_by = $7
     RETURNING d.endpoint_id, d.ordering_key, CASE WHEN r.next = 'succeeded' THEN d.sequence END AS sequence`,
    [
      results.map((r) => r.deliveryId),
      results.map((r) => r.next),
      results.map((r) => r.retryAt),
      results.map((r) => r.status),
      results.map((r) => r.error),
      results.map((r) => r.attempt),
      workerId,
      now,
    ],
  );
  const finishedHeads: KeyRef[] = moved
    .filter((m) => m.sequence !== null)
    .map((m) => ({ endpointId: m.endpoint_id, key: m.ordering_key ?? '' }));
  let promoted: string[] = [];
  if (finishedHeads.length > 0) {
    await lockKeys(q, finishedHeads);
    promoted = await promoteHeads(q, finishedHeads, now);
  }
  await updateEndpointHealth(q, results, promoted, now, circuit);
  return { promoted };
}

/**
 * Folds a batch of results into each endpoint's health, circuit and next turn. Every value
 * is computed from the locked row itself (s.…), so two acks of one endpoint at once add up.
 * The circuit opens at `openAfter` consecutive failures; while open, the next probe waits a
 * quarter of the time the endpoint has been failing, between probeMinMs and probeMaxMs
 * (5 s for a blip, 5 min for an outage): probed, not hammered, and found again soon after
 * it comes back. Any success closes it.
 */
async function updateEndpointHealth(
  q: Queryable,
  results: AttemptResult[],
  promoted: string[],
  now: Date,
  circuit: CircuitSettings,
): Promise<void> {
  interface Acc {
    failuresSinceSuccess: number;
    sawSuccess: boolean;
    lastSuccess: Date | null;
    lastFailure: Date | null;
    firstFailure: Date | null;
    retryAt: Date | null;
    gone: boolean;
  }
  const per = new Map<string, Acc>();
  const blank = (): Acc => ({
    failuresSinceSuccess: 0,
    sawSuccess: false,
    lastSuccess: null,
    lastFailure: null,
    firstFailure: null,
    retryAt: null,
    gone: false,
  });
  for (const r of [...results].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())) {
    let a = per.get(r.endpointId);
    if (!a) {
      a = blank();
      per.set(r.endpointId, a);
    }
    const end = new Date(r.startedAt.getTime() + r.durationMs);
    if (r.next === 'succeeded') {
      a.sawSuccess = true;
      a.failuresSinceSuccess = 0;
      a.firstFailure = null;
      a.lastSuccess = end;
    } else {
      a.failuresSinceSuccess += 1;
      a.firstFailure ??= r.startedAt;
      a.lastFailure = end;
    }
    if (r.retryAt && (!a.retryAt || r.retryAt < a.retryAt)) a.retryAt = r.retryAt;
    if (r.gone) a.gone = true;
  }
  const promotedSet = new Set(promoted);
  // A fixed order of row locks: two acks that share endpoints cannot deadlock.
  const ids = [...new Set([...per.keys(), ...promoted])].sort();
  const acc = ids.map((id) => per.get(id) ?? blank());
  await lockEndpointStates(q, ids);
  const failures = 'CASE WHEN u.saw_success THEN u.failures ELSE s.consecutive_failures + u.failures END';
  const failingSince = `CASE WHEN u.saw_success AND u.failures = 0 THEN NULL WHEN u.saw_success THEN u.first_failure
                             ELSE coalesce(s.failing_since, u.first_failure) END`;
  const probeAfter = `$8::timestamptz + least($10::float8 * interval '1 millisecond',
                        greatest($9::float8 * interval '1 millisecond', ($8::timestamptz - (${failingSince})) / 4))`;
  await q.query(
    `UPDATE endpoint_state s SET
       consecutive_failures = ${failures},
       last_success_at = coalesce(u.last_success, s.last_success_at),
       last_failure_at = coalesce(u.last_failure, s.last_failure_at),
       failing_since = ${failingSince},
       probe_after = CASE WHEN ${failures} < $11 THEN NULL
                          WHEN u.failures > 0 THEN ${probeAfter} ELSE s.probe_after END,
       next_due_at = CASE
         WHEN ${failures} >= $11 AND u.failures > 0
           THEN least(coalesce(s.next_due_at, ${probeAfter}), ${probeAfter})
         -- Promoted work, or a probe that closed the circuit: what waited is due now.
         WHEN u.promoted OR (u.saw_success AND s.consecutive_failures >= $11)
           THEN least(coalesce(s.next_due_at, $8), $8)
         WHEN u.retry_at IS NULL THEN s.next_due_at
         ELSE least(coalesce(s.next_due_at, u.retry_at), u.retry_at) END
     FROM unnest($1::text[], $2::int[], $3::boolean[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[],
                 $7::timestamptz[], $12::boolean[])
          AS u(endpoint_id, failures, saw_success, last_success, last_failure, first_failure, retry_at, promoted)
     WHERE s.endpoint_id = u.endpoint_id`,
    [
      ids,
      acc.map((a) => a.failuresSinceSuccess),
      acc.map((a) => a.sawSuccess),
      acc.map((a) => a.lastSuccess),
      acc.map((a) => a.lastFailure),
      acc.map((a) => a.firstFailure),
      acc.map((a) => a.retryAt),
      now,
      circuit.probeMinMs,
      circuit.probeMaxMs,
      circuit.openAfter,
      ids.map((id) => promotedSet.has(id)),
    ],
  );
  const gone = ids.filter((id) => per.get(id)?.gone);
  if (gone.length > 0) await disableGone(q, gone, now);
}

/**
 * Returns deliveries whose lease expired (their worker died or hung) to pending, due now,
 * so that any worker takes them over. Small batches: this runs beside normal traffic.
 */
export async function releaseExpiredLeases(q: Queryable, now: Date, limit = 500): Promise<number> {
  const rows = await q.query<{ endpoint_id: string }>(
    `WITH x AS (
       SELECT id FROM deliveries WHERE state = 'delivering' AND locked_until < $1
       ORDER BY locked_until LIMIT $2 FOR UPDATE SKIP LOCKED
     )
     UPDATE deliveries d SET state = 'pending', locked_until = NULL, locked_by = NULL, next_attempt_at = $1,
       updated_at = $1, last_error = 'lease expired: the worker sending it stopped or hung; taken over'
     FROM x WHERE d.id = x.id
     RETURNING d.endpoint_id`,
    [now, limit],
  );
  await markDue(q, [...new Set(rows.map((r) => r.endpoint_id))], now);
  return rows.length;
}

/** Gives back leases this worker holds but will not use (shutdown). */
export async function releaseLeases(q: Queryable, ids: number[], workerId: string, now: Date): Promise<void> {
  if (ids.length === 0) return;
  const rows = await q.query<{ endpoint_id: string }>(
    `UPDATE deliveries SET state = 'pending', locked_until = NULL, locked_by = NULL, next_attempt_at = $3, updated_at = $3
     WHERE id = ANY($1::bigint[]) AND state = 'delivering' AND locked_by = $2
     RETURNING endpoint_id`,
    [ids, workerId, now],
  );
  await markDue(q, [...new Set(rows.map((r) => r.endpoint_id))], now);
}

/**
 * Locks the endpoint_state rows of these endpoints, always in endpoint id order. Every
 * writer that may wait for these row locks (publish, ack, resend, lease release) takes them
 * this way first, so two of them can never wait for each other (no deadlock). The claim
 * never waits: it skips locked rows.
 */
export async function lockEndpointStates(q: Queryable, endpointIds: string[]): Promise<void> {
  if (endpointIds.length === 0) return;
  await q.query(
    'SELECT 1 FROM endpoint_state WHERE endpoint_id = ANY($1::text[]) ORDER BY endpoint_id FOR UPDATE',
    [endpointIds],
  );
}

/**
 * Makes endpoints' due work visible to the claim by `at`, in the transaction that created
 * that work. The row is locked and written even when it already looks due: a claim that
 * holds the row right now may be about to clear next_due_at without seeing our uncommitted
 * deliveries, and waiting for its lock is what puts our write after its clearing one.
 */
export async function markDue(q: Queryable, endpointIds: string[], at: Date): Promise<void> {
  if (endpointIds.length === 0) return;
  const ids = [...new Set(endpointIds)].sort();
  await lockEndpointStates(q, ids);
  await q.query(
    `UPDATE endpoint_state SET next_due_at = least(coalesce(next_due_at, $2), $2)
     WHERE endpoint_id = ANY($1::text[])`,
    [ids, at],
  );
}

/**
 * The safety net under markDue (polling guarantees progress): an enabled endpoint with
 * schedulable pending deliveries (ordered ones behind their head have no time yet) but no
 * turn scheduled gets one. Returns how many were repaired.
 */
export async function repairMissedTurns(q: Queryable, now: Date): Promise<number> {
  const rows = await q.query(
    `UPDATE endpoint_state s SET next_due_at = $1
     FROM endpoints e
     WHERE e.id = s.endpoint_id AND NOT e.disabled AND s.next_due_at IS NULL
       AND EXISTS (SELECT 1 FROM deliveries d
                   WHERE d.endpoint_id = s.endpoint_id AND d.state = 'pending' AND d.next_attempt_at IS NOT NULL)
     RETURNING s.endpoint_id`,
    [now],
  );
  return rows.length;
}

export interface DeliveryView {
  id: number;
  tenant_id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  ordering_key: string | null;
  sequence: number | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

const DELIVERY_VIEW = `SELECT d.id, d.tenant_id, ev.id AS event_id, ev.type AS event_type, d.endpoint_id, d.state, d.attempts,
  d.next_attempt_at, d.last_status, d.last_error, d.ordering_key, d.sequence, d.created_at, d.updated_at, d.completed_at
  FROM deliveries d JOIN events ev ON ev.seq = d.event_seq`;

export async function deliveriesOfEvent(q: Queryable, eventSeq: number): Promise<DeliveryView[]> {
  return q.query<DeliveryView>(`${DELIVERY_VIEW} WHERE d.event_seq = $1 ORDER BY d.id`, [eventSeq]);
}

export async function getDelivery(
  q: Queryable,
  tenantId: string,
  id: number,
): Promise<DeliveryView | undefined> {
  const rows = await q.query<DeliveryView>(`${DELIVERY_VIEW} WHERE d.tenant_id = $1 AND d.id = $2`, [
    tenantId,
    id,
  ]);
  return rows[0];
}

export interface AttemptView {
  attempt: number;
  started_at: Date;
  duration_ms: number;
  url: string;
  status: number | null;
  request_headers: Record<string, string> | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  error: string | null;
}

export async function attemptsOf(q: Queryable, deliveryId: number): Promise<AttemptView[]> {
  return q.query<AttemptView>(
    `SELECT attempt, started_at, duration_ms, url, status, request_headers, response_headers, response_body, error
     FROM attempts WHERE delivery_id = $1 ORDER BY id`,
    [deliveryId],
  );
}

/**
 * Queues one more attempt now. A delivery being sent at this moment is left alone; any
 * other state becomes pending and due now, and keeps its attempt history. An ordered
 * delivery goes when it is the head of its key (at once for a given-up head, which is what
 * unblocks the key); behind an unfinished earlier one it waits its turn.
 */
export async function resendDelivery(
  q: Queryable,
  tenantId: string,
  id: number,
  now: Date,
): Promise<'queued' | 'in_flight' | 'not_found'> {
  const rows = await q.query<RequeuedRow>(
    `UPDATE deliveries SET state = 'pending', next_attempt_at = CASE WHEN sequence IS NULL THEN $3::timestamptz END,
       updated_at = $3, completed_at = NULL
     WHERE tenant_id = $1 AND id = $2 AND state <> 'delivering'
     RETURNING endpoint_id, ordering_key, sequence`,
    [tenantId, id, now],
  );
  if (rows.length > 0) {
    await settleRequeued(q, rows, now);
    return 'queued';
  }
  const exists = await q.query('SELECT 1 FROM deliveries WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return exists.length > 0 ? 'in_flight' : 'not_found';
}

export interface RequeuedRow {
  endpoint_id: string;
  ordering_key: string | null;
  sequence: number | null;
}

/**
 * After deliveries were put back (or taken out of) their keys' queues: whatever is now the
 * head of a touched key becomes due, and the endpoints are shown to the claim.
 */
export async function settleRequeued(q: Queryable, rows: RequeuedRow[], now: Date): Promise<void> {
  const keys: KeyRef[] = rows
    .filter((r) => r.sequence !== null)
    .map((r) => ({ endpointId: r.endpoint_id, key: r.ordering_key ?? '' }));
  if (keys.length > 0) {
    await lockKeys(q, keys);
    await promoteHeads(q, keys, now);
  }
  await markDue(q, [...new Set(rows.map((r) => r.endpoint_id))].sort(), now);
}
