// The store-wide figures /metrics shows, computed at scrape time. Every query here is bounded
// whatever the size of the tables: an index-only count that stops at a cap (and the planner's
// estimate above it), or a fixed number of index probes. None scans the deliveries table.
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
 * Deliveries in one not-finished state. Both come from the small tables of the engine
 * (migration 006), never from deliveries: waiting ones are the work queue's rows that are not
 * leased (due now, a retry scheduled, or behind an ordering key; capped, the queue's row
 * estimate above the cap), in flight ones the endpoints' in-flight counters (one row per
 * endpoint).
 */
export async function countDeliveries(
  q: Queryable,
  state: 'pending' | 'delivering',
  cap = COUNT_CAP,
): Promise<number> {
  if (state === 'delivering') {
    const [row] = await q.query<{ n: number }>(
      { name: 'metrics/in_flight', text: 'SELECT coalesce(sum(in_flight), 0)::int AS n FROM endpoint_state' },
      [],
    );
    return Number(row?.n ?? 0);
  }
  return cappedCount(
    q,
    {
      name: 'metrics/pending',
      text: `SELECT count(*)::int AS n FROM
       (SELECT 1 FROM delivery_queue WHERE state = 'pending' AND lease_owner IS NULL LIMIT $1) s`,
    },
    'delivery_queue',
    cap,
  );
}

/**
 * When the oldest due delivery was due (null: nothing is due). Only endpoints whose turn has
 * come are looked at (endpoint_turns_due, oldest mark first, at most AGE_ENDPOINTS), and for
 * each one probe of delivery_queue_due (endpoint_id, due_at) finds its oldest due row that is
 * not leased. An endpoint held back on purpose (open circuit, rate limit) has its turn in the
 * future and does not count: it has its own metric.
 */
export async function oldestDueDelivery(
  q: Queryable,
  now: Date,
  endpoints = AGE_ENDPOINTS,
): Promise<Date | null> {
  const [row] = await q.query<{ due: Date | null }>(
    {
      name: 'metrics/oldest_due',
      text: `SELECT min(d.due_at) AS due
     FROM (SELECT DISTINCT endpoint_id FROM
             (SELECT endpoint_id FROM endpoint_turns WHERE due_at <= $1 ORDER BY due_at LIMIT $2) m) s
     CROSS JOIN LATERAL (
       SELECT due_at FROM delivery_queue
       WHERE endpoint_id = s.endpoint_id AND due_at <= $1 AND lease_owner IS NULL
       ORDER BY due_at LIMIT 1) d`,
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
