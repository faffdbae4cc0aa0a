// Events as stored: their shape and the reads of them. Writing them is publish.ts.
import type { Queryable } from './db.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export interface PublishInput {
  tenantId: string;
  id: string;
  type: string;
  /** The payload's exact JSON text. */
  payloadJson: string;
  channels: string[];
  orderingKey: string | null;
  idempotencyKey: string | null;
  /** Fingerprint of the request; a repeat with another fingerprint is a conflict. */
  requestHash: string;
  source: string;
  createdAt: Date;
  /** Addressed to this endpoint alone: the fan-out rules are not consulted (a test event). */
  endpointId?: string;
  /** The publish's trace context (W3C traceparent), kept for the attempts to link to. */
  traceContext?: string | null;
}

export interface StoredEvent {
  seq: number;
  tenant_id: string;
  id: string;
  type: string;
  payload: unknown;
  channels: string[];
  ordering_key: string | null;
  idempotency_key: string | null;
  source: string;
  created_at: Date;
  /** When its payload was erased (personal data); the payload is then null. */
  erased_at: Date | null;
}

export type PublishOutcome =
  | { kind: 'created'; event: StoredEvent; deliveries: number }
  | { kind: 'duplicate'; event: StoredEvent; deliveries: number }
  | { kind: 'conflict'; event: StoredEvent }
  /** The tenant does not exist (deleted meanwhile): nothing was written. */
  | { kind: 'no_tenant' };

export const EVENT_COLUMNS =
  'seq, tenant_id, id, type, payload, channels, ordering_key, idempotency_key, source, created_at, erased_at';

export async function getEvent(q: Queryable, tenantId: string, id: string): Promise<StoredEvent | undefined> {
  const rows = await q.query<StoredEvent>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0];
}

export interface EventFilter {
  type?: string;
  /** Several types: exact names, or "topic.*" prefixes (any of them matches). */
  types?: string[];
  channel?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** false: only events with at least one delivery that has not succeeded. */
  deliverySuccess?: boolean;
}

/**
 * Type filters as parameters: a single exact name ($single) is an equality the planner serves
 * with events_tenant_type_seq; several names or a prefix ($exact, $prefixes) are any-of.
 */
export function typeFilterParams(types: string[]): {
  single: string | null;
  exact: string[] | null;
  prefixes: string[] | null;
} {
  if (types.length === 0) return { single: null, exact: null, prefixes: null };
  const exact = types.filter((t) => !t.endsWith('*'));
  const prefixes = types.filter((t) => t.endsWith('*')).map((t) => t.slice(0, -1));
  if (exact.length === 1 && prefixes.length === 0) return { single: exact[0]!, exact: null, prefixes: null };
  return { single: null, exact, prefixes };
}

/** Newest first. */
export async function listEvents(
  q: Queryable,
  tenantId: string,
  filter: EventFilter,
  limit: number,
  cursor?: string,
): Promise<Page<StoredEvent> | undefined> {
  let before: number | undefined;
  if (cursor) {
    const parts = decodeCursor(cursor, ['number']);
    if (!parts) return undefined;
    before = parts[0] as number;
  }
  const t = typeFilterParams([...(filter.type ? [filter.type] : []), ...(filter.types ?? [])]);
  const rows = await q.query<StoredEvent>(
    `SELECT ${EVENT_COLUMNS} FROM events ev
     WHERE tenant_id = $1
       AND ($9::text[] IS NULL OR type = ANY($9::text[])
            OR EXISTS (SELECT 1 FROM unnest($10::text[]) p WHERE left(type, length(p)) = p))
       AND ($2::bigint IS NULL OR seq < $2)
       AND ($3::text IS NULL OR type = $3)
       AND ($4::text IS NULL OR $4 = ANY(channels))
       AND ($5::timestamptz IS NULL OR created_at > $5)
       AND ($6::timestamptz IS NULL OR created_at < $6)
       AND ($7::boolean IS NULL OR $7 = NOT EXISTS (
             SELECT 1 FROM deliveries d WHERE d.event_seq = ev.seq AND d.state <> 'succeeded'))
     ORDER BY seq DESC LIMIT $8`,
    [
      tenantId,
      before ?? null,
      t.single,
      filter.channel ?? null,
      filter.createdAfter ?? null,
      filter.createdBefore ?? null,
      filter.deliverySuccess ?? null,
      limit + 1,
      t.exact,
      t.prefixes,
    ],
  );
  return pageOf(rows, limit, (e) => [e.seq]);
}

