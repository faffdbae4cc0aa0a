// How an endpoint is doing, per hour or per day, from the hourly rollups the worker's
// maintenance builds (store/endpointStats.ts): never a scan of the attempts at query time.
import { type Static, Type } from 'typebox';
import {
  type HourlyStats,
  hourlyStats,
  LATENCY_BOUNDS_MS,
  LATENCY_BUCKETS,
  statsThrough,
} from '../../store/endpointStats.js';
import { getEndpoint } from '../../store/endpoints.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { notFound, unprocessable } from '../errors.js';
import { EndpointParams, errors, Timestamp } from '../schemas.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Most buckets one answer carries: a month of hours, a year of days. */
const MAX_BUCKETS = { hour: 31 * 24, day: 366 } as const;

const Query = Type.Object({
  since: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'Start (inclusive, rounded down to the bucket); default: until minus 24 hours (hour) or 7 days (day)',
    }),
  ),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'End (exclusive); default: now' })),
  bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'hour' })),
});

const Numbers = {
  attempts: Type.Integer(),
  attempts_succeeded: Type.Integer(),
  deliveries: Type.Object({
    succeeded: Type.Integer({ description: 'Deliveries whose last attempt, in this bucket, succeeded' }),
    failed: Type.Integer({ description: 'Deliveries given up on at an attempt in this bucket' }),
  }),
  first_attempts: Type.Integer(),
  first_attempt_success_rate: Type.Union([Type.Number(), Type.Null()], {
    description: 'Share of first attempts that succeeded (0–1); null without first attempts',
  }),
  latency_ms: Type.Object(
    { p50: Type.Integer(), p95: Type.Integer(), p99: Type.Integer(), max: Type.Integer() },
    {
      description:
        'Attempt duration percentiles (0 without attempts), to the resolution of the histogram buckets',
    },
  ),
  disabled_seconds: Type.Number(),
  circuit_open_seconds: Type.Number(),
};
const Bucket = Type.Object({ start: Timestamp, ...Numbers });
const StatsAnswer = Type.Object(
  {
    endpoint_id: Type.String(),
    bucket: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
    since: Timestamp,
    until: Timestamp,
    through: Type.Union([Timestamp, Type.Null()], {
      description:
        'Attempts recorded before this time are counted (the rollup runs every minute, a minute behind)',
    }),
    latency_bounds_ms: Type.Array(Type.Integer(), {
      description: 'Upper bounds of the latency histogram buckets',
    }),
    buckets: Type.Array(Bucket),
    total: Type.Object(Numbers),
  },
  { $id: 'EndpointStats' },
);
type Answer = Static<typeof StatsAnswer>;

interface Sum {
  attempts: number;
  attempts_succeeded: number;
  first_attempts: number;
  first_attempts_succeeded: number;
  delivered: number;
  gave_up: number;
  hist: number[];
  max: number;
  disabled_ms: number;
  circuit_open_ms: number;
}

function emptySum(): Sum {
  return {
    attempts: 0,
    attempts_succeeded: 0,
    first_attempts: 0,
    first_attempts_succeeded: 0,
    delivered: 0,
    gave_up: 0,
    hist: new Array<number>(LATENCY_BUCKETS).fill(0),
    max: 0,
    disabled_ms: 0,
    circuit_open_ms: 0,
  };
}

function add(s: Sum, h: HourlyStats | Sum): void {
  const hist = 'latency_hist' in h ? h.latency_hist : h.hist;
  s.attempts += h.attempts;
  s.attempts_succeeded += h.attempts_succeeded;
  s.first_attempts += h.first_attempts;
  s.first_attempts_succeeded += h.first_attempts_succeeded;
  s.delivered += h.delivered;
  s.gave_up += h.gave_up;
  for (let i = 0; i < LATENCY_BUCKETS; i++) s.hist[i] = (s.hist[i] ?? 0) + (hist[i] ?? 0);
  s.max = Math.max(s.max, 'latency_max_ms' in h ? h.latency_max_ms : h.max);
  s.disabled_ms += Number(h.disabled_ms);
  s.circuit_open_ms += Number(h.circuit_open_ms);
}

/**
 * Nearest rank over the histogram: the upper bound of the bucket holding the attempt of rank
 * ceil(p·n), or the largest duration seen when that is lower (the last bucket has no bound).
 */
export function percentile(hist: number[], max: number, p: number): number {
  const n = hist.reduce((a, b) => a + b, 0);
  if (n === 0) return 0;
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return Math.min(LATENCY_BOUNDS_MS[i] ?? max, max);
  }
  return max;
}

function numbers(s: Sum) {
  return {
    attempts: s.attempts,
    attempts_succeeded: s.attempts_succeeded,
    deliveries: { succeeded: s.delivered, failed: s.gave_up },
    first_attempts: s.first_attempts,
    first_attempt_success_rate: s.first_attempts === 0 ? null : s.first_attempts_succeeded / s.first_attempts,
    latency_ms: {
      p50: percentile(s.hist, s.max, 0.5),
      p95: percentile(s.hist, s.max, 0.95),
      p99: percentile(s.hist, s.max, 0.99),
      max: s.max,
    },
    disabled_seconds: s.disabled_ms / 1000,
    circuit_open_seconds: s.circuit_open_ms / 1000,
  };
}

function floorTo(t: number, bucket: 'hour' | 'day'): number {
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(t / size) * size;
}

export async function endpointStatsRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(StatsAnswer);
  app.get<{ Params: EndpointParams; Querystring: Static<typeof Query> }>(
    '/v1/tenants/:tid/endpoints/:eid/stats',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'How an endpoint is doing, per hour or per day (UTC)',
        description:
          'Deliveries by final state, first-attempt success rate, attempt latency percentiles, and the time the endpoint was disabled or its circuit open, from hourly rollups the workers build a minute behind (see `through`).',
        params: EndpointParams,
        querystring: Query,
        response: { 200: Type.Ref('EndpointStats'), ...errors(400, 401, 404, 422) },
      },
    },
    async (req): Promise<Answer> => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      if (!(await getEndpoint(ctx.db, ctx.codec, tid, eid))) throw notFound('endpoint', eid);
      const bucket = req.query.bucket ?? 'hour';
      const until = req.query.until ? Date.parse(req.query.until) : ctx.clock.now().getTime();
      const since = floorTo(
        req.query.since ? Date.parse(req.query.since) : until - (bucket === 'hour' ? DAY_MS : 7 * DAY_MS),
        bucket,
      );
      if (since >= until) throw unprocessable('invalid_range', '`since` must be before `until`.');
      const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
      const count = Math.ceil((until - since) / size);
      if (count > MAX_BUCKETS[bucket]) {
        throw unprocessable(
          'range_too_long',
          `At most ${MAX_BUCKETS[bucket]} ${bucket} buckets per request; narrow the range or use a larger bucket.`,
          { max_buckets: MAX_BUCKETS[bucket] },
        );
      }
      const rows = await hourlyStats(ctx.db, eid, new Date(since), new Date(until));
      const sums = Array.from({ length: count }, emptySum);
      const total = emptySum();
      for (const r of rows) {
        const i = Math.floor((r.hour.getTime() - since) / size);
        const s = sums[i];
        if (!s) continue;
        add(s, r);
        add(total, r);
      }
      return {
        endpoint_id: eid,
        bucket,
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        through: (await statsThrough(ctx.db))?.toISOString() ?? null,
        latency_bounds_ms: [...LATENCY_BOUNDS_MS],
        buckets: sums.map((s, i) => ({ start: new Date(since + i * size).toISOString(), ...numbers(s) })),
        total: numbers(total),
      };
    },
  );
}
