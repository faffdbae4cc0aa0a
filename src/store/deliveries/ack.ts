// The ack: one statement records a batch of attempts and moves everything they decide.
import type { NamedSql, Queryable } from '../db.js';
import { GONE_REASON } from '../health.js';
import { type KeyRef, promoteHeads } from '../ordering.js';
import { type AttemptResult, type CircuitSettings, DEFAULT_CIRCUIT } from './types.js';

export interface AckOutcome {
  /** Endpoints whose next ordered delivery became due: worth a claim now. */
  promoted: string[];
  /** Turn marks written that are due already (room freed, circuit closed, promoted work). */
  dueMarks: number;
}

/**
 * One statement for a batch of results (autocommit; named):
 *
 * - att: every attempt is recorded, even one whose lease was lost (it happened), with the
 *   sha256 of the body it sent; kept: the compressed body itself, beside it in attempt_bodies
 *   (one more insert in this statement: no round trip, no lock; see migration 013).
 * - own: the queue rows this worker still holds (lease_owner = us, FOR UPDATE). A row that
 *   another worker took over after our lease ran out keeps that worker's state.
 * - done/back/rec: a success leaves the queue; a retry is due at its time; a give-up stays
 *   queued as failed (recover and skip find it there; an ordered one keeps its key blocked).
 *   The record row in deliveries is updated in place (no index covers what changes: HOT).
 * - gaveup: a give-up also leaves a row in delivery_failures, the operator's notice owed
 *   (no row at all for a success or a retry).
 * - keys/heads/promoted: a succeeded ordered head counts down its key (row lock in key order)
 *   and makes the next waiting delivery of the key due. The next one may have been written by
 *   a fan-out that committed after this statement's snapshot: the key's count says one is
 *   owed but none is seen, and the caller looks again in a second statement (recheck).
 * - slock/health: endpoint_state rows in id order (FOR UPDATE: two acks sharing endpoints
 *   cannot deadlock; claims never wait), every value computed from the locked row so that
 *   concurrent acks add up: in-flight counter, failure streak, circuit and its next probe
 *   (a quarter of the failing time, between probeMinMs and probeMaxMs), 410 Gone.
 * - marks: due work the batch created: freed room for an endpoint that wanted it, a closed
 *   circuit's backlog, promoted heads (now); retries (at their time); an open circuit's
 *   probe (when it is due).
 */
