// The shapes of reminders in the store (rules, anchors, calendars, slots) and the column
// lists the queries of store/reminders/ select.

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

export const RULE_COLUMNS =
  'tenant_id, event_type, subject, offsets, periodic_interval, business_days, refresh_url, created_at, updated_at';
export const ANCHOR_COLUMNS = `tenant_id, anchor_id, event_type, subject, at, time_zone, window_start, window_end,
  payload::text AS payload, channels, resolved_at, resolution, version, created_at, updated_at`;
export const SLOT_COLUMNS = `id, tenant_id, anchor_id, slot_key, due_at, state, locked_until, locked_by, refresh_attempts,
  last_error, event_id, fired_at, late, reason`;

/** A column list with each column qualified by a table alias (for joins with unnest keys). */
export function qualified(alias: string, columns: string): string {
  return columns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}
