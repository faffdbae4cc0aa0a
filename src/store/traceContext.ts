// Trace contexts kept with events, so that an attempt's span links to the span that
// published its event, in whichever process the attempt runs. Used only when tracing is on.
import type { Queryable } from './db.js';

export interface EventTraceContext {
  tenantId: string;
  eventId: string;
  /** W3C traceparent: 00-<trace id>-<span id>-<flags>. */
  traceContext: string;
}

/**
 * Stores the trace context of events just written, in the publish transaction. Looked up by
 * the unique index events_tenant_id; the rows were inserted by this transaction, so no other
 * writer holds them.
 */
export async function saveTraceContexts(q: Queryable, rows: readonly EventTraceContext[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `UPDATE events e SET trace_context = u.trace_context
     FROM unnest($1::text[], $2::text[], $3::text[]) AS u(tenant_id, id, trace_context)
     WHERE e.tenant_id = u.tenant_id AND e.id = u.id`,
    [rows.map((r) => r.tenantId), rows.map((r) => r.eventId), rows.map((r) => r.traceContext)],
  );
}

/** The stored trace contexts of these events (tenant id, event id), through events_tenant_id. */
export async function traceContextsOf(
  q: Queryable,
  refs: readonly { tenantId: string; eventId: string }[],
): Promise<EventTraceContext[]> {
  if (refs.length === 0) return [];
  const rows = await q.query<{ tenant_id: string; id: string; trace_context: string }>(
    `SELECT e.tenant_id, e.id, e.trace_context
     FROM unnest($1::text[], $2::text[]) AS r(tenant_id, id)
     JOIN events e ON e.tenant_id = r.tenant_id AND e.id = r.id
     WHERE e.trace_context IS NOT NULL`,
    [refs.map((r) => r.tenantId), refs.map((r) => r.eventId)],
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, eventId: r.id, traceContext: r.trace_context }));
}
