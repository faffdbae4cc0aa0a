// Parked endpoints: fault isolation. When something about one endpoint makes a claim or an
// ack statement fail (a value that cannot be computed, a row that cannot be read, a secret
// that cannot be opened), that endpoint is parked with the error and leaves delivery; every
// other endpoint goes on. An update of the endpoint un-parks it.
import type { Queryable } from './db.js';

/** Parks an endpoint: the claim skips it, its marks go. Returns false if it was parked already. */
export async function parkEndpoint(
  q: Queryable,
  endpointId: string,
  error: string,
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `WITH parked AS (
       UPDATE endpoint_state SET faulted_at = $3, fault = $2
       WHERE endpoint_id = $1 AND faulted_at IS NULL
       RETURNING endpoint_id
     ), marks AS (
       DELETE FROM endpoint_turns WHERE endpoint_id IN (SELECT endpoint_id FROM parked)
     )
     SELECT endpoint_id FROM parked`,
    [endpointId, error.slice(0, 2000), now],
  );
  return rows.length > 0;
}

export async function unparkEndpoint(q: Queryable, endpointId: string): Promise<void> {
  await q.query(
    'UPDATE endpoint_state SET faulted_at = NULL, fault = NULL WHERE endpoint_id = $1 AND faulted_at IS NOT NULL',
    [endpointId],
  );
}
