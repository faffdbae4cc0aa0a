// Reading deliveries and their attempts for the API and the portal. A delivery's state and
// next attempt time come from the record and, while it has work, its queue row.
import type { Queryable } from '../db.js';
import type { DeliveryState } from './types.js';

export interface DeliveryView {
  id: number;
  tenant_id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  ordering_key: string | null;
  sequence: number | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

/** Columns of DeliveryView over DELIVERY_VIEW_FROM (delivery_status: see migration 006). */
export const DELIVERY_VIEW_COLUMNS = `d.id, d.tenant_id, ev.id AS event_id, ev.type AS event_type, d.endpoint_id,
  d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.ordering_key, d.sequence,
  d.created_at, d.updated_at, d.completed_at`;

export const DELIVERY_VIEW_FROM = 'delivery_status d JOIN events ev ON ev.seq = d.event_seq';

const DELIVERY_VIEW = `SELECT ${DELIVERY_VIEW_COLUMNS} FROM ${DELIVERY_VIEW_FROM}`;

export async function deliveriesOfEvent(q: Queryable, eventSeq: number): Promise<DeliveryView[]> {
  return q.query<DeliveryView>(`${DELIVERY_VIEW} WHERE d.event_seq = $1 ORDER BY d.id`, [eventSeq]);
}

export async function getDelivery(
  q: Queryable,
  tenantId: string,
  id: number,
): Promise<DeliveryView | undefined> {
  const rows = await q.query<DeliveryView>(`${DELIVERY_VIEW} WHERE d.tenant_id = $1 AND d.id = $2`, [
    tenantId,
    id,
  ]);
  return rows[0];
}

export interface AttemptView {
  attempt: number;
  started_at: Date;
  duration_ms: number;
  url: string;
  status: number | null;
  request_headers: Record<string, string> | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  error: string | null;
  /** sha256 (hex) of the exact body sent; null when nothing was sent. */
  body_sha256: string | null;
}

export async function attemptsOf(q: Queryable, deliveryId: number): Promise<AttemptView[]> {
  return q.query<AttemptView>(
    `SELECT attempt, started_at, duration_ms, url, status, request_headers, response_headers, response_body, error,
            body_sha256
     FROM attempts WHERE delivery_id = $1 ORDER BY id`,
    [deliveryId],
  );
}

export interface SentBody {
  attempt: number;
  started_at: Date;
  body_sha256: string | null;
  /** The kept body, compressed; null once retention (or an erase) removed it. */
  packed: Buffer | null;
}

/**
 * What an attempt of a delivery sent (the last one, or attempt `n`): its hash and its kept
 * body. The body travels as base64 text, one form on both engines.
 */
export async function sentBody(q: Queryable, deliveryId: number, n?: number): Promise<SentBody | undefined> {
  const rows = await q.query<Omit<SentBody, 'packed'> & { packed: string | null }>(
    `SELECT a.attempt, a.started_at, a.body_sha256, encode(b.body, 'base64') AS packed
     FROM attempts a LEFT JOIN attempt_bodies b ON b.attempt_id = a.id
     WHERE a.delivery_id = $1 AND ($2::int IS NULL OR a.attempt = $2)
     ORDER BY a.id DESC LIMIT 1`,
    [deliveryId, n ?? null],
  );
  const r = rows[0];
  return r && { ...r, packed: r.packed === null ? null : Buffer.from(r.packed, 'base64') };
}
