// Parked endpoints: fault isolation (issues 12 and 13). When something about one endpoint
// makes a claim or an ack statement fail (a value that cannot be computed, a row that cannot
// be read, a secret that cannot be opened), that endpoint is parked with the error and leaves
// delivery; every other endpoint goes on. The operator is told once per parking
// (tidings.endpoint.faulted: takeFaultNotices in health.ts), the endpoint's GET shows the
// fault, and an update of the endpoint un-parks it (store/endpoints.ts): the change may be
// the fix; if it is not, the engine parks it again with a fresh error.
import type { Queryable } from './db.js';

/** Longest error text kept with a parked endpoint. */
export const MAX_FAULT_TEXT = 2000;

/**
 * Parks an endpoint: the claim skips it, its marks go, the operator is owed a notice.
 * Returns false if it was parked already (the first fault is kept) or does not exist.
 */
export async function parkEndpoint(
  q: Queryable,
  endpointId: string,
  error: string,
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `WITH parked AS (
       UPDATE endpoint_state SET faulted_at = $3, fault = $2, fault_notified_at = NULL
       WHERE endpoint_id = $1 AND faulted_at IS NULL
       RETURNING endpoint_id
     ), marks AS (
       DELETE FROM endpoint_turns WHERE endpoint_id IN (SELECT endpoint_id FROM parked)
     )
     SELECT endpoint_id FROM parked`,
    [endpointId, error.slice(0, MAX_FAULT_TEXT) || 'unknown fault', now],
  );
  return rows.length > 0;
}

/** Clears an endpoint's fault (the caller marks it due). Returns whether it was parked. */
export async function unparkEndpoint(q: Queryable, endpointId: string): Promise<boolean> {
  const rows = await q.query(
    `UPDATE endpoint_state SET faulted_at = NULL, fault = NULL, fault_notified_at = NULL
     WHERE endpoint_id = $1 AND faulted_at IS NOT NULL
     RETURNING endpoint_id`,
    [endpointId],
  );
  return rows.length > 0;
}

/** How many endpoints are parked, for /readyz (through endpoint_state_faulted: parked rows only). */
export async function countParkedEndpoints(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM endpoint_state WHERE faulted_at IS NOT NULL',
  );
  return rows[0]?.n ?? 0;
}
