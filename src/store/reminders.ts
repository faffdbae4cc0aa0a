// Reminders in the store: rules, anchors, business calendars and planned slots.
// Locking rule (see 003_reminders.sql): the slots of an anchor are written only by a
// transaction that holds the anchor's row lock. The API takes it by writing the anchor or
// with lockAnchors; the scheduler with claimDueAnchors (SKIP LOCKED, so it never waits).
import type { Queryable } from './db.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export type SlotState = 'planned' | 'fired' | 'skipped' | 'cancelled';

export interface AnchorKey {
  tenant_id: string;
  anchor_id: string;
}

export interface StoredRule {
  tenant_id: string;
  event_type: string;
  /** '' for the tenant's default rule of the type. */
  subject: string;
  offsets: string[];
  periodic_interval: string | null;
  business_days: string | null;
  refresh_url: string | null;
  created_at: Date;
  updated_at: Date;
}

export type RuleInput = Omit<StoredRule, 'created_at' | 'updated_at'>;

export interface Anchor {
  tenant_id: string;
  anchor_id: string;
  event_type: string;
  subject: string;
  at: Date;
  time_zone: string;
  window_start: Date | null;
  window_end: Date | null;
  /** The payload's exact JSON text. */
  payload: string;
  channels: string[];
  resolved_at: Date | null;
  resolution: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type AnchorInput = Omit<
  Anchor,
  'resolved_at' | 'resolution' | 'version' | 'created_at' | 'updated_at'
>;

export interface StoredCalendar {
  tenant_id: string;
  time_zone: string | null;
  weekend_days: number[];
  holidays: string[];
  updated_at: Date;
}

/** An anchor with what planning it needs: its effective rule and its tenant's calendar. */
export interface PlanningAnchor extends Anchor {
  rule: StoredRule | null;
  calendar: StoredCalendar | null;
}

export interface StoredSlot {
  id: number;
  tenant_id: string;
  anchor_id: string;
  slot_key: string;
  due_at: Date;
  state: SlotState;
  locked_until: Date | null;
  locked_by: string | null;
  refresh_attempts: number;
  last_error: string | null;
  event_id: string | null;
  fired_at: Date | null;
  late: boolean | null;
  reason: string | null;
}

/** The new state of one slot; written by writeSlots. */
export interface SlotWrite {
  /** The row's id when it exists (an update); absent for a new slot (an insert). */
  id?: number;
  tenant_id: string;
  anchor_id: string;
  slot_key: string;
  due_at: Date;
  state: SlotState;
  reason: string | null;
  event_id?: string | null;
  fired_at?: Date | null;
  late?: boolean | null;
}

const RULE_COLUMNS =
  'tenant_id, event_type, subject, offsets, periodic_interval, business_days, refresh_url, created_at, updated_at';
const ANCHOR_COLUMNS = `tenant_id, anchor_id, event_type, subject, at, time_zone, window_start, window_end,
  payload::text AS payload, channels, resolved_at, resolution, version, created_at, updated_at`;
const SLOT_COLUMNS = `id, tenant_id, anchor_id, slot_key, due_at, state, locked_until, locked_by, refresh_attempts,
  last_error, event_id, fired_at, late, reason`;

/** A column list with each column qualified by a table alias (for joins with unnest keys). */
function qualified(alias: string, columns: string): string {
  return columns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------- rules

export async function putRule(
  q: Queryable,
  r: RuleInput,
  now: Date,
): Promise<{ rule: StoredRule; created: boolean }> {
  const rows = await q.query<StoredRule & { created: boolean }>(
    `INSERT INTO reminder_rules (tenant_id, event_type, subject, offsets, periodic_interval, business_days,
                                 refresh_url, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
     ON CONFLICT (tenant_id, event_type, subject) DO UPDATE SET
       offsets = EXCLUDED.offsets, periodic_interval = EXCLUDED.periodic_interval,
       business_days = EXCLUDED.business_days, refresh_url = EXCLUDED.refresh_url, updated_at = EXCLUDED.updated_at
     RETURNING ${RULE_COLUMNS}, (xmax = 0) AS created`,
    [
      r.tenant_id,
      r.event_type,
      r.subject,
      r.offsets,
      r.periodic_interval,
      r.business_days,
      r.refresh_url,
      now,
    ],
  );
  const { created, ...rule } = rows[0]!;
  return { rule, created };
}

export async function getRule(
  q: Queryable,
  tenantId: string,
  eventType: string,
  subject: string,
): Promise<StoredRule | undefined> {
  const rows = await q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules WHERE tenant_id = $1 AND event_type = $2 AND subject = $3`,
    [tenantId, eventType, subject],
  );
  return rows[0];
}

/** A tenant's rules; `subject` '' lists the defaults only, undefined lists all. */
export async function listRules(
  q: Queryable,
  tenantId: string,
  filter: { eventType?: string; subject?: string },
): Promise<StoredRule[]> {
  return q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules
     WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2) AND ($3::text IS NULL OR subject = $3)
     ORDER BY event_type, subject`,
    [tenantId, filter.eventType ?? null, filter.subject ?? null],
  );
}

/**
 * A page of a tenant's rules in (event_type, subject) order, through the primary key; the
 * tenant defaults alone when `defaultsOnly` (subject '').
 */
export async function listRulesPage(
  q: Queryable,
  tenantId: string,
  filter: { eventType?: string; subject?: string; defaultsOnly?: boolean },
  limit: number,
  cursor?: string,
): Promise<Page<StoredRule> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['string', 'string']);
    if (!after) return undefined;
  }
  const subject = filter.defaultsOnly ? '' : (filter.subject ?? null);
  const rows = await q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules
     WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2) AND ($3::text IS NULL OR subject = $3)
       AND ($4::text IS NULL OR (event_type, subject) > ($4, $5::text))
     ORDER BY event_type, subject LIMIT $6`,
    [tenantId, filter.eventType ?? null, subject, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  return pageOf(rows, limit, (r) => [r.event_type, r.subject]);
}

export async function deleteRule(
  q: Queryable,
  tenantId: string,
  eventType: string,
  subject: string,
): Promise<boolean> {
  const rows = await q.query(
    'DELETE FROM reminder_rules WHERE tenant_id = $1 AND event_type = $2 AND subject = $3 RETURNING 1',
    [tenantId, eventType, subject],
  );
  return rows.length > 0;
}

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

// -------------------------------------------------------------------------------- anchors

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

// ------------------------------------------------------------------------------ calendars

export async function getCalendar(q: Queryable, tenantId: string): Promise<StoredCalendar | undefined> {
  const rows = await q.query<StoredCalendar>(
    'SELECT tenant_id, time_zone, weekend_days, holidays, updated_at FROM reminder_calendars WHERE tenant_id = $1',
    [tenantId],
  );
  return rows[0];
}

export async function putCalendar(
  q: Queryable,
  c: Omit<StoredCalendar, 'updated_at'>,
  now: Date,
): Promise<StoredCalendar> {
  const rows = await q.query<StoredCalendar>(
    `INSERT INTO reminder_calendars (tenant_id, time_zone, weekend_days, holidays, updated_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, weekend_days = EXCLUDED.weekend_days,
       holidays = EXCLUDED.holidays, updated_at = EXCLUDED.updated_at
     RETURNING tenant_id, time_zone, weekend_days, holidays, updated_at`,
    [c.tenant_id, c.time_zone, c.weekend_days, c.holidays, now],
  );
  return rows[0]!;
}

// ---------------------------------------------------------------------------------- slots

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
