// Reconciliation: what a tenant was owed in a window of time, for a receiver to check its
// receipts against. An event is owed when it was created in [since, until) and fanned out to a
// delivery (to the given endpoint, or to any of the tenant's). Ids are compared in byte order
// (COLLATE "C"), the order a receiver gets from a plain sort of its own list, so that both
// sides can walk the window in the same pages.
//
// The window is read through events_created (or events_tenant_seq, as the planner finds
// cheaper) and each event's deliveries through deliveries_event; a page sorts the window's
// owed ids after its cursor and keeps the first ones (a top-N sort, memory bounded by the
// page). A page costs one read of the window: reconcile a day, not a month, at a time.
import type { Queryable } from './db.js';

export interface OwedWindow {
  tenantId: string;
  since: Date;
  until: Date;
  /** Only deliveries to this endpoint count; undefined: any of the tenant's endpoints. */
  endpointId?: string | undefined;
}

const OWED = `FROM events e
  WHERE e.tenant_id = $1 AND e.created_at >= $2 AND e.created_at < $3
    AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND ($4::text IS NULL OR d.endpoint_id = $4))`;

/** The owed ids after `after` (byte order), the first `limit` of them, sorted. */
export async function owedIds(
  q: Queryable,
  w: OwedWindow,
  after: string | null,
  limit: number,
): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `SELECT e.id ${OWED}
       AND ($5::text IS NULL OR e.id COLLATE "C" > $5)
     ORDER BY e.id COLLATE "C"
     LIMIT $6`,
    [w.tenantId, w.since, w.until, w.endpointId ?? null, after, limit],
  );
  return rows.map((r) => r.id);
}

/**
 * How many events the window owes, and the sha256 (hex) of their ids sorted in byte order and
 * joined with "\n": what a receiver computes over the ids it kept, to learn in one call
 * whether anything is missing. One statement; the database sorts and hashes.
 */
export async function owedDigest(q: Queryable, w: OwedWindow): Promise<{ count: number; sha256: string }> {
  const rows = await q.query<{ count: number; sha256: string }>(
    `SELECT count(*)::int AS count,
            encode(sha256(convert_to(coalesce(string_agg(e.id, E'\\n' ORDER BY e.id COLLATE "C"), ''), 'UTF8')), 'hex') AS sha256
     ${OWED}`,
    [w.tenantId, w.since, w.until, w.endpointId ?? null],
  );
  return rows[0] ?? { count: 0, sha256: '' };
}

/** The deliveries of these events (to the endpoint, when given), for a requeue. */
export async function deliveriesOfEvents(
  q: Queryable,
  tenantId: string,
  eventIds: string[],
  endpointId?: string,
): Promise<number[]> {
  if (eventIds.length === 0) return [];
  const rows = await q.query<{ id: number }>(
    `SELECT d.id FROM events e JOIN deliveries d ON d.event_seq = e.seq
     WHERE e.tenant_id = $1 AND e.id = ANY($2::text[]) AND ($3::text IS NULL OR d.endpoint_id = $3)
     ORDER BY d.id`,
    [tenantId, eventIds, endpointId ?? null],
  );
  return rows.map((r) => r.id);
}
