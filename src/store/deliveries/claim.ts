// The claim: one statement that takes due deliveries fairly across endpoints and leases them.
import { CIRCUIT_OPEN_AFTER } from '../claimPlan.js';
import type { NamedSql, Queryable } from '../db.js';
import type { ClaimedDelivery } from './types.js';

export interface ClaimOptions {
  now: Date;
  leaseUntil: Date;
  workerId: string;
  /** Most deliveries in this claim. */
  limit: number;
  /** Most deliveries of one endpoint in this claim. */
  perEndpoint: number;
  /** Most turn marks looked at in this claim (about the number of endpoints served). */
  endpoints: number;
  /** Consecutive failures that open an endpoint's circuit (default CIRCUIT_OPEN_AFTER). */
  circuitOpenAfter?: number;
  /**
   * Requests of this worker that have finished but whose ack has not been sent yet, per
   * endpoint: they are still counted in endpoint_state.in_flight, but are no longer in
   * flight, so they do not use up the endpoint's max_in_flight.
   */
  finished?: Map<string, number>;
  /**
   * This worker's results not recorded yet, per endpoint (the ack's fold of them): their
   * failures since the last success count toward the circuit as the ack will count them, so
   * that requests finished but not yet acked cannot keep a failing endpoint's circuit closed.
   */
  unrecorded?: Map<string, UnrecordedHealth>;
  /** Claim for this endpoint only, whatever the turn marks say (a dedicated sender). */
  onlyEndpoint?: string;
  /**
   * The request timeout leaseUntil was computed with: an endpoint with a longer timeout_ms of
   * its own gets a lease longer by the difference (none when absent).
   */
  requestTimeoutMs?: number;
}

/** An endpoint's results not recorded yet, in time order: failures since their last success. */
export interface UnrecordedHealth {
  failuresSinceSuccess: number;
  sawSuccess: boolean;
}

/**
 * Claims due deliveries in one statement (autocommit, named so PostgreSQL plans it once):
 *
 * 1. marks: the oldest due turn marks (endpoint_turns_due), FOR UPDATE SKIP LOCKED, so two
 *    claims never serve one mark; their endpoints in mark order are this claim's round.
 * 2. st: those endpoints' endpoint_state rows, FOR UPDATE in endpoint order (the order acks
 *    lock them in, so the two cannot deadlock): one claim per endpoint at a time, so the
 *    in-flight cap, the circuit's single probe and the rate limit below are exact across
 *    workers. A claim waits for an ack of the same endpoint (a short statement) rather than
 *    skip it: skipping left due work with a mark that nothing would look at again. Rows the
 *    statement saw before the wait are re-checked when locked (due_at of a row another claim
 *    leased meanwhile no longer matches), so the wait changes nothing it relies on.
 * 3. plan: each endpoint's capacity, the same arithmetic as claimPlan.ts (disabled: none;
 *    circuit open: one probe, none before probe_after; max_in_flight less requests in flight;
 *    the GCRA rate limit), with the rate clamped so that a bad row cannot overflow a date.
 * 4. cand/picked/locked: up to capacity (at most the claim's limit) + 1 of each endpoint's due
 *    queue rows in time order (delivery_queue_due), read without locking; round-robin across
 *    endpoints (every endpoint's first, then every second, …) up to the claim's limit; only
 *    those are locked (FOR UPDATE SKIP LOCKED, by primary key, re-checked in take). A row whose lease ran out is due like any other:
 *    that is the takeover of a dead worker's delivery. The extra row tells whether work is
 *    left behind.
 * 5. leased: the taken rows get the lease (due_at = its end, the owner) and, the first time,
 *    the endpoint's next gap-free sequence number. An endpoint with a timeout_ms longer than
 *    the deployment's gets a lease longer by the difference, so it is not taken over while
 *    its request may still be running.
 * 6. state: in-flight counter, sequence counter, rate-limit state, the probe's hold.
 * 7. spent/next: every due mark of the served endpoints goes; a new one is written where
 *    work is left (at once, at the back of the queue, or when the rate limit or the probe
 *    allows). An endpoint at its in-flight cap gets no mark but `wants_room`: the ack that
 *    frees room marks it.
 * Ordered deliveries need no check: only the head of a key is ever due (see ordering.ts).
 */
