// One endpoint's deliveries: its delivery log, the stored material its requests are built
// from, and the test event that is addressed to it alone.
import type { Queryable } from './db.js';
import type { DeliveryState } from './deliveries/types.js';
import { DELIVERY_VIEW_COLUMNS, DELIVERY_VIEW_FROM, type DeliveryView } from './deliveries/views.js';
import { decodeCursor, type Page, pageOf } from './page.js';
import { publishEvents } from './publish.js';

export interface EndpointDeliveryFilter {
  /** Only deliveries whose last attempt failed: given up, or waiting for a retry. */
  failed?: boolean;
  state?: DeliveryState;
  eventType?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** The last attempt's HTTP status, or a class of them: [low, high] inclusive. */
  status?: [number, number];
}

/** A delivery of the endpoint's log, with its webhook-endpoint-sequence (null until first claimed). */
export type EndpointDeliveryView = DeliveryView & { endpoint_sequence: number | null };

type Row = EndpointDeliveryView & { created_us: number };

/** A delivery's endpoint sequence: its queue row's while it has one, its attempts' after. */
const ENDPOINT_SEQUENCE = `coalesce(d.endpoint_sequence,
  (SELECT min(a.endpoint_sequence) FROM attempts a WHERE a.delivery_id = d.id)) AS endpoint_sequence`;

/**
 * Newest first. The order is (created_at, id) so that deliveries_endpoint_created
 * (endpoint_id, created_at) serves both the order and the time range; the cursor carries
 * created_at in whole microseconds, exactly as stored, so no row falls between two pages.
 */
export async function listEndpointDeliveries(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  filter: EndpointDeliveryFilter,
  limit: number,
  cursor?: string,
): Promise<Page<EndpointDeliveryView> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['number', 'number']);
    if (!after) return undefined;
  }
  const rows = await q.query<Row>(
    `SELECT ${DELIVERY_VIEW_COLUMNS}, ${ENDPOINT_SEQUENCE},
            (extract(epoch FROM d.created_at) * 1000000)::bigint AS created_us
     FROM ${DELIVERY_VIEW_FROM}
     WHERE d.tenant_id = $1 AND d.endpoint_id = $2
       AND ($3::bigint IS NULL
            OR (d.created_at, d.id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::bigint))
       AND ($5::boolean IS NULL OR NOT $5
            OR d.state = 'failed' OR (d.state = 'pending' AND d.attempts > 0))
       AND ($6::text IS NULL OR d.state = $6)
       AND ($7::text IS NULL OR ev.type = $7)
       AND ($8::timestamptz IS NULL OR d.created_at >= $8)
       AND ($9::timestamptz IS NULL OR d.created_at < $9)
       AND ($11::int IS NULL OR d.last_status BETWEEN $11 AND $12)
     ORDER BY d.created_at DESC, d.id DESC
     LIMIT $10`,
    [
      tenantId,
      endpointId,
      after?.[0] ?? null,
      after?.[1] ?? null,
      filter.failed ?? null,
      filter.state ?? null,
      filter.eventType ?? null,
      filter.createdAfter ?? null,
      filter.createdBefore ?? null,
      limit + 1,
      filter.status?.[0] ?? null,
      filter.status?.[1] ?? null,
    ],
  );
  const page = pageOf(rows, limit, (r) => [r.created_us, r.id]);
  return { data: page.data.map(({ created_us: _us, ...d }) => d), next_cursor: page.next_cursor };
}

/**
 * The delivery that carries webhook-endpoint-sequence `sequence` on this endpoint, if any: a
 * receiver that saw 57 and 59 asks for 58. Numbers are given at the first claim, so one not
 * handed out yet finds nothing. Through attempts_endpoint_sequence (every attempt keeps its
 * number) and, for a delivery claimed but not yet recorded, the endpoint's queue rows.
 */
