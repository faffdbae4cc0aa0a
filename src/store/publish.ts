// Publishing: events, their deliveries, the work queue and the turn marks in one statement.
import type { NamedSql, Queryable } from './db.js';
import { EVENT_COLUMNS, type PublishInput, type PublishOutcome, type StoredEvent } from './events.js';

/**
 * One statement per batch of events (autocommit or in the caller's transaction; named):
 *
 * - ins: the events, in input order. ON CONFLICT DO NOTHING covers both unique indexes (id and
 *   idempotency key); inputs that were not inserted are repeats (or conflicts), looked up
 *   afterwards. An event for a tenant that does not exist is not written (no foreign key on
 *   this hot table: see migration 006).
 * - matched: one delivery per (event, matching endpoint); an addressed event (a test event)
 *   goes to its endpoint alone. Types: an endpoint without a list gets every default-enabled
 *   type, and the opt-in types its tenant configured as reminders (Canopy's
 *   notification_config); with a list, exactly the names on it, `topic.*` patterns, or `*`
 *   (opt-in types too). Channels: an endpoint without a list gets events on any channel; with
 *   a list, events tagged with at least one of them. Then the payload filter, a jsonpath
 *   predicate compiled when the endpoint was written. Disabled endpoints get their
 *   deliveries too: they wait, and re-enabling delivers them.
 * - numbered: ordered deliveries (ordering 'key' and an ordering_key, or ordering 'endpoint',
 *   whose key is '') are numbered per (endpoint, key) from ordering_keys, which also counts
 *   the key's unfinished deliveries. The upsert locks each key in key order and sees the
 *   latest committed row, so "the count was 0" is exact: then the first new delivery of the
 *   key is its head and due now; the others wait (due_at NULL) until promoted (ordering.ts).
 * - dl/qd/mk: the delivery records, their queue rows, and one turn mark per endpoint with due
 *   work, at the latest due time among them (no mark may be earlier than work it stands for).
 *   No row that other publishes or acks need is locked (ordered keys aside).
 * - refused: with $13 (all or nothing, the batch route), an input that was not inserted fails
 *   the whole statement, so the batch needs no transaction of its own when all is new.
 */
/** What a whole-batch publish fails with when one of its inputs was not inserted. */
const WHOLE_REFUSED = 'tidings:not_all_inserted:';

