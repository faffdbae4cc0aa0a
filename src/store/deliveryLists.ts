// A tenant's deliveries, and the attempts of a tenant or of one endpoint, filtered and cursor
// paged. None of them adds an index to deliveries or attempts (written by every publish and
// every ack): the tenant lists walk events_tenant_seq newest first and reach the deliveries
// through deliveries_event, an endpoint's attempts walk deliveries_endpoint_created; the
// attempts of a delivery come from attempts_delivery. Plans in docs/scaling.md ("Lists").
import type { Queryable } from './db.js';
import type { DeliveryState } from './deliveries/types.js';
import { DELIVERY_VIEW_COLUMNS, DELIVERY_VIEW_FROM, type DeliveryView } from './deliveries/views.js';
import { typeFilterParams } from './events.js';
import { decodeCursor, type Page, pageOf } from './page.js';

/** An HTTP status or a class of them: [low, high] inclusive (5xx is [500, 599]). */
export type StatusRange = [number, number];

export interface TenantDeliveryFilter {
  state?: DeliveryState;
  /** On the delivery's last attempt. */
  status?: StatusRange;
  types?: string[];
  createdAfter?: Date;
  createdBefore?: Date;
}

/** The SQL for a type filter on `ev` with its parameters at $n, $n+1, $n+2. */
function typeCondition(n: number): string {
  return `($${n}::text IS NULL OR ev.type = $${n})
       AND ($${n + 1}::text[] IS NULL OR ev.type = ANY($${n + 1}::text[])
            OR EXISTS (SELECT 1 FROM unnest($${n + 2}::text[]) p WHERE left(ev.type, length(p)) = p))`;
}

function typeValues(types: string[] | undefined): (string | string[] | null)[] {
  const t = typeFilterParams(types ?? []);
  return [t.single, t.exact, t.prefixes];
}

type TenantRow = DeliveryView & { event_seq: number };

/**
 * Newest first: (event, delivery) in descending order. The walk is the tenant's events
 * newest first (events_tenant_seq; a single type: events_tenant_type_seq) and each event's
 * deliveries (deliveries_event); every other filter is checked on the way, so a page costs
 * the rows it skips. The time range is on the event's time, which is the delivery's.
 */
export async function listTenantDeliveries(
  q: Queryable,
  tenantId: string,
  filter: TenantDeliveryFilter,
  limit: number,
  cursor?: string,
): Promise<Page<DeliveryView> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['number', 'number']);
    if (!after) return undefined;
  }
  const rows = await q.query<TenantRow>(
    `SELECT ${DELIVERY_VIEW_COLUMNS}, d.event_seq
     FROM ${DELIVERY_VIEW_FROM}
     WHERE ev.tenant_id = $1 AND d.tenant_id = $1
       AND ($2::bigint IS NULL OR ev.seq < $2 OR (ev.seq = $2 AND d.id < $3::bigint))
       AND ($4::text IS NULL OR d.state = $4)
       AND ($5::int IS NULL OR d.last_status BETWEEN $5 AND $6)
       AND ($7::timestamptz IS NULL OR ev.created_at >= $7)
       AND ($8::timestamptz IS NULL OR ev.created_at < $8)
       AND ${typeCondition(9)}
     ORDER BY ev.seq DESC, d.id DESC
     LIMIT $12`,
    [
      tenantId,
      after?.[0] ?? null,
      after?.[1] ?? null,
      filter.state ?? null,
      filter.status?.[0] ?? null,
      filter.status?.[1] ?? null,
      filter.createdAfter ?? null,
      filter.createdBefore ?? null,
      ...typeValues(filter.types),
      limit + 1,
    ],
  );
  const page = pageOf(rows, limit, (r) => [r.event_seq, r.id]);
  return { data: page.data.map(({ event_seq: _s, ...d }) => d), next_cursor: page.next_cursor };
}

export interface AttemptFilter {
  /** One endpoint's attempts; absent: the tenant's. */
  endpointId?: string;
  status?: StatusRange;
  /** true: only 2xx answers; false: only the others (errors included). */
  succeeded?: boolean;
  types?: string[];
  /** On the attempt's time. */
  createdAfter?: Date;
  createdBefore?: Date;
}

export interface AttemptListRow {
  id: number;
  delivery_id: number;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  url: string;
  status: number | null;
  error: string | null;
  created_at: Date;
}

type AttemptRow = AttemptListRow & { k: number };

const ATTEMPT_COLUMNS = `a.id, a.delivery_id, d.endpoint_id, ev.id AS event_id, ev.type AS event_type, a.attempt,
  a.started_at, a.duration_ms, a.url, a.status, a.error, a.created_at`;

/**
 * Newest delivery first, then its attempts latest first. For one endpoint the walk is
 * deliveries_endpoint_created backwards (key: the delivery's created_at in µs); for the
 * tenant, its events newest first (key: the event's seq). An attempt is never older than its
 * delivery, so `createdBefore` also bounds the walk; `createdAfter` is a filter on it.
 */
export async function listAttempts(
  q: Queryable,
  tenantId: string,
  filter: AttemptFilter,
  limit: number,
  cursor?: string,
): Promise<Page<AttemptListRow> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['number', 'number', 'number']);
    if (!after) return undefined;
  }
  const one = filter.endpointId !== undefined;
  const key = one ? `(extract(epoch FROM d.created_at) * 1000000)::bigint` : 'ev.seq';
  const walk = one
    ? `d.endpoint_id = $13 AND ($2::bigint IS NULL
         OR (d.created_at, d.id, a.attempt) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::bigint, $4::int))
       AND ($9::timestamptz IS NULL OR d.created_at < $9)`
    : `ev.tenant_id = $1 AND ($2::bigint IS NULL OR (ev.seq, d.id, a.attempt) < ($2::bigint, $3::bigint, $4::int))
       AND ($13::text IS NULL)`;
  const order = one
    ? 'd.created_at DESC, d.id DESC, a.attempt DESC'
    : 'ev.seq DESC, d.id DESC, a.attempt DESC';
  const rows = await q.query<AttemptRow>(
    `SELECT ${ATTEMPT_COLUMNS}, ${key} AS k
     FROM deliveries d JOIN events ev ON ev.seq = d.event_seq JOIN attempts a ON a.delivery_id = d.id
     WHERE d.tenant_id = $1 AND ${walk}
       AND ($5::int IS NULL OR a.status BETWEEN $5 AND $6)
       AND ($7::boolean IS NULL OR $7 = coalesce(a.status BETWEEN 200 AND 299 OR (a.status IS NULL AND a.error IS NULL), false))
       AND ($8::timestamptz IS NULL OR a.created_at >= $8)
       AND ($9::timestamptz IS NULL OR a.created_at < $9)
       AND ${typeCondition(10)}
     ORDER BY ${order}
     LIMIT $14`,
    [
      tenantId,
      after?.[0] ?? null,
      after?.[1] ?? null,
      after?.[2] ?? null,
      filter.status?.[0] ?? null,
      filter.status?.[1] ?? null,
      filter.succeeded ?? null,
      filter.createdAfter ?? null,
      filter.createdBefore ?? null,
      ...typeValues(filter.types),
      filter.endpointId ?? null,
      limit + 1,
    ],
  );
  const page = pageOf(rows, limit, (r) => [Number(r.k), r.delivery_id, r.attempt]);
  return { data: page.data.map(({ k: _k, ...a }) => a), next_cursor: page.next_cursor };
}