const ACK: NamedSql = {
  name: 'tidings_ack_v2',
  text: `
WITH r AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::int[], $7::text[],
                       $8::timestamptz[], $9::int[], $10::text[], $11::json[], $12::json[], $13::text[], $14::bigint[],
                       $28::text[], $29::text[])
    AS r(id, endpoint_id, attempt, next, retry_at, status, error, started_at, duration_ms, url, req_h, resp_h,
         resp_body, eseq, body_sha, body)
), att AS (
  INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, url, status, request_headers,
                        response_headers, response_body, error, created_at, endpoint_sequence, body_sha256)
  SELECT r.id, r.attempt, r.started_at, r.duration_ms, r.url, r.status, r.req_h, r.resp_h, r.resp_body, r.error,
         $16, r.eseq, r.body_sha
  FROM r WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.id)
  RETURNING id, delivery_id, attempt
), kept AS (
  -- The body travels as base64 text: one parameter type both engines bind the same way.
  INSERT INTO attempt_bodies (attempt_id, created_at, body)
  SELECT DISTINCT ON (a.id) a.id, $16, decode(r.body, 'base64')
  FROM att a JOIN r ON r.id = a.delivery_id AND r.attempt = a.attempt
  WHERE r.body IS NOT NULL
), own AS (
  SELECT q.delivery_id, q.endpoint_id, q.tenant_id, q.ordering_key, q.sequence, r.next, r.retry_at, r.attempt,
         r.status, r.error
  FROM delivery_queue q JOIN r ON r.id = q.delivery_id
  WHERE q.lease_owner = $15
  FOR UPDATE OF q
), done AS (
  DELETE FROM delivery_queue q USING own o WHERE q.delivery_id = o.delivery_id AND o.next = 'succeeded'
), back AS (
  UPDATE delivery_queue q SET lease_owner = NULL,
    due_at = CASE WHEN o.next = 'retry' THEN o.retry_at END,
    state = CASE WHEN o.next = 'failed' THEN 'failed' ELSE 'pending' END
  FROM own o WHERE q.delivery_id = o.delivery_id AND o.next <> 'succeeded'
), rec AS (
  UPDATE deliveries d SET
    state = CASE o.next WHEN 'retry' THEN 'pending' ELSE o.next END,
    attempts = greatest(d.attempts, o.attempt),
    last_status = o.status, last_error = o.error, updated_at = $16,
    completed_at = CASE WHEN o.next = 'retry' THEN NULL ELSE $16::timestamptz END
  FROM own o WHERE d.id = o.delivery_id
), gaveup AS (
  -- The operator is told of each give-up (tidings.delivery.failed, delivery/failureNotices.ts).
  INSERT INTO delivery_failures (delivery_id, tenant_id, endpoint_id, failed_at)
  SELECT o.delivery_id, o.tenant_id, o.endpoint_id, $16 FROM own o WHERE o.next = 'failed'
  ON CONFLICT (delivery_id) DO NOTHING
), fin AS (
  SELECT endpoint_id, ordering_key AS key, count(*)::int AS n
  FROM own WHERE next = 'succeeded' AND sequence IS NOT NULL
  GROUP BY endpoint_id, ordering_key
), klock AS (
  SELECT o.endpoint_id, o.key FROM ordering_keys o
  WHERE (o.endpoint_id, o.key) IN (SELECT endpoint_id, key FROM fin)
  ORDER BY o.endpoint_id, o.key
  FOR UPDATE OF o
), keys AS (
  UPDATE ordering_keys o SET unfinished = greatest(0, o.unfinished - f.n)
  FROM klock k JOIN fin f ON f.endpoint_id = k.endpoint_id AND f.key = k.key
  WHERE o.endpoint_id = k.endpoint_id AND o.key = k.key
  RETURNING o.endpoint_id, o.key, o.unfinished
), heads AS (
  -- One probe of delivery_queue_ordering per key: its first row that is not the head this
  -- batch just finished (still in the snapshot) is the next head.
  SELECT k.endpoint_id, k.key, h.delivery_id, h.waiting
  FROM keys k CROSS JOIN LATERAL (
    SELECT q.delivery_id, (q.state = 'pending' AND q.due_at IS NULL AND q.lease_owner IS NULL) AS waiting
    FROM delivery_queue q
    WHERE q.endpoint_id = k.endpoint_id AND q.ordering_key = k.key AND q.sequence IS NOT NULL
      AND q.delivery_id NOT IN (SELECT delivery_id FROM own WHERE next = 'succeeded')
    ORDER BY q.sequence
    LIMIT 1
  ) h
  WHERE k.unfinished > 0
), promoted AS (
  UPDATE delivery_queue q SET due_at = $16
  FROM heads h
  WHERE q.delivery_id = h.delivery_id AND h.waiting
    AND q.state = 'pending' AND q.due_at IS NULL AND q.lease_owner IS NULL
  RETURNING q.endpoint_id, q.delivery_id
), recheck AS (
  SELECT k.endpoint_id, k.key FROM keys k
  WHERE k.unfinished > 0
    AND NOT EXISTS (SELECT 1 FROM heads h WHERE h.endpoint_id = k.endpoint_id AND h.key = k.key AND NOT h.waiting)
    AND NOT EXISTS (SELECT 1 FROM promoted p JOIN heads h ON h.delivery_id = p.delivery_id
                    WHERE h.endpoint_id = k.endpoint_id AND h.key = k.key)
), u AS (
  SELECT * FROM unnest($17::text[], $18::int[], $19::boolean[], $20::timestamptz[], $21::timestamptz[],
                       $22::timestamptz[], $23::boolean[])
    AS u(endpoint_id, failures, saw_success, last_success, last_failure, first_failure, gone)
), owned AS (
  SELECT endpoint_id, count(*)::int AS n FROM own GROUP BY endpoint_id
), slock AS (
  SELECT s.endpoint_id, s.wants_room, s.consecutive_failures, s.failing_since, s.probe_after
  FROM endpoint_state s WHERE s.endpoint_id IN (SELECT endpoint_id FROM u)
  ORDER BY s.endpoint_id
  FOR UPDATE
), calc AS (
  SELECT s.endpoint_id, s.wants_room, s.consecutive_failures AS old_failures, s.probe_after AS old_probe_after,
         u.failures AS batch_failures, u.saw_success, u.last_success, u.last_failure, u.gone AND NOT e.disabled AS gone,
         coalesce(ow.n, 0) AS owned,
         CASE WHEN u.saw_success THEN u.failures ELSE s.consecutive_failures + u.failures END AS failures,
         CASE WHEN u.saw_success AND u.failures = 0 THEN NULL
              WHEN u.saw_success THEN u.first_failure
              ELSE coalesce(s.failing_since, u.first_failure) END AS failing_since
  FROM slock s
  JOIN u ON u.endpoint_id = s.endpoint_id
  JOIN endpoints e ON e.id = s.endpoint_id
  LEFT JOIN owned ow ON ow.endpoint_id = s.endpoint_id
), circuit AS (
  SELECT c.*, c.failures >= $26 AS open,
         $16::timestamptz + least($25::float8 * interval '1 millisecond',
                                  greatest($24::float8 * interval '1 millisecond', ($16::timestamptz - c.failing_since) / 4))
           AS probe_at
  FROM calc c
), health AS (
  UPDATE endpoint_state s SET
    in_flight = greatest(0, s.in_flight - c.owned),
    consecutive_failures = c.failures,
    last_success_at = coalesce(c.last_success, s.last_success_at),
    last_failure_at = coalesce(c.last_failure, s.last_failure_at),
    failing_since = c.failing_since,
    probe_after = CASE WHEN NOT c.open THEN NULL WHEN c.batch_failures > 0 THEN c.probe_at ELSE s.probe_after END,
    wants_room = s.wants_room AND c.owned = 0,
    auto_disabled_at = CASE WHEN c.gone THEN $16 ELSE s.auto_disabled_at END
  FROM circuit c WHERE s.endpoint_id = c.endpoint_id
), gone AS (
  UPDATE endpoints e SET disabled = true, disabled_at = $16, updated_at = $16, disabled_reason = $27
  FROM circuit c WHERE e.id = c.endpoint_id AND c.gone
), marks AS (
  INSERT INTO endpoint_turns (endpoint_id, due_at)
  SELECT m.endpoint_id, m.at FROM (
    SELECT c.endpoint_id, $16::timestamptz AS at FROM circuit c
    WHERE NOT c.gone AND ((c.wants_room AND c.owned > 0) OR (c.saw_success AND c.old_failures >= $26))
    UNION
    SELECT c.endpoint_id, c.probe_at FROM circuit c WHERE NOT c.gone AND c.open AND c.batch_failures > 0
    UNION
    SELECT o.endpoint_id, o.retry_at FROM own o WHERE o.next = 'retry'
    UNION
    SELECT p.endpoint_id, $16::timestamptz FROM promoted p
  ) m
  RETURNING due_at
)
SELECT (SELECT coalesce(array_agg(DISTINCT endpoint_id), '{}') FROM promoted) AS promoted,
       (SELECT coalesce(json_agg(json_build_object('endpointId', endpoint_id, 'key', key)), '[]') FROM recheck) AS recheck,
       (SELECT count(*)::int FROM marks WHERE due_at <= $16) AS due_marks`,
};