const PUBLISH: NamedSql = {
  name: 'tidings_publish_v3',
  text: `
WITH i AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::json[], $5::json[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::timestamptz[], $11::text[], $12::text[]) WITH ORDINALITY
    AS i(tenant_id, id, type, payload, channels, ordering_key, idempotency_key, request_hash, source, created_at,
         target, trace_context, ord)
), ins AS (
  INSERT INTO events (tenant_id, id, type, payload, channels, ordering_key, idempotency_key, request_hash, source,
                      created_at, trace_context)
  SELECT i.tenant_id, i.id, i.type, i.payload, ARRAY(SELECT json_array_elements_text(i.channels)), i.ordering_key,
         i.idempotency_key, i.request_hash, i.source, i.created_at, i.trace_context
  FROM i WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = i.tenant_id)
  ORDER BY i.ord
  ON CONFLICT DO NOTHING
  -- Not the payload: the publisher has it, and parsing it back would cost for nothing.
  RETURNING seq, tenant_id, id, type, NULL::json AS payload, channels, ordering_key, idempotency_key, source, created_at
), matched AS (
  SELECT ins.tenant_id, ins.seq, ep.id AS endpoint_id, ins.created_at,
         CASE WHEN ep.ordering = 'endpoint' THEN '' ELSE ins.ordering_key END AS okey,
         (ep.ordering = 'endpoint' OR (ep.ordering = 'key' AND ins.ordering_key IS NOT NULL)) AS ordered
  FROM ins
  -- An id repeated within the batch was inserted once: its first input says where it goes.
  -- The payload as jsonb (for the filters) only where the tenant has a filtered endpoint:
  -- one probe of endpoints_filtered per event, and no parse at all for tenants without filters.
  JOIN (SELECT DISTINCT ON (tenant_id, id) tenant_id, id, target,
               CASE WHEN EXISTS (SELECT 1 FROM endpoints f WHERE f.tenant_id = i.tenant_id AND f.filter_path IS NOT NULL)
                    THEN payload::jsonb END AS doc
        FROM i ORDER BY tenant_id, id, ord) i
    ON i.tenant_id = ins.tenant_id AND i.id = ins.id
  JOIN event_types et ON et.name = ins.type
  JOIN endpoints ep ON ep.tenant_id = ins.tenant_id
  WHERE CASE
          WHEN i.target IS NOT NULL THEN ep.id = i.target
          -- An opt-in type the tenant configured as a reminder (Canopy's notification_config)
          -- is part of what an endpoint without a list takes.
          WHEN ep.event_types IS NULL THEN et.default_enabled
            OR EXISTS (SELECT 1 FROM reminder_rules r WHERE r.tenant_id = ins.tenant_id AND r.event_type = ins.type)
          ELSE EXISTS (SELECT 1 FROM unnest(ep.event_types) p
                       WHERE p = ins.type OR p = '*' OR (p LIKE '%.*' AND starts_with(ins.type, left(p, -1))))
        END
    AND (i.target IS NOT NULL OR ep.channels IS NULL OR ep.channels && ins.channels)
    -- The payload filter, last, compiled when the endpoint was written (api/payloadFilter.ts);
    -- silent: a payload the path cannot be applied to is "no match", never an error.
    AND (i.target IS NOT NULL OR ep.filter_path IS NULL OR jsonb_path_match(i.doc, ep.filter_path, '{}', true))
), per_key AS (
  SELECT endpoint_id, okey, count(*)::int AS n FROM matched WHERE ordered GROUP BY endpoint_id, okey
), numbered AS (
  INSERT INTO ordering_keys AS o (endpoint_id, key, last_sequence, unfinished)
  SELECT endpoint_id, okey, n, n FROM per_key ORDER BY endpoint_id, okey
  ON CONFLICT (endpoint_id, key) DO UPDATE
    SET last_sequence = o.last_sequence + EXCLUDED.last_sequence, unfinished = o.unfinished + EXCLUDED.unfinished
  RETURNING endpoint_id, key, last_sequence, unfinished
), ranked AS (
  SELECT m.tenant_id, m.seq, m.endpoint_id, m.created_at, m.okey, m.ordered,
         row_number() OVER (PARTITION BY m.endpoint_id, m.okey, m.ordered ORDER BY m.seq) AS k, pk.n,
         nb.last_sequence, nb.unfinished
  FROM matched m
  LEFT JOIN per_key pk ON m.ordered AND pk.endpoint_id = m.endpoint_id AND pk.okey = m.okey
  LEFT JOIN numbered nb ON m.ordered AND nb.endpoint_id = m.endpoint_id AND nb.key = m.okey
), placed AS MATERIALIZED (
  -- Each delivery's id is taken here, so that the record and its queue row are written from
  -- the same rows (joining the record's RETURNING back to them would be a join of two
  -- unindexed row sets: quadratic for a large fan-out).
  SELECT r.*, nextval(pg_get_serial_sequence('deliveries', 'id')) AS delivery_id,
         CASE WHEN r.ordered THEN r.last_sequence - r.n + r.k END AS sequence,
         CASE WHEN NOT r.ordered THEN r.created_at
              -- The key had nothing unfinished and this is its first new delivery: the head.
              WHEN r.unfinished - r.n = 0 AND r.k = 1 THEN r.created_at END AS due_at
  FROM ranked r
  ORDER BY r.seq, r.endpoint_id
), dl AS (
  INSERT INTO deliveries (id, tenant_id, event_seq, endpoint_id, state, ordering_key, sequence, created_at, updated_at)
  OVERRIDING SYSTEM VALUE
  SELECT p.delivery_id, p.tenant_id, p.seq, p.endpoint_id, 'pending', p.okey, p.sequence, p.created_at, p.created_at
  FROM placed p
  RETURNING event_seq
), qd AS (
  INSERT INTO delivery_queue (delivery_id, endpoint_id, tenant_id, due_at, ordering_key, sequence, created_at)
  SELECT p.delivery_id, p.endpoint_id, p.tenant_id, p.due_at, p.okey, p.sequence, p.created_at FROM placed p
), mk AS (
  -- One mark per endpoint, at the latest due time of the batch: a group commit joins publishes
  -- stamped a few ms apart, and a claim whose time fell between them would take the early
  -- rows, consume a mark at the earliest, and leave the later rows with no mark at all.
  INSERT INTO endpoint_turns (endpoint_id, due_at)
  SELECT endpoint_id, max(due_at) FROM placed WHERE due_at IS NOT NULL GROUP BY endpoint_id
)
SELECT ins.*, coalesce(c.n, 0) AS deliveries,
       -- All or nothing ($13): an input that was not inserted (a repeat, a conflict, no such
       -- tenant) fails the statement, so the ones that were are not committed either. A cast
       -- that fails at run time, named so the caller knows it (SQL has no RAISE).
       CASE WHEN $13::boolean AND (SELECT count(*) FROM ins) < (SELECT count(*) FROM i)
            THEN ('${WHOLE_REFUSED}' || ((SELECT count(*) FROM i) - (SELECT count(*) FROM ins)))::int END AS refused
FROM ins LEFT JOIN (SELECT event_seq, count(*)::int AS n FROM dl GROUP BY event_seq) c ON c.event_seq = ins.seq`,
};