export async function deliveryBySequence(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  sequence: number,
): Promise<EndpointDeliveryView | undefined> {
  const rows = await q.query<EndpointDeliveryView>(
    `SELECT ${DELIVERY_VIEW_COLUMNS}, $3::bigint AS endpoint_sequence
     FROM ${DELIVERY_VIEW_FROM}
     WHERE d.tenant_id = $1 AND d.endpoint_id = $2
       AND d.id IN (SELECT a.delivery_id FROM attempts a WHERE a.endpoint_sequence = $3
                    UNION ALL
                    SELECT q.delivery_id FROM delivery_queue q WHERE q.endpoint_id = $2 AND q.endpoint_sequence = $3)
     LIMIT 1`,
    [tenantId, endpointId, sequence],
  );
  return rows[0];
}

/** What a delivery's request is built from: the event as stored and the endpoint's profile. */
export interface DeliverySource {
  endpoint_id: string;
  profile: string;
  /** Sealed, as stored; open it with the store's codec. */
  secret: string;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  /** The payload's exact text. */
  payload: string;
  /** The event's payload was erased. */
  erased: boolean;
}

export async function deliverySource(
  q: Queryable,
  tenantId: string,
  deliveryId: number,
): Promise<DeliverySource | undefined> {
  const rows = await q.query<DeliverySource>(
    `SELECT d.endpoint_id, e.profile, e.secret, ev.id AS event_id, ev.type AS event_type,
            ev.created_at AS event_created_at, ev.payload::text AS payload, ev.erased_at IS NOT NULL AS erased
     FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id JOIN events ev ON ev.seq = d.event_seq
     WHERE d.tenant_id = $1 AND d.id = $2`,
    [tenantId, deliveryId],
  );
  return rows[0];
}

export interface TargetedEvent {
  tenantId: string;
  endpointId: string;
  id: string;
  type: string;
  /** Catalog entry written if the type is not there yet. */
  typeDescription: string;
  typeGroup: string;
  payloadJson: string;
  requestHash: string;
  source: string;
  now: Date;
}

export type TargetedOutcome =
  | { kind: 'queued'; eventSeq: number; deliveryId: number }
  | { kind: 'endpoint_not_found' }
  | { kind: 'endpoint_disabled' };

/**
 * Stores an event with exactly one delivery, to the named endpoint, in the caller's
 * transaction: an addressed publish (PublishInput.endpointId), so the fan-out rules (type
 * filters, channels, other endpoints) are not consulted. Everything else is the ordinary
 * path: the same publish statement, claim, signing, profile and attempt log.
 * The event type is added to the catalog (not enabled by default) the first time, so that
 * the catalog names every type an event can carry.
 */
export async function publishToEndpoint(q: Queryable, e: TargetedEvent): Promise<TargetedOutcome> {
  // FOR SHARE: the endpoint cannot be deleted or disabled between this check and the insert.
  const eps = await q.query<{ disabled: boolean }>(
    'SELECT disabled FROM endpoints WHERE tenant_id = $1 AND id = $2 FOR SHARE',
    [e.tenantId, e.endpointId],
  );
  if (!eps[0]) return { kind: 'endpoint_not_found' };
  if (eps[0].disabled) return { kind: 'endpoint_disabled' };
  await q.query(
    `INSERT INTO event_types (name, description, group_name, default_enabled, created_at, updated_at)
     VALUES ($1, $2, $3, false, $4, $4) ON CONFLICT (name) DO NOTHING`,
    [e.type, e.typeDescription, e.typeGroup, e.now],
  );
  const { outcomes } = await publishEvents(q, [
    {
      tenantId: e.tenantId,
      id: e.id,
      type: e.type,
      payloadJson: e.payloadJson,
      channels: [],
      orderingKey: null,
      idempotencyKey: null,
      requestHash: e.requestHash,
      source: e.source,
      createdAt: e.now,
      endpointId: e.endpointId,
    },
  ]);
  const out = outcomes[0]!;
  if (out.kind !== 'created') throw new Error(`test event ${e.id} was not created (${out.kind})`);
  const d = await q.query<{ id: number }>('SELECT id FROM deliveries WHERE event_seq = $1', [out.event.seq]);
  return { kind: 'queued', eventSeq: out.event.seq, deliveryId: d[0]!.id };
}
