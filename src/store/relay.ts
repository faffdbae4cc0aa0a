// Relay endpoints (`tidings listen`, migration 016): who holds each one's stream, and the
// hand-off of signed requests between a worker and the API process holding the stream when
// they are different processes. None of this is on the hot path of HTTP endpoints: only a
// relay endpoint's deliveries reach these statements.
import type { Queryable } from './db.js';
import { deleteEndpoint } from './endpoints.js';

/** What the CLI said the local URL answered (or why it could not ask it). */
export interface RelayReport {
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  error: string | null;
}

export async function addRelayListener(
  q: Queryable,
  endpointId: string,
  tenantId: string,
  now: Date,
): Promise<void> {
  await q.query(
    'INSERT INTO relay_listeners (endpoint_id, tenant_id, holder, seen_at, created_at) VALUES ($1, $2, NULL, $3, $3)',
    [endpointId, tenantId, now],
  );
}

/** Whether this tenant has a relay endpoint of this id. */
export async function relayExists(q: Queryable, tenantId: string, endpointId: string): Promise<boolean> {
  const rows = await q.query('SELECT 1 FROM relay_listeners WHERE tenant_id = $1 AND endpoint_id = $2', [
    tenantId,
    endpointId,
  ]);
  return rows.length > 0;
}

/** The process holding the endpoint's stream, or null. */
export async function relayHolder(q: Queryable, endpointId: string): Promise<string | null> {
  const rows = await q.query<{ holder: string | null }>(
    'SELECT holder FROM relay_listeners WHERE endpoint_id = $1',
    [endpointId],
  );
  return rows[0]?.holder ?? null;
}

/** A stream opened (holder set) or closed (holder NULL); seen_at is now either way. */
export async function setRelayHolder(
  q: Queryable,
  endpointId: string,
  holder: string | null,
  now: Date,
): Promise<void> {
  await q.query('UPDATE relay_listeners SET holder = $2, seen_at = $3 WHERE endpoint_id = $1', [
    endpointId,
    holder,
    now,
  ]);
}

/** The holder's heartbeat for every stream it holds: one statement per process and period. */
export async function touchRelayListeners(
  q: Queryable,
  endpointIds: string[],
  holder: string,
  now: Date,
): Promise<void> {
  if (endpointIds.length === 0) return;
  await q.query('UPDATE relay_listeners SET holder = $2, seen_at = $3 WHERE endpoint_id = ANY($1::text[])', [
    endpointIds,
    holder,
    now,
  ]);
}

/**
 * Hands a request to whichever process holds the endpoint's stream: written only when a
 * holder's heartbeat is fresher than `freshAfter`. False: no stream is connected anywhere
 * (the worker fails the attempt like a refused connection).
 */
export async function offerRelayRequest(
  q: Queryable,
  r: { id: string; endpointId: string; message: string; now: Date; freshAfter: Date },
): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO relay_requests (id, endpoint_id, message, created_at)
     SELECT $1, $2, $3, $4
     WHERE EXISTS (SELECT 1 FROM relay_listeners
                   WHERE endpoint_id = $2 AND holder IS NOT NULL AND seen_at > $5)
     RETURNING id`,
    [r.id, r.endpointId, r.message, r.now, r.freshAfter],
  );
  return rows.length > 0;
}

/** The requests waiting for the streams this process holds, taken (each by one holder only). */
export async function takeRelayRequests(
  q: Queryable,
  endpointIds: string[],
  now: Date,
): Promise<{ id: string; endpoint_id: string; message: string }[]> {
  if (endpointIds.length === 0) return [];
  // relay_requests_waiting: only untaken rows are looked at; the UPDATE's row lock makes a
  // second holder of a stale stream skip what the first one took.
  return q.query(
    `UPDATE relay_requests SET taken_at = $2
     WHERE endpoint_id = ANY($1::text[]) AND taken_at IS NULL
     RETURNING id, endpoint_id, message`,
    [endpointIds, now],
  );
}

/** The CLI's report on a request handed over through the store. False: no such request waits. */
export async function answerRelayRequest(
  q: Queryable,
  endpointId: string,
  id: string,
  report: RelayReport,
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE relay_requests SET answered_at = $3, report = $4
     WHERE id = $1 AND endpoint_id = $2 AND answered_at IS NULL
     RETURNING id`,
    [id, endpointId, now, JSON.stringify(report)],
  );
  return rows.length > 0;
}

/** The reports that arrived for these requests, removed from the store as they are read. */
export async function collectRelayAnswers(
  q: Queryable,
  ids: string[],
): Promise<{ id: string; report: RelayReport }[]> {
  if (ids.length === 0) return [];
  return q.query(
    'DELETE FROM relay_requests WHERE id = ANY($1::text[]) AND answered_at IS NOT NULL RETURNING id, report',
    [ids],
  );
}

/** A request the worker gave up on (timeout): nobody will take or answer it. */
export async function withdrawRelayRequest(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM relay_requests WHERE id = $1', [id]);
}

/**
 * Removes a relay endpoint: the endpoint with its deliveries and attempts (as DELETE
 * …/endpoints/{eid} does), its listener row and its waiting requests. False: no such relay.
 */
export async function removeRelay(q: Queryable, tenantId: string, endpointId: string): Promise<boolean> {
  const rows = await q.query<{ endpoint_id: string }>(
    `WITH l AS (DELETE FROM relay_listeners WHERE tenant_id = $1 AND endpoint_id = $2 RETURNING endpoint_id),
          r AS (DELETE FROM relay_requests WHERE endpoint_id IN (SELECT endpoint_id FROM l))
     SELECT endpoint_id FROM l`,
    [tenantId, endpointId],
  );
  if (rows.length === 0) return false;
  await deleteEndpoint(q, tenantId, endpointId);
  return true;
}

/**
 * Relay endpoints whose stream has been gone since before `before` (a killed CLI, or a holder
 * that died), and listener rows whose endpoint was deleted through the endpoint routes.
 */
export async function expiredRelays(
  q: Queryable,
  before: Date,
  limit = 100,
): Promise<{ tenant_id: string; endpoint_id: string }[]> {
  return q.query(
    `SELECT l.tenant_id, l.endpoint_id FROM relay_listeners l
     WHERE l.seen_at < $1 OR NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = l.endpoint_id)
     ORDER BY l.seen_at LIMIT $2`,
    [before, limit],
  );
}
