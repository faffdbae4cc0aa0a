// Reminder anchors (a due date, a delinquency) and the locks that guard their slots.
// Locking rule (see 003_reminders.sql): the slots of an anchor are written only by a
// transaction that holds the anchor's row lock. The API takes it by writing the anchor or
// with lockAnchors; the scheduler with claimDueAnchors (slots.ts: SKIP LOCKED, so it never waits).
import type { Queryable } from '../db.js';
import { decodeCursor, type Page, pageOf } from '../page.js';
import {
  ANCHOR_COLUMNS,
  type Anchor,
  type AnchorInput,
  type AnchorKey,
  type PlanningAnchor,
  qualified,
  RULE_COLUMNS,
  type StoredCalendar,
  type StoredRule,
} from './types.js';

/**
 * Locks, in key order, the open anchors a rule governs: for a subject rule the anchors of
 * that subject; for the default ('') every anchor of the type whose subject has no rule of
 * its own. Key order makes two concurrent rule changes queue rather than deadlock.
 */
export async function lockAnchorsOfRule(
  q: Queryable,
  tenantId: string,
  eventType: string,
  subject: string,
): Promise<AnchorKey[]> {
  return q.query<AnchorKey>(
    `SELECT a.tenant_id, a.anchor_id FROM reminder_anchors a
     WHERE a.tenant_id = $1 AND a.event_type = $2 AND a.resolved_at IS NULL
       AND CASE WHEN $3 = '' THEN NOT EXISTS (
             SELECT 1 FROM reminder_rules r
             WHERE r.tenant_id = a.tenant_id AND r.event_type = a.event_type AND r.subject = a.subject)
           ELSE a.subject = $3 END
     ORDER BY a.anchor_id
     FOR UPDATE OF a`,
    [tenantId, eventType, subject],
  );
}

/** Locks, in key order, every open anchor of a tenant (a calendar change re-plans them). */
export async function lockOpenAnchorsOfTenant(q: Queryable, tenantId: string): Promise<AnchorKey[]> {
  return q.query<AnchorKey>(
    `SELECT tenant_id, anchor_id FROM reminder_anchors
     WHERE tenant_id = $1 AND resolved_at IS NULL ORDER BY anchor_id FOR UPDATE`,
    [tenantId],
  );
}

/** Locks the given anchors, waiting for them, in key order. */
export async function lockAnchors(q: Queryable, keys: AnchorKey[]): Promise<AnchorKey[]> {
  return q.query<AnchorKey>(
    `SELECT a.tenant_id, a.anchor_id FROM reminder_anchors a
     JOIN unnest($1::text[], $2::text[]) AS k(tenant_id, anchor_id) USING (tenant_id, anchor_id)
     ORDER BY a.tenant_id, a.anchor_id
     FOR UPDATE OF a`,
    [keys.map((k) => k.tenant_id), keys.map((k) => k.anchor_id)],
  );
}

/**
 * Inserts or replaces an anchor (and so locks its row until the transaction ends). The
 * version goes up when anything changed; a resolved anchor stays resolved.
 */
