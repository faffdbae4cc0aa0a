// Deliveries that gave up, waiting for the operator's notice (tidings.delivery.failed). The
// ack writes a row in the statement that records the give-up (see ack.ts); whoever publishes
// the notices takes rows here, in the transaction that publishes them, so each is told once.
import type { Queryable } from './db.js';

export interface DeliveryFailure {
  delivery_id: number;
  tenant_id: string;
  endpoint_id: string;
  url: string;
  event_id: string;
  event_type: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  failed_at: Date;
}

/**
 * Takes up to `limit` rows, oldest first, and returns what their notices say. Rows are locked
 * SKIP LOCKED and deleted here, so two workers draining at once never take the same one; the
 * caller publishes in the same transaction (a rollback puts the rows back). Rows of the
 * operator's own tenant are dropped without a notice (a notice about a notice that could not
 * be delivered would loop), and so are rows whose delivery or endpoint was deleted meanwhile.
 */
export async function takeDeliveryFailures(
  q: Queryable,
  operatorTenant: string,
  limit: number,
): Promise<{ taken: number; failures: DeliveryFailure[] }> {
  const taken = await q.query<{ delivery_id: number; tenant_id: string; failed_at: Date }>(
    `DELETE FROM delivery_failures f
     WHERE f.delivery_id IN (SELECT delivery_id FROM delivery_failures ORDER BY failed_at, delivery_id LIMIT $1
                             FOR UPDATE SKIP LOCKED)
     RETURNING f.delivery_id, f.tenant_id, f.failed_at`,
    [limit],
  );
  const told = taken.filter((t) => t.tenant_id !== operatorTenant);
  if (told.length === 0) return { taken: taken.length, failures: [] };
  const failures = await q.query<DeliveryFailure>(
    `SELECT d.id AS delivery_id, d.tenant_id, d.endpoint_id, f.failed_at, e.url, ev.id AS event_id,
            ev.type AS event_type, d.attempts, d.last_status, d.last_error
     FROM unnest($1::bigint[], $2::timestamptz[]) AS f(delivery_id, failed_at)
     JOIN deliveries d ON d.id = f.delivery_id
     JOIN events ev ON ev.seq = d.event_seq
     JOIN endpoints e ON e.id = d.endpoint_id
     ORDER BY f.failed_at, d.id`,
    [told.map((t) => t.delivery_id), told.map((t) => t.failed_at)],
  );
  return { taken: taken.length, failures };
}
