// Putting failed work back in the queue, and taking a blocking delivery out of it.
import type { Queryable } from './db.js';
import { type RequeuedRow, settleRequeued } from './deliveries.js';

/**
 * Queues again every failed delivery of one endpoint created at or after `since` (through
 * deliveries_failed, which holds only failed rows). Each gets one more attempt: if that
 * fails too it is failed again, as a resend would be. Ordered deliveries go back in
 * sequence order, their heads first. A disabled endpoint keeps them until it is enabled.
 */
export async function requeueFailed(
  q: Queryable,
  tenantId: string,
  endpointId: string,
  since: Date,
  now: Date,
): Promise<number> {
  const rows = await q.query<RequeuedRow>(
    `UPDATE deliveries SET state = 'pending', next_attempt_at = CASE WHEN sequence IS NULL THEN $4::timestamptz END,
       updated_at = $4, completed_at = NULL
     WHERE endpoint_id = $2 AND tenant_id = $1 AND state = 'failed' AND created_at >= $3
     RETURNING endpoint_id, ordering_key, sequence`,
    [tenantId, endpointId, since, now],
  );
  if (rows.length > 0) await settleRequeued(q, rows, now);
  return rows.length;
}

export type SkipOutcome = 'skipped' | 'in_flight' | 'finished' | 'not_found';

/**
 * Gives up on one delivery for good (cancelled): the way to release an ordering key whose
 * head failed and should not be sent again. The next delivery of the key becomes due.
 */
export async function skipDelivery(
  q: Queryable,
  tenantId: string,
  id: number,
  now: Date,
): Promise<SkipOutcome> {
  const rows = await q.query<RequeuedRow>(
    `UPDATE deliveries SET state = 'cancelled', next_attempt_at = NULL, updated_at = $3, completed_at = $3
     WHERE tenant_id = $1 AND id = $2 AND state IN ('pending', 'failed')
     RETURNING endpoint_id, ordering_key, sequence`,
    [tenantId, id, now],
  );
  if (rows.length > 0) {
    await settleRequeued(q, rows, now);
    return 'skipped';
  }
  const found = await q.query<{ state: string }>(
    'SELECT state FROM deliveries WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
  if (!found[0]) return 'not_found';
  return found[0].state === 'delivering' ? 'in_flight' : 'finished';
}
