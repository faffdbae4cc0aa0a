// Parked endpoints (fault isolation, issue 13). An endpoint whose configuration or data the
// engine cannot compute with (a claim or an ack threw for it: a corrupt row, a value out of
// range, a profile that throws) is parked: it leaves delivery with the error recorded, so
// that one endpoint's fault never aborts the work of every other endpoint. The operator is
// told once (tidings.endpoint.faulted, see takeFaultNotices in health.ts), the endpoint's GET
// shows the fault, and any PATCH of the endpoint un-parks it (unparkEndpoint): the change
// may be the fix, and if it is not, the engine parks it again with a fresh error.
import type { Queryable } from './db.js';

/** Longest error text kept with a parked endpoint. */
export const MAX_FAULT_TEXT = 2000;

/**
 * Parks an endpoint: records the error and takes it out of the claim's queue (next_due_at
 * NULL). The first fault is kept while it stays parked; returns false when it was parked
 * already (or does not exist). Runs in the caller's transaction, which may hold the row
 * (a claim that locked it FOR UPDATE).
 */
export async function parkEndpoint(
  q: Queryable,
  endpointId: string,
  error: string,
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE endpoint_state SET faulted_at = $3, fault = $2, fault_notified_at = NULL, next_due_at = NULL
     WHERE endpoint_id = $1 AND faulted_at IS NULL
     RETURNING endpoint_id`,
    [endpointId, error.slice(0, MAX_FAULT_TEXT) || 'unknown fault', now],
  );
  return rows.length > 0;
}

/**
 * Un-parks an endpoint (its PATCH, in the same transaction): the fault is cleared and what
 * waited is due now. Returns whether it was parked.
 */
export async function unparkEndpoint(q: Queryable, endpointId: string, now: Date): Promise<boolean> {
  const rows = await q.query(
    `UPDATE endpoint_state
     SET faulted_at = NULL, fault = NULL, fault_notified_at = NULL, next_due_at = least(coalesce(next_due_at, $2), $2)
     WHERE endpoint_id = $1 AND faulted_at IS NOT NULL
     RETURNING endpoint_id`,
    [endpointId, now],
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