export type EraseOutcome =
  | { kind: 'erased'; erased_at: Date; bodies: number; payload_sha256: string }
  | { kind: 'not_found' }
  /** A delivery still has work (pending, in flight, or an ordered head given up). */
  | { kind: 'owed'; deliveries: number };

/**
 * Erases an event's payload (personal data) and the request bodies its attempts kept, in the
 * caller's transaction. What stays: the event's id, type, channels and request hash, the
 * payload's sha256, every delivery and attempt with its body_sha256, and so the attempt chain,
 * which covers hashes, not bodies. Refused while a delivery still has work: it would send a
 * payload that is gone. The event row is locked first, so two erases do not interleave.
 */
export async function eraseEvent(
  q: Queryable,
  tenantId: string,
  id: string,
  now: Date,
): Promise<EraseOutcome> {
  const ev = await q.query<{ seq: number; erased_at: Date | null; payload_sha256: string | null }>(
    `SELECT seq, erased_at, erased_payload_sha256 AS payload_sha256 FROM events
     WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
    [tenantId, id],
  );
  const e = ev[0];
  if (!e) return { kind: 'not_found' };
  // Pending or in flight, or an ordered head given up (it keeps its key blocked until it is
  // resent or skipped): still owed. A plain delivery given up only waits for a resend that
  // must not happen now: it leaves the queue (state failed stays on the record).
  const owed = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries d JOIN delivery_queue dq ON dq.delivery_id = d.id
     WHERE d.event_seq = $1 AND (dq.state = 'pending' OR dq.lease_owner IS NOT NULL OR dq.sequence IS NOT NULL)`,
    [e.seq],
  );
  if (owed[0]!.n > 0) return { kind: 'owed', deliveries: owed[0]!.n };
  await q.query(
    `DELETE FROM delivery_queue dq USING deliveries d
     WHERE d.event_seq = $1 AND dq.delivery_id = d.id AND dq.state = 'failed' AND dq.lease_owner IS NULL`,
    [e.seq],
  );
  const rows = await q.query<{ erased_at: Date; payload_sha256: string; bodies: number }>(
    `WITH ats AS (
       SELECT a.id FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_seq = $1
     ), gone AS (
       DELETE FROM attempt_bodies b USING ats WHERE b.attempt_id = ats.id RETURNING 1
     ), ev AS (
       UPDATE events SET
         erased_payload_sha256 = coalesce(erased_payload_sha256, encode(sha256(convert_to(payload::text, 'UTF8')), 'hex')),
         payload = 'null'::json,
         erased_at = coalesce(erased_at, $2)
       WHERE seq = $1
       RETURNING erased_at, erased_payload_sha256
     )
     SELECT ev.erased_at, ev.erased_payload_sha256 AS payload_sha256, (SELECT count(*) FROM gone)::int AS bodies FROM ev`,
    [e.seq, now],
  );
  const r = rows[0]!;
  return { kind: 'erased', erased_at: r.erased_at, bodies: r.bodies, payload_sha256: r.payload_sha256 };
}

/** Whether the event a delivery belongs to was erased (a resend would send nothing real). */
export async function deliveryEventErased(
  q: Queryable,
  tenantId: string,
  deliveryId: number,
): Promise<boolean> {
  const rows = await q.query<{ erased: boolean }>(
    `SELECT ev.erased_at IS NOT NULL AS erased FROM deliveries d JOIN events ev ON ev.seq = d.event_seq
     WHERE d.tenant_id = $1 AND d.id = $2`,
    [tenantId, deliveryId],
  );
  return rows[0]?.erased === true;
}