const CLAIM: NamedSql = {
  name: 'tidings_claim_v3',
  plan: 'generic',
  text: `
WITH marks AS (
  SELECT t.ctid AS tid, t.endpoint_id FROM endpoint_turns t
  WHERE $10::text IS NULL AND t.due_at <= $1
  ORDER BY t.due_at
  LIMIT $6
  FOR UPDATE SKIP LOCKED
), wanted AS (
  SELECT m.endpoint_id, min(m.n) AS ord
  FROM (SELECT endpoint_id, row_number() OVER () AS n FROM marks) m
  GROUP BY m.endpoint_id
  UNION ALL
  SELECT $10::text, 0 WHERE $10::text IS NOT NULL
), st AS (
  SELECT s.endpoint_id, w.ord,
         -- Every lease past its end: what the counter holds belongs to a dead worker.
         CASE WHEN s.lease_horizon < $1 THEN 0 ELSE s.in_flight END AS in_flight,
         coalesce(s.lease_horizon < $1, false) AS stale, s.consecutive_failures, s.probe_after, s.rate_tat,
         s.endpoint_sequence AS last_sequence, e.disabled OR s.faulted_at IS NOT NULL AS off, e.max_in_flight, e.rate_limit_per_s,
         $2::timestamptz + greatest(0, coalesce(e.timeout_ms, 0) - $11::int) * interval '1 millisecond' AS lease_until
  FROM wanted w
  JOIN endpoint_state s ON s.endpoint_id = w.endpoint_id
  JOIN endpoints e ON e.id = s.endpoint_id
  ORDER BY s.endpoint_id
  FOR UPDATE OF s
), calc AS (
  SELECT st.*,
         greatest(0, st.in_flight - coalesce(f.n, 0)) AS busy,
         -- This worker's unrecorded results count as the ack will count them.
         CASE WHEN u.saw_success THEN u.failures
              ELSE st.consecutive_failures + coalesce(u.failures, 0) END >= $7 AS open,
         extract(epoch FROM $1::timestamptz) * 1000 AS now_ms,
         -- greatest() and least() skip NULLs: no rate limit must stay NULL.
         CASE WHEN st.rate_limit_per_s IS NOT NULL THEN least(greatest(st.rate_limit_per_s, 0.001), 1000000) END AS rate
  FROM st LEFT JOIN unnest($8::text[], $9::int[]) AS f(endpoint_id, n) ON f.endpoint_id = st.endpoint_id
  LEFT JOIN unnest($12::text[], $13::int[], $14::boolean[]) AS u(endpoint_id, failures, saw_success)
    ON u.endpoint_id = st.endpoint_id
), rated AS (
  SELECT c.*,
         1000 / c.rate AS t_ms,
         (greatest(1, floor(c.rate)) - 1) * 1000 / c.rate AS tau_ms,
         greatest(coalesce(extract(epoch FROM c.rate_tat) * 1000, c.now_ms), c.now_ms) AS tat_ms,
         CASE WHEN c.off THEN 0
              WHEN c.open THEN CASE WHEN c.busy <= 0 AND (c.probe_after IS NULL OR c.probe_after <= $1) THEN 1 ELSE 0 END
              ELSE greatest(0, least($5::int, c.max_in_flight - c.busy)) END AS room
  FROM calc c
), plan AS (
  SELECT r.*,
         CASE WHEN r.rate IS NULL THEN r.room
              WHEN r.tat_ms - r.now_ms > r.tau_ms THEN 0
              ELSE least(r.room, floor((r.now_ms + r.tau_ms - r.tat_ms) / r.t_ms)::int + 1) END AS cap
  FROM rated r
), cand AS (
  -- Read, not locked: only the rows taken below are locked (a row lock is a write).
  SELECT p.endpoint_id, p.ord, x.delivery_id, x.rn
  FROM plan p CROSS JOIN LATERAL (
    SELECT q.delivery_id, row_number() OVER (ORDER BY q.due_at, q.delivery_id) AS rn
    FROM delivery_queue q
    WHERE q.endpoint_id = p.endpoint_id AND q.due_at <= $1 AND p.cap > 0
    ORDER BY q.due_at, q.delivery_id
    -- No endpoint gives more than the claim's limit; one more row tells work is left.
    LIMIT least(p.cap, $4) + 1
  ) x
), found AS (
  SELECT endpoint_id, count(*)::int AS n FROM cand GROUP BY endpoint_id
), picked AS (
  SELECT c.* FROM cand c JOIN plan p ON p.endpoint_id = c.endpoint_id
  WHERE c.rn <= p.cap
  ORDER BY c.rn, c.ord
  LIMIT $4
), locked AS (
  -- Locked by primary key; a locked row is its latest version, and take re-checks it there:
  -- one that changed since the snapshot (another claim's lease, a resend, a late ack of a
  -- lease that ran out) is skipped, not taken twice. A row deleted meanwhile is not locked.
  -- The due time is not in this WHERE, so the partial due index cannot serve the lock: a
  -- plan made on a nearly empty queue walked it for every row (see docs/scaling.md).
  SELECT q.delivery_id, q.lease_owner, q.endpoint_sequence, q.due_at FROM delivery_queue q
  WHERE q.delivery_id IN (SELECT delivery_id FROM picked)
  FOR UPDATE OF q SKIP LOCKED
), take AS (
  SELECT p.endpoint_id, p.ord, p.delivery_id, p.rn, l.lease_owner, l.endpoint_sequence
  FROM picked p JOIN locked l ON l.delivery_id = p.delivery_id
  WHERE l.due_at <= $1
), numbered AS (
  SELECT t.delivery_id, t.endpoint_id, t.lease_owner, t.endpoint_sequence IS NULL AS first, p.lease_until,
         coalesce(t.endpoint_sequence,
                  p.last_sequence + count(*) FILTER (WHERE t.endpoint_sequence IS NULL)
                                      OVER (PARTITION BY t.endpoint_id ORDER BY t.rn)) AS endpoint_sequence
  FROM take t JOIN plan p ON p.endpoint_id = t.endpoint_id
), counts AS (
  SELECT n.endpoint_id, count(*)::int AS taken,
         -- A taken-over lease is counted already, unless the counter was found stale.
         count(*) FILTER (WHERE n.lease_owner IS NULL OR p.stale)::int AS fresh,
         count(*) FILTER (WHERE first)::int AS numbered
  FROM numbered n JOIN plan p ON p.endpoint_id = n.endpoint_id GROUP BY n.endpoint_id
), ends AS (
  SELECT p.endpoint_id, p.off, p.open, p.room, p.cap, p.busy, p.probe_after, p.tau_ms, p.rate, p.in_flight, p.lease_until,
         coalesce(c.taken, 0) AS taken, coalesce(c.fresh, 0) AS fresh, coalesce(c.numbered, 0) AS numbered,
         coalesce(f.n, 0) > coalesce(c.taken, 0) AS more,
         p.tat_ms + coalesce(c.taken, 0) * p.t_ms AS new_tat_ms
  FROM plan p LEFT JOIN counts c ON c.endpoint_id = p.endpoint_id LEFT JOIN found f ON f.endpoint_id = p.endpoint_id
), leased AS (
  UPDATE delivery_queue q SET due_at = n.lease_until, lease_owner = $3, endpoint_sequence = n.endpoint_sequence
  FROM numbered n WHERE q.delivery_id = n.delivery_id
  RETURNING q.delivery_id, q.endpoint_id, q.ordering_key, q.sequence, q.endpoint_sequence
), state AS (
  UPDATE endpoint_state s SET
    in_flight = x.in_flight + x.fresh,
    lease_horizon = CASE WHEN x.taken > 0 THEN greatest(coalesce(s.lease_horizon, x.lease_until), x.lease_until) ELSE s.lease_horizon END,
    endpoint_sequence = s.endpoint_sequence + x.numbered,
    rate_tat = CASE WHEN x.rate IS NOT NULL AND x.taken > 0 THEN to_timestamp(x.new_tat_ms / 1000) ELSE s.rate_tat END,
    probe_after = CASE WHEN x.open AND x.taken > 0 THEN $2 ELSE s.probe_after END,
    wants_room = NOT x.off AND x.room = 0,
    last_claimed_at = $1
  FROM ends x WHERE s.endpoint_id = x.endpoint_id
), spent AS (
  -- Each endpoint's due marks through endpoint_turns_endpoint, one probe per endpoint: a
  -- filter over the whole table (an OR of two IN lists, or a semi-join) scanned every mark,
  -- 38 ms of a 53 ms claim with 180,000 marks (docs/scaling.md).
  DELETE FROM endpoint_turns t
  WHERE t.ctid IN (
    SELECT m.tid
    FROM (SELECT endpoint_id FROM plan
          UNION ALL
          -- Marks of endpoints that no longer exist would block the front of the queue.
          SELECT w.endpoint_id FROM wanted w
          WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = w.endpoint_id)) x
    CROSS JOIN LATERAL (
      SELECT t2.ctid AS tid FROM endpoint_turns t2
      WHERE t2.endpoint_id = x.endpoint_id AND t2.due_at <= $1
      FOR UPDATE SKIP LOCKED
    ) m)
), next AS (
  INSERT INTO endpoint_turns (endpoint_id, due_at)
  SELECT x.endpoint_id, x.mark_at FROM (
    SELECT e.endpoint_id,
      CASE
        WHEN e.off THEN NULL
        -- The probe's ack decides what happens next.
        WHEN e.open AND e.taken > 0 THEN NULL
        -- Circuit open, nothing in flight, probe not due yet: look again when it is.
        WHEN e.open AND e.room = 0 AND e.busy <= 0 THEN e.probe_after
        -- At the in-flight cap: wants_room, and the ack that frees room marks it.
        WHEN e.room = 0 THEN NULL
        -- The rate limit allows nothing now: when it next allows one.
        WHEN e.cap = 0 THEN greatest($1, to_timestamp((e.new_tat_ms - e.tau_ms) / 1000))
        WHEN e.more AND e.rate IS NOT NULL THEN greatest($1, to_timestamp((e.new_tat_ms - e.tau_ms) / 1000))
        -- Work left behind: back of the queue.
        WHEN e.more THEN $1
      END AS mark_at
    FROM ends e
  ) x
  WHERE x.mark_at IS NOT NULL
  RETURNING due_at
)
SELECT l.delivery_id AS id, d.attempts, d.tenant_id, l.endpoint_id, e.url, e.profile, e.secret, e.headers,
       e.previous_secrets, e.updated_at AS endpoint_updated_at, e.timeout_ms, e.retry_schedule, ev.source = 'test' AS test, ev.id AS event_id, ev.type AS event_type, ev.created_at AS event_created_at,
       ev.payload::text AS payload, ev.trace_context, l.ordering_key, l.sequence, l.endpoint_sequence,
       -- Work this claim left due now: a mark at once, or marks it did not look at (it took
       -- as many as it may): the worker claims again without waiting.
       ((SELECT count(*) FROM next WHERE due_at <= $1)
        + CASE WHEN (SELECT count(*) FROM marks) >= $6 THEN 1 ELSE 0 END)::int AS left_due
FROM leased l
JOIN deliveries d ON d.id = l.delivery_id
JOIN events ev ON ev.seq = d.event_seq
JOIN endpoints e ON e.id = l.endpoint_id
ORDER BY l.delivery_id`,
};

