// Endpoint statistics: hourly rollups of the attempts, built by a maintenance job (never by
// the ack), and the reads the stats route answers from. See migration 015.
import type { Queryable } from './db.js';

/**
 * Upper bounds (ms, exclusive) of the latency histogram's buckets, roughly log-spaced
 * (1-2-3-5-7 per decade): bucket 0 is [0, 1), bucket i is [BOUNDS[i-1], BOUNDS[i]), the last
 * is 30 s and more. Fixed forever: stored histograms are summed across hours.
 */
export const LATENCY_BOUNDS_MS = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 7000,
  10_000, 15_000, 20_000, 30_000,
] as const;
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** The bucket a duration falls in (the same rule as width_bucket in the rollup). */
export function latencyBucket(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms >= LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/**
 * An attempt succeeded when the receiver answered 2xx (a broker destination records no
 * status and no error when it accepted the message): the same rule as decideOutcome.
 */
const SUCCEEDED = '(a.status BETWEEN 200 AND 299 OR (a.status IS NULL AND a.error IS NULL))';

export interface RollupOptions {
  /** Attempts recorded before this time are rolled up (now minus a lag, see Maintenance). */
  cutoff: Date;
  /** Endpoint state is sampled at this time. */
  now: Date;
  /** Consecutive failures at which an endpoint's circuit is open (see ack.ts). */
  circuitOpenAfter: number;
  /** A gap between two samples longer than this counts as this long (the job was not running). */
  maxSampleGapMs: number;
  /** At most this much of the attempts' history per run, so a backlog is caught up in steps. */
  maxWindowMs: number;
}

export interface RollupResult {
  /** False: another worker was running it. */
  ran: boolean;
  attempts: number;
  through: Date | null;
}

/**
 * One run, in the caller's transaction (hours are UTC hours, whatever the session's time zone):
 *
 * 1. The watermark row is locked (SKIP LOCKED: a second worker finds it taken and does
 *    nothing), so each attempt is counted once.
 * 2. Attempts with created_at in [watermark, cutoff) are read through attempts_created, joined
 *    to their delivery (primary key) for the endpoint and, for the last attempt of a finished
 *    delivery, its final state; added to each (endpoint, hour) row. The first run starts at
 *    the oldest attempt kept.
 * 3. Disabled endpoints (endpoints_disabled) and open circuits (endpoint_state_failing: only
 *    failing endpoints) get the time since the last sample, split across the hours it spans.
 *
 * An attempt whose ack commits more than the lag after its created_at (the ack's own clock)
 * is missed; the lag (a minute) is far longer than an ack statement takes.
 */
export async function rollUpEndpointStats(q: Queryable, o: RollupOptions): Promise<RollupResult> {
  const wm = await q.query<{ attempts_through: Date | null; sampled_at: Date | null }>(
    'SELECT attempts_through, sampled_at FROM endpoint_stats_watermark FOR UPDATE SKIP LOCKED',
  );
  const mark = wm[0];
  if (!mark) return { ran: false, attempts: 0, through: null };
  let from = mark.attempts_through;
  if (!from) {
    const first = await q.query<{ at: Date | null }>('SELECT min(created_at) AS at FROM attempts');
    from = first[0]?.at ?? o.cutoff;
  }
  const until = new Date(Math.min(o.cutoff.getTime(), from.getTime() + o.maxWindowMs));
  let attempts = 0;
  if (until > from) {
    const rows = await q.query<{ n: number }>(
      `WITH a AS (
         SELECT d.endpoint_id, date_trunc('hour', a.created_at, 'UTC') AS hour, a.attempt, a.duration_ms,
                ${SUCCEEDED} AS ok,
                (a.attempt = d.attempts AND d.state IN ('succeeded', 'failed')) AS final, d.state
         FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE a.created_at >= $1 AND a.created_at < $2
       ), b AS (
         SELECT endpoint_id, hour, width_bucket(duration_ms, $3::int[]) AS bucket, count(*)::int AS n
         FROM a GROUP BY endpoint_id, hour, bucket
       ), h AS (
         SELECT k.endpoint_id, k.hour, array_agg(coalesce(b.n, 0) ORDER BY i) AS hist
         FROM (SELECT DISTINCT endpoint_id, hour FROM b) k
         CROSS JOIN generate_series(0, $4::int - 1) i
         LEFT JOIN b ON b.endpoint_id = k.endpoint_id AND b.hour = k.hour AND b.bucket = i
         GROUP BY k.endpoint_id, k.hour
       ), s AS (
         SELECT endpoint_id, hour, count(*)::int AS attempts, count(*) FILTER (WHERE ok)::int AS ok,
                count(*) FILTER (WHERE attempt = 1)::int AS firsts,
                count(*) FILTER (WHERE attempt = 1 AND ok)::int AS firsts_ok,
                count(*) FILTER (WHERE final AND state = 'succeeded' AND ok)::int AS delivered,
                count(*) FILTER (WHERE final AND state = 'failed' AND NOT ok)::int AS gave_up,
                max(duration_ms) AS max_ms
         FROM a GROUP BY endpoint_id, hour
       ), up AS (
         INSERT INTO endpoint_stats_hourly AS r (endpoint_id, hour, attempts, attempts_succeeded, first_attempts,
           first_attempts_succeeded, delivered, gave_up, latency_hist, latency_max_ms)
         SELECT s.endpoint_id, s.hour, s.attempts, s.ok, s.firsts, s.firsts_ok, s.delivered, s.gave_up, h.hist, s.max_ms
         FROM s JOIN h USING (endpoint_id, hour)
         WHERE EXISTS (SELECT 1 FROM endpoints e WHERE e.id = s.endpoint_id)
         ON CONFLICT (endpoint_id, hour) DO UPDATE SET
           attempts = r.attempts + EXCLUDED.attempts,
           attempts_succeeded = r.attempts_succeeded + EXCLUDED.attempts_succeeded,
           first_attempts = r.first_attempts + EXCLUDED.first_attempts,
           first_attempts_succeeded = r.first_attempts_succeeded + EXCLUDED.first_attempts_succeeded,
           delivered = r.delivered + EXCLUDED.delivered,
           gave_up = r.gave_up + EXCLUDED.gave_up,
           latency_hist = ARRAY(SELECT x + y FROM unnest(r.latency_hist, EXCLUDED.latency_hist) WITH ORDINALITY AS t(x, y, i)
                              ORDER BY i),
           latency_max_ms = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms)
       )
       SELECT coalesce(sum(attempts), 0)::int AS n FROM s`,
      [from, until, [...LATENCY_BOUNDS_MS], LATENCY_BUCKETS],
    );
    attempts = rows[0]?.n ?? 0;
  }
  const last = (mark.sampled_at ?? o.now).getTime();
  const sampledFrom = new Date(Math.max(last, o.now.getTime() - o.maxSampleGapMs));
  if (o.now > sampledFrom) {
    // The hours [from, to) overlaps, and how many ms of it; each down endpoint gets them.
    await q.query(
      `WITH down AS (
         SELECT e.id AS endpoint_id, true AS disabled, false AS open FROM endpoints e WHERE e.disabled
         UNION ALL
         SELECT s.endpoint_id, false, true FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
         WHERE s.failing_since IS NOT NULL AND s.consecutive_failures >= $3 AND NOT e.disabled
       ), span AS (
         SELECT hr AS hour,
                (extract(epoch FROM least($2::timestamptz, hr + interval '1 hour') - greatest($1::timestamptz, hr))
                  * 1000)::bigint AS ms
         FROM generate_series(date_trunc('hour', $1::timestamptz, 'UTC'), $2::timestamptz, interval '1 hour') hr
       )
       INSERT INTO endpoint_stats_hourly AS r (endpoint_id, hour, latency_hist, disabled_ms, circuit_open_ms)
       SELECT down.endpoint_id, span.hour, array_fill(0, ARRAY[$4::int]),
              CASE WHEN down.disabled THEN span.ms ELSE 0 END, CASE WHEN down.open THEN span.ms ELSE 0 END
       FROM down CROSS JOIN span WHERE span.ms > 0
       ON CONFLICT (endpoint_id, hour) DO UPDATE SET
         disabled_ms = r.disabled_ms + EXCLUDED.disabled_ms,
         circuit_open_ms = r.circuit_open_ms + EXCLUDED.circuit_open_ms`,
      [sampledFrom, o.now, o.circuitOpenAfter, LATENCY_BUCKETS],
    );
  }
  const through = until > from ? until : from;
  await q.query('UPDATE endpoint_stats_watermark SET attempts_through = $1, sampled_at = $2', [
    through,
    o.now,
  ]);
  return { ran: true, attempts, through };
}

export interface HourlyStats {
  hour: Date;
  attempts: number;
  attempts_succeeded: number;
  first_attempts: number;
  first_attempts_succeeded: number;
  delivered: number;
  gave_up: number;
  latency_hist: number[];
  latency_max_ms: number;
  disabled_ms: number;
  circuit_open_ms: number;
}

/** One endpoint's hourly rows in [since, until), oldest first (the primary key's range). */
export async function hourlyStats(
  q: Queryable,
  endpointId: string,
  since: Date,
  until: Date,
): Promise<HourlyStats[]> {
  return q.query<HourlyStats>(
    `SELECT hour, attempts, attempts_succeeded, first_attempts, first_attempts_succeeded, delivered, gave_up,
            latency_hist, latency_max_ms, disabled_ms::float8 AS disabled_ms, circuit_open_ms::float8 AS circuit_open_ms
     FROM endpoint_stats_hourly
     WHERE endpoint_id = $1 AND hour >= date_trunc('hour', $2::timestamptz, 'UTC') AND hour < $3
     ORDER BY hour`,
    [endpointId, since, until],
  );
}

/** How far the rollup has got: attempts recorded before this time are counted. */
export async function statsThrough(q: Queryable): Promise<Date | null> {
  const rows = await q.query<{ attempts_through: Date | null }>(
    'SELECT attempts_through FROM endpoint_stats_watermark',
  );
  return rows[0]?.attempts_through ?? null;
}
