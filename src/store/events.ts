import type { Queryable } from './db.js';
import { markDue } from './deliveries.js';
import { type KeyRef, promoteHeads } from './ordering.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export interface PublishInput {
  tenantId: string;
  id: string;
  type: string;
  /** The payload's exact JSON text. */
  payloadJson: string;
  channels: string[];
  orderingKey: string | null;
  idempotencyKey: string | null;
  /** Fingerprint of the request; a repeat with another fingerprint is a conflict. */
  requestHash: string;
  source: string;
  createdAt: Date;
}

export interface StoredEvent {
  seq: number;
  tenant_id: string;
  id: string;
  type: string;
  payload: unknown;
  channels: string[];
  ordering_key: string | null;
  idempotency_key: string | null;
  source: string;
  created_at: Date;
}

export type PublishOutcome =
  | { kind: 'created'; event: StoredEvent; deliveries: number }
  | { kind: 'duplicate'; event: StoredEvent; deliveries: number }
  | { kind: 'conflict'; event: StoredEvent };

const EVENT_COLUMNS =
  'seq, tenant_id, id, type, payload, channels, ordering_key, idempotency_key, source, created_at';

/**
 * Writes a batch of events and their deliveries in the caller's transaction (one commit for
 * many publishers: group commit). Each input gets an outcome, in order. Repeats (same id or
 * same idempotency key) create nothing. Returns the endpoints that got new work, to wake.
 */
export async function publishEvents(
  q: Queryable,
  inputs: PublishInput[],
): Promise<{ outcomes: PublishOutcome[]; endpointIds: string[] }> {
  // ON CONFLICT DO NOTHING covers both unique indexes (id and idempotency key); rows that
  // were not inserted are looked up below and compared by request fingerprint.
  const inserted = await q.query<StoredEvent & { ord: number }>(
    `INSERT INTO events (tenant_id, id, type, payload, channels, ordering_key, idempotency_key, request_hash, source, created_at)
     SELECT tenant_id, id, type, payload, ARRAY(SELECT json_array_elements_text(channels)), ordering_key,
            idempotency_key, request_hash, source, created_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::json[], $5::json[], $6::text[], $7::text[], $8::text[],
                 $9::text[], $10::timestamptz[]) WITH ORDINALITY
       AS i(tenant_id, id, type, payload, channels, ordering_key, idempotency_key, request_hash, source, created_at, ord)
     ORDER BY ord
     ON CONFLICT DO NOTHING
     RETURNING ${EVENT_COLUMNS}`,
    [
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
    ],
  );
  const byKey = new Map(inserted.map((e) => [`${e.tenant_id}\u0000${e.id}`, e]));

  let counts = new Map<number, number>();
  let endpointIds: string[] = [];
  if (inserted.length > 0) {
    ({ counts, endpointIds } = await fanOut(
      q,
      inserted.map((e) => e.seq),
    ));
  }

  const outcomes: PublishOutcome[] = [];
  const claimed = new Set<number>();
  for (const input of inputs) {
    const fresh = byKey.get(`${input.tenantId}\u0000${input.id}`);
    if (fresh && !claimed.has(fresh.seq)) {
      claimed.add(fresh.seq);
      outcomes.push({ kind: 'created', event: fresh, deliveries: counts.get(fresh.seq) ?? 0 });
      continue;
    }
    const existing = await findExisting(q, input);
    if (!existing) throw new Error(`event ${input.id} was neither inserted nor found`);
    if (existing.request_hash !== input.requestHash) {
      outcomes.push({ kind: 'conflict', event: existing });
    } else {
      outcomes.push({
        kind: 'duplicate',
        event: existing,
        deliveries: await countDeliveries(q, existing.seq),
      });
    }
  }
  return { outcomes, endpointIds };
}

async function findExisting(
  q: Queryable,
  input: PublishInput,
): Promise<(StoredEvent & { request_hash: string }) | undefined> {
  const rows = await q.query<StoredEvent & { request_hash: string }>(
    `SELECT ${EVENT_COLUMNS}, request_hash FROM events
     WHERE tenant_id = $1 AND (id = $2 OR ($3::text IS NOT NULL AND idempotency_key = $3))
     ORDER BY (idempotency_key = $3) DESC NULLS LAST LIMIT 1`,
    [input.tenantId, input.id, input.idempotencyKey],
  );
  return rows[0];
}

async function countDeliveries(q: Queryable, seq: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM deliveries WHERE event_seq = $1',
    [seq],
  );
  return rows[0]?.n ?? 0;
}

/**
 * One delivery per (event, matching endpoint). Matching:
 * - types: an endpoint without a list gets every default-enabled type; with a list, exactly
 *   the names on it, `topic.*` patterns, or `*` for every type (opt-in ones too);
 * - channels: an endpoint without a list gets events on any channel; with a list, events
 *   tagged with at least one of them.
 * Disabled endpoints get their deliveries too: they wait, and re-enabling delivers them.
 *
 * Ordered deliveries (endpoint ordering 'key' and an event with an ordering_key, or
 * ordering 'endpoint') are numbered per (endpoint, key) from ordering_keys, in publish
 * order, and wait (next_attempt_at NULL) until they are the head of their key; see
 * store/ordering.ts. The counter upsert locks each key first; the head check runs as a
 * second statement, so that it sees an ack committed while we waited for that lock.
 */