/** The publish statement refused a whole batch (`whole`): nothing of it was written. */
export function isWholeBatchRefusal(err: unknown): boolean {
  return err instanceof Error && err.message.includes(WHOLE_REFUSED);
}

/**
 * Writes a batch of events and their deliveries in one statement (see PUBLISH). Each input
 * gets an outcome, in order. Repeats (same id or same idempotency key) create nothing; they
 * are looked up with one more statement each, off the common path. Also returns how many
 * deliveries were created (worth waking the workers for). `whole`: if any input is not
 * inserted, the statement fails (isWholeBatchRefusal) and writes nothing; when nothing at all
 * was inserted it does not fail (there is nothing to undo) and the outcomes say why.
 */
export async function publishEvents(
  q: Queryable,
  inputs: PublishInput[],
  o: { whole?: boolean } = {},
): Promise<{ outcomes: PublishOutcome[]; deliveries: number }> {
  const inserted = await q.query<StoredEvent & { deliveries: number; refused?: null }>(PUBLISH, [
    inputs.map((i) => i.tenantId),
    inputs.map((i) => i.id),
    inputs.map((i) => i.type),
    inputs.map((i) => i.payloadJson),
    inputs.map((i) => JSON.stringify(i.channels)),
    inputs.map((i) => i.orderingKey),
    inputs.map((i) => i.idempotencyKey),
    inputs.map((i) => i.requestHash),
    inputs.map((i) => i.source),
    inputs.map((i) => i.createdAt),
    inputs.map((i) => i.endpointId ?? null),
    inputs.map((i) => i.traceContext ?? null),
    o.whole === true,
  ]);
  for (const e of inserted) delete e.refused;
  const byKey = new Map(inserted.map((e) => [`${e.tenant_id}\u0000${e.id}`, e]));
  const outcomes: PublishOutcome[] = [];
  const taken = new Set<number>();
  for (const input of inputs) {
    const fresh = byKey.get(`${input.tenantId}\u0000${input.id}`);
    if (fresh && !taken.has(fresh.seq)) {
      taken.add(fresh.seq);
      const { deliveries, ...event } = fresh;
      outcomes.push({ kind: 'created', event, deliveries });
      continue;
    }
    outcomes.push(await repeatOutcome(q, input));
  }
  return { outcomes, deliveries: inserted.reduce((n, e) => n + e.deliveries, 0) };
}

/** An input that was not inserted: a repeat, a conflicting reuse of an id, or no such tenant. */
async function repeatOutcome(q: Queryable, input: PublishInput): Promise<PublishOutcome> {
  const rows = await q.query<StoredEvent & { request_hash: string; deliveries: number }>(
    `SELECT ${EVENT_COLUMNS}, request_hash,
            (SELECT count(*)::int FROM deliveries d WHERE d.event_seq = events.seq) AS deliveries
     FROM events
     WHERE tenant_id = $1 AND (id = $2 OR ($3::text IS NOT NULL AND idempotency_key = $3))
     ORDER BY (idempotency_key = $3) DESC NULLS LAST LIMIT 1`,
    [input.tenantId, input.id, input.idempotencyKey],
  );
  const existing = rows[0];
  if (!existing) return { kind: 'no_tenant' };
  const { request_hash, deliveries, ...event } = existing;
  if (request_hash !== input.requestHash) return { kind: 'conflict', event };
  return { kind: 'duplicate', event, deliveries };
}