/** The health of each endpoint in a batch, folded in time order (see ACK's health step). */
interface EndpointFold {
  failuresSinceSuccess: number;
  sawSuccess: boolean;
  lastSuccess: Date | null;
  lastFailure: Date | null;
  firstFailure: Date | null;
  gone: boolean;
}

/** Also the claim's view of a worker's results not recorded yet (ClaimOptions.unrecorded). */
export function foldByEndpoint(results: Iterable<AttemptResult>): Map<string, EndpointFold> {
  const per = new Map<string, EndpointFold>();
  for (const r of [...results].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())) {
    let a = per.get(r.endpointId);
    if (!a) {
      a = {
        failuresSinceSuccess: 0,
        sawSuccess: false,
        lastSuccess: null,
        lastFailure: null,
        firstFailure: null,
        gone: false,
      };
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
    if (r.gone) a.gone = true;
  }
  return per;
}

/**
 * Records a batch of attempts and moves their deliveries on, in one statement (see ACK).
 * Usually autocommit; it also runs inside a caller's transaction. A key whose next head was
 * not visible to the statement is looked at again in a second, rare one.
 */
export async function recordAttempts(
  q: Queryable,
  results: AttemptResult[],
  workerId: string,
  now: Date,
  circuit: CircuitSettings = DEFAULT_CIRCUIT,
): Promise<AckOutcome> {
  if (results.length === 0) return { promoted: [], dueMarks: 0 };
  const per = foldByEndpoint(results);
  const ids = [...per.keys()];
  const folds = ids.map((id) => per.get(id)!);
  const rows = await q.query<{ promoted: string[]; recheck: KeyRef[]; due_marks: number }>(ACK, [
    results.map((r) => r.deliveryId),
    results.map((r) => r.endpointId),
    results.map((r) => r.attempt),
    results.map((r) => r.next),
    results.map((r) => r.retryAt),
    results.map((r) => r.status),
    results.map((r) => r.error),
    results.map((r) => r.startedAt),
    results.map((r) => r.durationMs),
    results.map((r) => r.url),
    results.map((r) => JSON.stringify(r.requestHeaders)),
    results.map((r) => (r.responseHeaders ? JSON.stringify(r.responseHeaders) : null)),
    results.map((r) => r.responseBody),
    results.map((r) => r.endpointSequence ?? null),
    workerId,
    now,
    ids,
    folds.map((a) => a.failuresSinceSuccess),
    folds.map((a) => a.sawSuccess),
    folds.map((a) => a.lastSuccess),
    folds.map((a) => a.lastFailure),
    folds.map((a) => a.firstFailure),
    folds.map((a) => a.gone),
    circuit.probeMinMs,
    circuit.probeMaxMs,
    circuit.openAfter,
    GONE_REASON,
    results.map((r) => r.bodySha256 ?? null),
    results.map((r) => (r.bodyPacked ? r.bodyPacked.toString('base64') : null)),
  ]);
  const row = rows[0]!;
  const promoted = new Set(row.promoted);
  let dueMarks = row.due_marks;
  if (row.recheck.length > 0) {
    // A next head committed after the statement's snapshot: look again with a fresh one. No
    // key lock is needed: the head just finished was ours, and a fan-out only adds behind it.
    for (const e of await promoteHeads(q, row.recheck, now)) {
      promoted.add(e);
      dueMarks += 1;
    }
  }
  return { promoted: [...promoted], dueMarks };
}