async function fanOut(
  q: Queryable,
  seqs: number[],
): Promise<{ counts: Map<number, number>; endpointIds: string[] }> {
  const rows = await q.query<{
    event_seq: number;
    endpoint_id: string;
    ordering_key: string | null;
    sequence: number | null;
  }>(
    `WITH matched AS (
       SELECT ev.tenant_id, ev.seq, ep.id AS endpoint_id, ev.created_at,
              CASE WHEN ep.ordering = 'endpoint' THEN '' ELSE ev.ordering_key END AS okey,
              (ep.ordering = 'endpoint' OR (ep.ordering = 'key' AND ev.ordering_key IS NOT NULL)) AS ordered
       FROM events ev
       JOIN event_types et ON et.name = ev.type
       JOIN endpoints ep ON ep.tenant_id = ev.tenant_id
       WHERE ev.seq = ANY($1::bigint[])
         AND CASE WHEN ep.event_types IS NULL THEN et.default_enabled
             ELSE EXISTS (SELECT 1 FROM unnest(ep.event_types) p
                          WHERE p = ev.type OR p = '*'
                             OR (p LIKE '%.*' AND starts_with(ev.type, left(p, -1))))
             END
         AND (ep.channels IS NULL OR ep.channels && ev.channels)
     ), per_key AS (
       SELECT endpoint_id, okey, count(*) AS n FROM matched WHERE ordered GROUP BY endpoint_id, okey
     ), numbered AS (
       INSERT INTO ordering_keys AS o (endpoint_id, key, last_sequence)
       SELECT endpoint_id, okey, n FROM per_key ORDER BY endpoint_id, okey
       ON CONFLICT (endpoint_id, key) DO UPDATE SET last_sequence = o.last_sequence + EXCLUDED.last_sequence
       RETURNING endpoint_id, key, last_sequence
     )
     INSERT INTO deliveries (tenant_id, event_seq, endpoint_id, state, next_attempt_at, ordering_key, sequence,
                             created_at, updated_at)
     SELECT m.tenant_id, m.seq, m.endpoint_id, 'pending', CASE WHEN m.ordered THEN NULL ELSE m.created_at END,
            m.okey,
            CASE WHEN m.ordered THEN
              nb.last_sequence - pk.n + row_number() OVER (PARTITION BY m.endpoint_id, m.okey, m.ordered ORDER BY m.seq)
            END,
            m.created_at, m.created_at
     FROM matched m
     LEFT JOIN numbered nb ON m.ordered AND nb.endpoint_id = m.endpoint_id AND nb.key = m.okey
     LEFT JOIN per_key pk ON m.ordered AND pk.endpoint_id = m.endpoint_id AND pk.okey = m.okey
     ORDER BY m.seq, m.endpoint_id
     RETURNING event_seq, endpoint_id, ordering_key, sequence`,
    [seqs],
  );
  const counts = new Map<number, number>();
  const endpoints = new Set<string>();
  const orderedKeys: KeyRef[] = [];
  for (const r of rows) {
    counts.set(r.event_seq, (counts.get(r.event_seq) ?? 0) + 1);
    endpoints.add(r.endpoint_id);
    if (r.sequence !== null) orderedKeys.push({ endpointId: r.endpoint_id, key: r.ordering_key ?? '' });
  }
  const endpointIds = [...endpoints];
  if (endpointIds.length > 0) {
    const at = await batchTime(q, seqs);
    // The keys are locked by the upsert above; a head with nothing unfinished before it goes now.
    await promoteHeads(q, orderedKeys, at);
    // Make the endpoints visible to the claim (see markDue for the lock this relies on).
    await markDue(q, endpointIds, at);
  }
  return { counts, endpointIds };
}

async function batchTime(q: Queryable, seqs: number[]): Promise<Date> {
  const rows = await q.query<{ t: Date }>(
    'SELECT min(created_at) AS t FROM events WHERE seq = ANY($1::bigint[])',
    [seqs],
  );
  return rows[0]!.t;
}

export async function getEvent(q: Queryable, tenantId: string, id: string): Promise<StoredEvent | undefined> {
  const rows = await q.query<StoredEvent>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0];
}

export interface EventFilter {
  type?: string;
  channel?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** false: only events with at least one delivery that has not succeeded. */
  deliverySuccess?: boolean;
}

/** Newest first. */
export async function listEvents(
  q: Queryable,
  tenantId: string,
  filter: EventFilter,
  limit: number,
  cursor?: string,
): Promise<Page<StoredEvent> | undefined> {
  let before: number | undefined;
  if (cursor) {
    const parts = decodeCursor(cursor, ['number']);
    if (!parts) return undefined;
    before = parts[0] as number;
  }
  const rows = await q.query<StoredEvent>(
    `SELECT ${EVENT_COLUMNS} FROM events ev
     WHERE tenant_id = $1
       AND ($2::bigint IS NULL OR seq < $2)
       AND ($3::text IS NULL OR type = $3)
       AND ($4::text IS NULL OR $4 = ANY(channels))
       AND ($5::timestamptz IS NULL OR created_at > $5)
       AND ($6::timestamptz IS NULL OR created_at < $6)
       AND ($7::boolean IS NULL OR $7 = NOT EXISTS (
             SELECT 1 FROM deliveries d WHERE d.event_seq = ev.seq AND d.state <> 'succeeded'))
     ORDER BY seq DESC LIMIT $8`,
    [
      tenantId,
      before ?? null,
      filter.type ?? null,
      filter.channel ?? null,
      filter.createdAfter ?? null,
      filter.createdBefore ?? null,
      filter.deliverySuccess ?? null,
      limit + 1,
    ],
  );
  return pageOf(rows, limit, (e) => [e.seq]);
}