export async function upsertAnchor(
  q: Queryable,
  a: AnchorInput,
  now: Date,
): Promise<{ anchor: Anchor; created: boolean }> {
  const rows = await q.query<Anchor & { created: boolean }>(
    `INSERT INTO reminder_anchors AS x (tenant_id, anchor_id, event_type, subject, at, time_zone, window_start,
                                        window_end, payload, channels, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
     ON CONFLICT (tenant_id, anchor_id) DO UPDATE SET
       event_type = EXCLUDED.event_type, subject = EXCLUDED.subject, at = EXCLUDED.at,
       time_zone = EXCLUDED.time_zone, window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
       payload = EXCLUDED.payload, channels = EXCLUDED.channels,
       -- A repeated PUT (a producer retrying) is not a change.
       version = x.version + CASE WHEN (x.event_type, x.subject, x.at, x.time_zone, x.window_start, x.window_end,
                                         x.payload::text, x.channels)
                                       IS NOT DISTINCT FROM
                                       (EXCLUDED.event_type, EXCLUDED.subject, EXCLUDED.at, EXCLUDED.time_zone,
                                        EXCLUDED.window_start, EXCLUDED.window_end, EXCLUDED.payload::text,
                                        EXCLUDED.channels)
                                  THEN 0 ELSE 1 END,
       updated_at = EXCLUDED.updated_at
     RETURNING ${ANCHOR_COLUMNS}, (xmax = 0) AS created`,
    [
      a.tenant_id,
      a.anchor_id,
      a.event_type,
      a.subject,
      a.at,
      a.time_zone,
      a.window_start,
      a.window_end,
      a.payload,
      a.channels,
      now,
    ],
  );
  const { created, ...anchor } = rows[0]!;
  return { anchor, created };
}

/**
 * Many anchors at once, for bulk loads (benchmark, imports): plain inserts, existing ids
 * left alone. Returns the keys inserted; plan them with the planner in the same transaction.
 */
export async function insertAnchors(q: Queryable, anchors: AnchorInput[], now: Date): Promise<AnchorKey[]> {
  if (anchors.length === 0) return [];
  return q.query<AnchorKey>(
    `INSERT INTO reminder_anchors (tenant_id, anchor_id, event_type, subject, at, time_zone, window_start,
                                   window_end, payload, channels, created_at, updated_at)
     SELECT tenant_id, anchor_id, event_type, subject, at, time_zone, window_start, window_end, payload,
            ARRAY(SELECT json_array_elements_text(channels)), $11, $11
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                 $7::timestamptz[], $8::timestamptz[], $9::json[], $10::json[])
       AS i(tenant_id, anchor_id, event_type, subject, at, time_zone, window_start, window_end, payload, channels)
     ON CONFLICT DO NOTHING
     RETURNING tenant_id, anchor_id`,
    [
      anchors.map((a) => a.tenant_id),
      anchors.map((a) => a.anchor_id),
      anchors.map((a) => a.event_type),
      anchors.map((a) => a.subject),
      anchors.map((a) => a.at),
      anchors.map((a) => a.time_zone),
      anchors.map((a) => a.window_start),
      anchors.map((a) => a.window_end),
      anchors.map((a) => a.payload),
      anchors.map((a) => JSON.stringify(a.channels)),
      now,
    ],
  );
}

export async function getAnchor(
  q: Queryable,
  tenantId: string,
  anchorId: string,
): Promise<Anchor | undefined> {
  const rows = await q.query<Anchor>(
    `SELECT ${ANCHOR_COLUMNS} FROM reminder_anchors WHERE tenant_id = $1 AND anchor_id = $2`,
    [tenantId, anchorId],
  );
  return rows[0];
}

export interface AnchorFilter {
  eventType?: string;
  subject?: string;
  /** true: open anchors only; false: resolved only. */
  open?: boolean;
}

/** A tenant's anchors by id. */
export async function listAnchors(
  q: Queryable,
  tenantId: string,
  filter: AnchorFilter,
  limit: number,
  cursor?: string,
): Promise<Page<Anchor> | undefined> {
  let after: string | undefined;
  if (cursor) {
    const parts = decodeCursor(cursor, ['string']);
    if (!parts) return undefined;
    after = parts[0] as string;
  }
  const rows = await q.query<Anchor>(
    `SELECT ${ANCHOR_COLUMNS} FROM reminder_anchors
     WHERE tenant_id = $1 AND ($2::text IS NULL OR anchor_id > $2)
       AND ($3::text IS NULL OR event_type = $3) AND ($4::text IS NULL OR subject = $4)
       AND ($5::boolean IS NULL OR $5 = (resolved_at IS NULL))
     ORDER BY anchor_id LIMIT $6`,
    [
      tenantId,
      after ?? null,
      filter.eventType ?? null,
      filter.subject ?? null,
      filter.open ?? null,
      limit + 1,
    ],
  );
  return pageOf(rows, limit, (a) => [a.anchor_id]);
}

