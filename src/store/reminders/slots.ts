// Planned reminder slots: the scheduler's claim, their writes, leases and back-offs. Written
// only under the anchor's row lock (see anchors.ts).
import type { Queryable } from '../db.js';
import { type AnchorKey, qualified, SLOT_COLUMNS, type SlotWrite, type StoredSlot } from './types.js';

/**
 * Claims anchors that have due slots, for one scheduler batch.
 *
 * The inner query reads the due slice through reminder_slots_due (planned, due_at <= now),
 * oldest first, skipping slots leased for a refresh or backing off. It looks at more slots
 * (`candidates`) than the batch takes, so that several schedulers, each skipping the anchors
 * the others hold (FOR UPDATE SKIP LOCKED on the anchor row), still find work in the same
 * slice. LIMIT applies after the skip. Nothing waits: a locked anchor is someone else's.
 */
export async function claimDueAnchors(
  q: Queryable,
  o: { now: Date; limit: number; candidates: number },
): Promise<AnchorKey[]> {
  return q.query<AnchorKey>(
    `SELECT a.tenant_id, a.anchor_id FROM reminder_anchors a
     WHERE (a.tenant_id, a.anchor_id) IN (
       SELECT s.tenant_id, s.anchor_id FROM reminder_slots s
       WHERE s.state = 'planned' AND s.due_at <= $1 AND (s.locked_until IS NULL OR s.locked_until <= $1)
       ORDER BY s.due_at
       LIMIT $2)
     LIMIT $3
     FOR UPDATE OF a SKIP LOCKED`,
    [o.now, o.candidates, o.limit],
  );
}

/**
 * The slots planning must know about: every planned slot of the anchors, every offset
 * slot (few per anchor, and a fired one is never planned again), and periodic slots from
 * `periodicSince` on (older periods are behind any horizon planned now). Reads the unique
 * index (tenant_id, anchor_id, slot_key) by its prefix.
 */
export async function loadSlots(
  q: Queryable,
  anchors: AnchorKey[],
  periodicSince: Date,
): Promise<StoredSlot[]> {
  if (anchors.length === 0) return [];
  return q.query<StoredSlot>(
    `SELECT ${qualified('s', SLOT_COLUMNS)}
     FROM unnest($1::text[], $2::text[]) AS k(tenant_id, anchor_id)
     -- LATERAL: an index range per anchor, never a scan of every slot (see loadPlanningAnchors).
     CROSS JOIN LATERAL (
       SELECT * FROM reminder_slots x
       WHERE x.tenant_id = k.tenant_id AND x.anchor_id = k.anchor_id
         AND (x.state = 'planned' OR x.slot_key NOT LIKE 'periodic:%' OR x.due_at >= $3)
       OFFSET 0
     ) s`,
    [anchors.map((a) => a.tenant_id), anchors.map((a) => a.anchor_id), periodicSince],
  );
}

/** Every slot of one anchor, in time order (for the API). */
export async function slotsOfAnchor(q: Queryable, tenantId: string, anchorId: string): Promise<StoredSlot[]> {
  return q.query<StoredSlot>(
    `SELECT ${SLOT_COLUMNS} FROM reminder_slots WHERE tenant_id = $1 AND anchor_id = $2
     ORDER BY due_at, slot_key`,
    [tenantId, anchorId],
  );
}

/**
 * Writes slot states: existing rows by id (an update is cheaper than a conflicting insert),
 * new ones inserted. A fired or skipped slot is final: the WHERE on both paths leaves it
 * alone, so a late or repeated write can never plan or fire it again. A slot that leaves
 * 'planned' or moves to another time drops its lease. The caller holds the anchors' locks.
 */
