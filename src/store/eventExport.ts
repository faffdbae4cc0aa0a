// The export of a tenant's record: its events in a window, page by page in (created_at, seq)
// order, each with the sha256 of its payload and, per endpoint, how its delivery ended. Two
// statements per page: the events (keyset through events_created, the cursor carrying
// created_at in whole microseconds as stored, so no row falls between two pages) and their
// deliveries (deliveries_event), with the time of the successful attempt (attempts_delivery).
import type { Queryable } from './db.js';
import type { DeliveryState } from './deliveries/types.js';

export interface ExportedDelivery {
  endpoint_id: string;
  state: DeliveryState;
  attempts: number;
  /** When the attempt that succeeded started; null unless the delivery succeeded. */
  succeeded_at: Date | null;
}

export interface ExportedEvent {
  seq: number;
  id: string;
  type: string;
  created_at: Date;
  /** created_at in microseconds since the epoch: the page's position. */
  created_us: number;
  channels: string[];
  /** sha256 (hex) of the payload's exact text, as published. */
  payload_sha256: string;
  deliveries: ExportedDelivery[];
}

/** Where the next page starts: after this event. */
export interface ExportPosition {
  createdUs: number;
  seq: number;
}

export async function exportPage(
  q: Queryable,
  tenantId: string,
  since: Date,
  until: Date,
  after: ExportPosition | null,
  limit: number,
): Promise<ExportedEvent[]> {
  const events = await q.query<Omit<ExportedEvent, 'deliveries'>>(
    `SELECT e.seq, e.id, e.type, e.created_at, e.channels,
            (extract(epoch FROM e.created_at) * 1000000)::bigint AS created_us,
            encode(sha256(convert_to(e.payload::text, 'UTF8')), 'hex') AS payload_sha256
     FROM events e
     WHERE e.tenant_id = $1 AND e.created_at >= $2 AND e.created_at < $3
       -- The plain bound lets the index scan start at the cursor; the row comparison orders ties.
       AND ($4::bigint IS NULL OR e.created_at >= timestamptz 'epoch' + $4::bigint * interval '1 microsecond')
       AND ($4::bigint IS NULL
            OR (e.created_at, e.seq) > (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::bigint))
     ORDER BY e.created_at, e.seq
     LIMIT $6`,
    [tenantId, since, until, after?.createdUs ?? null, after?.seq ?? null, limit],
  );
  if (events.length === 0) return [];
  const deliveries = await q.query<ExportedDelivery & { event_seq: number }>(
    `SELECT d.event_seq, d.endpoint_id, d.state, d.attempts,
            CASE WHEN d.state = 'succeeded' THEN
              (SELECT a.started_at FROM attempts a WHERE a.delivery_id = d.id ORDER BY a.attempt DESC, a.id DESC LIMIT 1)
            END AS succeeded_at
     FROM deliveries d
     WHERE d.event_seq = ANY($1::bigint[])
     ORDER BY d.event_seq, d.endpoint_id, d.id`,
    [events.map((e) => e.seq)],
  );
  const bySeq = new Map<number, ExportedDelivery[]>();
  for (const { event_seq, ...d } of deliveries) {
    const list = bySeq.get(event_seq);
    if (list) list.push(d);
    else bySeq.set(event_seq, [d]);
  }
  return events.map((e) => ({ ...e, deliveries: bySeq.get(e.seq) ?? [] }));
}

/** The tenant's endpoint ids, in order: the CSV export's columns. */
export async function tenantEndpointIds(q: Queryable, tenantId: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>('SELECT id FROM endpoints WHERE tenant_id = $1 ORDER BY id', [
    tenantId,
  ]);
  return rows.map((r) => r.id);
}