/** What a claim took, and whether it left due work behind (its limit, an endpoint's share). */
export interface Claim extends Array<ClaimedDelivery> {
  leftDue?: boolean;
}

/**
 * Claims due deliveries fairly across endpoints (see CLAIM), in one statement. `leftDue` on
 * the answer says that work is due already beyond what was taken (another claim now would
 * find some): set when at least one delivery was taken.
 */
export async function claimDeliveries(q: Queryable, o: ClaimOptions): Promise<Claim> {
  const finished = [...(o.finished ?? new Map<string, number>()).entries()].filter(([, n]) => n > 0);
  // Only failures change the circuit before their ack: a success alone closes it at its ack.
  const failing = [...(o.unrecorded ?? new Map<string, UnrecordedHealth>()).entries()].filter(
    ([, h]) => h.failuresSinceSuccess > 0,
  );
  const rows = await q.query<ClaimedDelivery & { left_due?: number }>(CLAIM, [
    o.now,
    o.leaseUntil,
    o.workerId,
    o.limit,
    o.perEndpoint,
    o.endpoints,
    o.circuitOpenAfter ?? CIRCUIT_OPEN_AFTER,
    finished.map(([id]) => id),
    finished.map(([, n]) => n),
    o.onlyEndpoint ?? null,
    o.requestTimeoutMs ?? 2_147_483_647,
    failing.map(([id]) => id),
    failing.map(([, h]) => h.failuresSinceSuccess),
    failing.map(([, h]) => h.sawSuccess),
  ]);
  const claim: Claim = rows;
  claim.leftDue = (rows[0]?.left_due ?? 0) > 0;
  for (const r of rows) delete r.left_due;
  return claim;
}