export async function writeSlots(q: Queryable, writes: SlotWrite[], now: Date): Promise<void> {
  const updates = writes.filter((w) => w.id !== undefined);
  const inserts = writes.filter((w) => w.id === undefined);
  if (updates.length > 0) {
    await q.query(
      `UPDATE reminder_slots s SET
         due_at = w.due_at, state = w.state, reason = w.reason, event_id = w.event_id, fired_at = w.fired_at,
         late = w.late,
         locked_until = CASE WHEN w.state = 'planned' AND w.due_at = s.due_at THEN s.locked_until END,
         locked_by = CASE WHEN w.state = 'planned' AND w.due_at = s.due_at THEN s.locked_by END,
         updated_at = $9
       FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                   $7::boolean[], $8::text[])
         AS w(id, due_at, state, reason, event_id, fired_at, late, slot_key)
       WHERE s.id = w.id AND s.slot_key = w.slot_key AND s.state IN ('planned', 'cancelled')`,
      [
        updates.map((w) => w.id),
        updates.map((w) => w.due_at),
        updates.map((w) => w.state),
        updates.map((w) => w.reason),
        updates.map((w) => w.event_id ?? null),
        updates.map((w) => w.fired_at ?? null),
        updates.map((w) => w.late ?? null),
        updates.map((w) => w.slot_key),
        now,
      ],
    );
  }
  if (inserts.length === 0) return;
  await q.query(
    `INSERT INTO reminder_slots AS s (tenant_id, anchor_id, slot_key, due_at, state, reason, event_id, fired_at, late,
                                      created_at, updated_at)
     SELECT tenant_id, anchor_id, slot_key, due_at, state, reason, event_id, fired_at, late, $10, $10
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
                 $8::timestamptz[], $9::boolean[])
       AS w(tenant_id, anchor_id, slot_key, due_at, state, reason, event_id, fired_at, late)
     ON CONFLICT (tenant_id, anchor_id, slot_key) DO UPDATE SET
       due_at = EXCLUDED.due_at, state = EXCLUDED.state, reason = EXCLUDED.reason,
       event_id = EXCLUDED.event_id, fired_at = EXCLUDED.fired_at, late = EXCLUDED.late,
       locked_until = NULL, locked_by = NULL, updated_at = EXCLUDED.updated_at
     WHERE s.state IN ('planned', 'cancelled')`,
    [
      inserts.map((w) => w.tenant_id),
      inserts.map((w) => w.anchor_id),
      inserts.map((w) => w.slot_key),
      inserts.map((w) => w.due_at),
      inserts.map((w) => w.state),
      inserts.map((w) => w.reason),
      inserts.map((w) => w.event_id ?? null),
      inserts.map((w) => w.fired_at ?? null),
      inserts.map((w) => w.late ?? null),
      now,
    ],
  );
}

export interface SlotRef {
  tenant_id: string;
  anchor_id: string;
  slot_key: string;
}

function refArrays(refs: SlotRef[]): [string[], string[], string[]] {
  return [refs.map((r) => r.tenant_id), refs.map((r) => r.anchor_id), refs.map((r) => r.slot_key)];
}

/**
 * Leases planned slots to one scheduler while it asks the producer's refresh_url: the
 * claim passes them by until `until`, when another scheduler may take them over.
 */
export async function leaseSlots(
  q: Queryable,
  refs: SlotRef[],
  until: Date,
  by: string,
  now: Date,
): Promise<void> {
  if (refs.length === 0) return;
  await q.query(
    `UPDATE reminder_slots s SET locked_until = $4, locked_by = $5, updated_at = $6
     FROM unnest($1::text[], $2::text[], $3::text[]) AS r(tenant_id, anchor_id, slot_key)
     WHERE s.tenant_id = r.tenant_id AND s.anchor_id = r.anchor_id AND s.slot_key = r.slot_key
       AND s.state = 'planned'`,
    [...refArrays(refs), until, by, now],
  );
}

/** A refresh (or planning) failed: the slots wait until `until`, with the error shown. */
export async function backOffSlots(
  q: Queryable,
  refs: SlotRef[],
  until: Date,
  error: string,
  now: Date,
): Promise<void> {
  if (refs.length === 0) return;
  await q.query(
    `UPDATE reminder_slots s SET locked_until = $4, locked_by = NULL, last_error = $5,
            refresh_attempts = s.refresh_attempts + 1, updated_at = $6
     FROM unnest($1::text[], $2::text[], $3::text[]) AS r(tenant_id, anchor_id, slot_key)
     WHERE s.tenant_id = r.tenant_id AND s.anchor_id = r.anchor_id AND s.slot_key = r.slot_key
       AND s.state = 'planned'`,
    [...refArrays(refs), until, error, now],
  );
}

/** How many slots are planned and due (for metrics and the benchmark). */
export async function countDueSlots(q: Queryable, now: Date): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM reminder_slots WHERE state = 'planned' AND due_at <= $1`,
    [now],
  );
  return rows[0]?.n ?? 0;
}
