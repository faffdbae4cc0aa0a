// The store-wide figures /metrics shows, computed at scrape time. Every query here is bounded
// whatever the size of the tables: an index-only count that stops at a cap (and the planner's
// estimate above it), or a fixed number of index probes. None scans the deliveries table.
// When deliveries get a separate work-queue table, these are the queries to re-point.
import type { NamedSql, Queryable } from './db.js';

/** Exact counts stop here; above it the figure is the planner's estimate (pg_class.reltuples). */
export const COUNT_CAP = 10_000;

/** Endpoints looked at for the oldest due delivery (the ones waiting longest for a turn). */
export const AGE_ENDPOINTS = 1_000;

/**
 * Counts the rows of a partial index up to `cap` (an index-only scan of the small index that
 * holds exactly those rows); at the cap, the index's row estimate from the last
 * VACUUM/ANALYZE takes over if it is larger.
 */
async function cappedCount(q: Queryable, countSql: NamedSql, index: string, cap: number): Promise<number> {
  const [row] = await q.query<{ n: number }>(countSql, [cap]);
  const n = Number(row?.n ?? 0);
  if (n < cap) return n;
  // to_regclass resolves the name through search_path, so a schema per deployment works.
  const [est] = await q.query<{ n: number | null }>(
    {
      name: 'metrics/estimate',
      text: 'SELECT reltuples::float8 AS n FROM pg_class WHERE oid = to_regclass($1)',
    },
    [index],
  );
  return Math.max(cap, Math.round(Number(est?.n ?? 0)));
}

/**
 * The partial index that holds exactly the deliveries of each counted state. The state is
 * written into the statement's text, not passed as a parameter: only then does the planner
 * match the partial index's predicate, on a prepared statement too.
 */
const STATE_COUNTS = {
  /** Waiting for an attempt: due now, a retry scheduled, or behind an ordering key. */
  pending: { name: 'metrics/pending', index: 'deliveries_due' },
  /** Being attempted now (leased by a worker). */
  delivering: { name: 'metrics/in_flight', index: 'deliveries_in_flight' },
} as const;

/** Deliveries in one not-finished state, through the partial index of that state. */
export function countDeliveries(
  q: Queryable,
  state: keyof typeof STATE_COUNTS,
  cap = COUNT_CAP,
): Promise<number> {
  const { name, index } = STATE_COUNTS[state];
  return cappedCount(
    q,
    {
      name,
      text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM deliveries WHERE state = '${state}' LIMIT $1) s`,
    },
    index,
    cap,
  );
}

/**
 * When the oldest due delivery was due (null: nothing is due). Only endpoints whose turn has
 * come are looked at (endpoint_state_due, oldest turn first, at most AGE_ENDPOINTS), and for
 * each one index probe of deliveries_due (endpoint_id, next_attempt_at) finds its oldest
 * pending delivery. An endpoint held back on purpose (open circuit, rate limit) has its turn
 * in the future and does not count: it has its own metric.
 */
export async function oldestDueDelivery(
  q: Queryable,
  now: Date,
  endpoints = AGE_ENDPOINTS,
): Promise<Date | null> {
  const [row] = await q.query<{ due: Date | null }>(
    {
      name: 'metrics/oldest_due',
      text: `SELECT min(d.next_attempt_at) AS due
     FROM (SELECT endpoint_id FROM endpoint_state WHERE next_due_at <= $1 ORDER BY next_due_at LIMIT $2) s
     CROSS JOIN LATERAL (
       SELECT next_attempt_at FROM deliveries
       WHERE endpoint_id = s.endpoint_id AND state = 'pending' AND next_attempt_at <= $1
       ORDER BY next_attempt_at LIMIT 1) d`,
    },
    [now, endpoints],
  );
  return row?.due ? new Date(row.due) : null;
}

export interface EndpointHealthCounts {
  healthy: number;
  failing: number;
  open: number;
  disabled: number;
}

/**
 * Endpoints by health. Failing and open ones come from the small partial index
 * endpoint_state_failing (failing_since IS NOT NULL), disabled ones from endpoints_disabled
 * (migration 011), each capped; the total is an index-only count of the primary key up to
 * the cap, the estimate above it. Healthy is what is left.
 */
export async function countEndpointsByHealth(
  q: Queryable,
  openAfter: number,
  cap = COUNT_CAP,
): Promise<EndpointHealthCounts> {
  const [row] = await q.query<{ failing: number; open: number; disabled: number }>(
    {
      name: 'metrics/endpoint_health',
      text: `SELECT count(*) FILTER (WHERE f.consecutive_failures < $2)::int AS failing,
            count(*) FILTER (WHERE f.consecutive_failures >= $2)::int AS open,
            (SELECT count(*)::int FROM (SELECT 1 FROM endpoints WHERE disabled LIMIT $1) d) AS disabled
     FROM (SELECT s.consecutive_failures FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
           WHERE s.failing_since IS NOT NULL AND NOT e.disabled LIMIT $1) f`,
    },
    [cap, openAfter],
  );
  const total = await cappedCount(
    q,
    {
      name: 'metrics/endpoints',
      text: 'SELECT count(*)::int AS n FROM (SELECT 1 FROM endpoints LIMIT $1) s',
    },
    'endpoints_pkey',
    cap,
  );
  const failing = Number(row?.failing ?? 0);
  const open = Number(row?.open ?? 0);
  const disabled = Number(row?.disabled ?? 0);
  return { failing, open, disabled, healthy: Math.max(0, total - failing - open - disabled) };
}

/** Reminder slots whose time has come and that are not fired yet. Index reminder_slots_due. */
export function countDueReminders(q: Queryable, now: Date, cap = COUNT_CAP): Promise<number> {
  return q
    .query<{ n: number }>(
      {
        name: 'metrics/reminders_due',
        text: `SELECT count(*)::int AS n FROM
         (SELECT 1 FROM reminder_slots WHERE state = 'planned' AND due_at <= $2 LIMIT $1) s`,
      },
      [cap, now],
    )
    .then(([row]) => Number(row?.n ?? 0));
}