/**
 * Marks anchors resolved (and locks them); already resolved ones keep their first
 * resolution. Returns the keys of the anchors that exist.
 */
export async function resolveAnchors(
  q: Queryable,
  keys: AnchorKey[],
  resolution: string,
  now: Date,
): Promise<AnchorKey[]> {
  return q.query<AnchorKey>(
    `UPDATE reminder_anchors a
     SET resolved_at = coalesce(a.resolved_at, $3), resolution = coalesce(a.resolution, $4),
         updated_at = CASE WHEN a.resolved_at IS NULL THEN $3 ELSE a.updated_at END
     FROM unnest($1::text[], $2::text[]) AS k(tenant_id, anchor_id)
     WHERE a.tenant_id = k.tenant_id AND a.anchor_id = k.anchor_id
     RETURNING a.tenant_id, a.anchor_id`,
    [keys.map((k) => k.tenant_id), keys.map((k) => k.anchor_id), now, resolution],
  );
}

/**
 * Anchors with their effective rule (the subject's own, else the tenant default for the
 * type) and their tenant's calendar. Three plain statements: a batch has many anchors but
 * few distinct rules and calendars, and per-row subqueries cost more than they save.
 */
export async function loadPlanningAnchors(q: Queryable, keys: AnchorKey[]): Promise<PlanningAnchor[]> {
  if (keys.length === 0) return [];
  const anchors = await q.query<Anchor>(
    `SELECT ${qualified('a', ANCHOR_COLUMNS)}
     FROM unnest($1::text[], $2::text[]) AS k(tenant_id, anchor_id)
     -- LATERAL: one primary-key lookup per key, whatever the table's statistics say (a
     -- fresh bulk load has none, and a merge join would read the whole table per batch).
     CROSS JOIN LATERAL (
       SELECT * FROM reminder_anchors x WHERE x.tenant_id = k.tenant_id AND x.anchor_id = k.anchor_id
       OFFSET 0 -- keeps the planner from flattening this back into a join
     ) a`,
    [keys.map((k) => k.tenant_id), keys.map((k) => k.anchor_id)],
  );
  if (anchors.length === 0) return [];
  const wanted = new Map<string, [string, string, string]>();
  for (const a of anchors) {
    for (const subject of [a.subject, ''])
      wanted.set(ruleRef(a.tenant_id, a.event_type, subject), [a.tenant_id, a.event_type, subject]);
  }
  const list = [...wanted.values()];
  const rules = await q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules
     WHERE (tenant_id, event_type, subject) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
    [list.map((r) => r[0]), list.map((r) => r[1]), list.map((r) => r[2])],
  );
  const calendars = await q.query<StoredCalendar>(
    'SELECT tenant_id, time_zone, weekend_days, holidays, updated_at FROM reminder_calendars WHERE tenant_id = ANY($1::text[])',
    [[...new Set(anchors.map((a) => a.tenant_id))]],
  );
  const ruleBy = new Map(rules.map((r) => [ruleRef(r.tenant_id, r.event_type, r.subject), r]));
  const calendarBy = new Map(calendars.map((c) => [c.tenant_id, c]));
  return anchors.map((a) => ({
    ...a,
    rule:
      ruleBy.get(ruleRef(a.tenant_id, a.event_type, a.subject)) ??
      ruleBy.get(ruleRef(a.tenant_id, a.event_type, '')) ??
      null,
    calendar: calendarBy.get(a.tenant_id) ?? null,
  }));
}

function ruleRef(tenantId: string, eventType: string, subject: string): string {
  return `${tenantId}\u0000${eventType}\u0000${subject}`;
}
