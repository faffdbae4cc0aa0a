// From an anchor, its effective rule, its tenant's calendar and the slots already stored,
// decide the slots' next states: which to plan (or move), which to cancel, which a later
// periodic slot supersedes, and which fire now. Pure: the clock is the `now` parameter,
// and the store is read and written by the caller (planner.ts).
//
// Decisions:
// - a fired or skipped slot is final: replanning never touches it, so an anchor moved
//   after a reminder went out does not send that reminder twice;
// - a planned slot that the new plan no longer has is cancelled (rule or anchor changed,
//   anchor resolved); a cancelled slot the plan has again is planned again;
// - periodic rules are planned from one period before `now` to a few periods after
//   max(now, anchor), and further when that holds no future slot (a long holiday run with
//   business-day dropping), so periodic anchors cost a handful of rows each; the latest
//   due one fires and the older due ones are skipped as superseded (one catch-up);
// - periodic slot keys carry the interval ("periodic:DAILY:3"): switching DAILY to WEEKLY
//   is a new schedule, not a continuation of the old numbering.
import type { BusinessCalendar } from './calendar.js';
import { catchUp, type DueSlot, MAX_PERIOD_MS, planSlots, type Slot } from './fireTimes.js';
import { type ReminderRule, type ReminderSettings, validateRule } from './rules.js';

export type SlotState = 'planned' | 'fired' | 'skipped' | 'cancelled';

export interface PlanAnchor {
  event_type: string;
  at: Date;
  time_zone: string;
  window_start: Date | null;
  window_end: Date | null;
  resolved_at: Date | null;
}

export interface PlanRule {
  offsets: readonly string[];
  periodic_interval: string | null;
  business_days: string | null;
}

export interface KnownSlot {
  slot_key: string;
  due_at: Date;
  state: SlotState;
  locked_until: Date | null;
  locked_by: string | null;
}

export interface SlotChange {
  slot_key: string;
  due_at: Date;
  state: 'planned' | 'skipped' | 'cancelled';
  reason: string | null;
}

export interface Decision {
  /** Slots whose stored row must change (or be created). */
  changes: SlotChange[];
  /** Due slots to fire now, in time order (empty unless asked to fire). */
  fire: DueSlot[];
}

export interface DecideOptions {
  now: Date;
  /** The scheduler firing; false when only planning (API writes). */
  fire: boolean;
  /** Leases held by this scheduler do not keep a slot from firing. */
  schedulerId?: string;
}

/** Periodic rules are planned this many periods past max(now, anchor). */
export const HORIZON_PERIODS = 3;

/** How many times the horizon doubles looking for a future slot (3 periods × 2⁸ ≈ 768). */
const HORIZON_DOUBLINGS = 8;

/** Stored rules were validated when written; read back, any form is allowed. */
const ANY_FORM: ReminderSettings = { anchor: 'the anchor', negative_offsets: true, periodic: true };

/** The stored rule as planSlots wants it; throws on a rule that no longer parses. */
export function slotRule(rule: PlanRule, eventType: string): ReminderRule {
  const r = validateRule(
    {
      offsets: rule.offsets,
      periodic_interval: rule.periodic_interval,
      business_days: rule.business_days,
    },
    ANY_FORM,
    eventType,
  );
  if (!r.ok) throw new RangeError(`stored rule for ${eventType} no longer parses: ${r.message}`);
  return r.rule;
}

/** The slots the rule gives for the anchor, as seen at `now` (periodic: the horizon). */
export function planAnchor(
  anchor: PlanAnchor,
  rule: ReminderRule,
  calendar: BusinessCalendar | undefined,
  now: Date,
): Slot[] {
  const base = {
    anchorAt: anchor.at,
    timeZone: anchor.time_zone,
    rule,
    ...(anchor.window_start ? { windowStart: anchor.window_start } : {}),
    ...(anchor.window_end ? { windowEnd: anchor.window_end } : {}),
    ...(calendar ? { calendar } : {}),
  };
  const interval = rule.periodic_interval;
  if (!interval) return planSlots({ ...base, until: now });
  const period = MAX_PERIOD_MS[interval];
  const from = new Date(now.getTime() - period);
  let until = Math.max(now.getTime(), anchor.at.getTime()) + HORIZON_PERIODS * period;
  const end = anchor.window_end?.getTime() ?? Infinity;
  let slots: Slot[] = [];
  for (let i = 0; i <= HORIZON_DOUBLINGS; i++) {
    slots = planSlots({ ...base, from, until: new Date(until) });
    if (slots.some((s) => s.at.getTime() > now.getTime()) || until > end) break;
    until += until - from.getTime();
  }
  const prefix = `periodic:${interval}:`;
  return slots.map((s) => ({ key: s.key.replace('periodic:', prefix), at: s.at }));
}

/** What the rule gives for an anchor now, or why it gives nothing. */
export interface AnchorPlan {
  slots: Slot[];
  /** 'resolved' or 'no rule': whatever is still planned is cancelled. */
  stopped: string | null;
  /** "periodic:DAILY:" for a periodic rule: its planned slots left behind are superseded. */
  periodicPrefix: string | null;
}

/** planAnchor for a possibly resolved anchor and a possibly missing rule. */
export function anchorPlan(
  anchor: PlanAnchor,
  rule: ReminderRule | null,
  calendar: BusinessCalendar | undefined,
  now: Date,
): AnchorPlan {
  if (anchor.resolved_at !== null) return { slots: [], stopped: 'resolved', periodicPrefix: null };
  if (rule === null) return { slots: [], stopped: 'no rule', periodicPrefix: null };
  return {
    slots: planAnchor(anchor, rule, calendar, now),
    stopped: null,
    periodicPrefix: rule.periodic_interval ? `periodic:${rule.periodic_interval}:` : null,
  };
}

/** The next state of an anchor's slots, given its plan and the slots stored. */
export function decide(plan: AnchorPlan, known: readonly KnownSlot[], o: DecideOptions): Decision {
  const now = o.now.getTime();
  const changes: SlotChange[] = [];
  const byKey = new Map(known.map((s) => [s.slot_key, s]));
  const { stopped, periodicPrefix } = plan;

  // Planned (or to be planned) slots, with their times after this decision.
  const open: (Slot & { known: KnownSlot | undefined })[] = [];
  const planned = new Set<string>();
  for (const slot of plan.slots) {
    planned.add(slot.key);
    const k = byKey.get(slot.key);
    if (k && (k.state === 'fired' || k.state === 'skipped')) continue;
    open.push({ ...slot, known: k });
    if (!k || k.state === 'cancelled' || k.due_at.getTime() !== slot.at.getTime()) {
      changes.push({ slot_key: slot.key, due_at: slot.at, state: 'planned', reason: null });
    }
  }

  for (const k of known) {
    if (k.state !== 'planned' || planned.has(k.slot_key)) continue;
    // An older period of the same schedule, left behind the horizon: a later one replaces it.
    const behind =
      !stopped &&
      periodicPrefix !== null &&
      k.slot_key.startsWith(periodicPrefix) &&
      k.due_at.getTime() <= now;
    changes.push({
      slot_key: k.slot_key,
      due_at: k.due_at,
      state: behind ? 'skipped' : 'cancelled',
      reason: behind ? 'superseded' : (stopped ?? 'no longer planned'),
    });
  }

  if (!o.fire) return { changes, fire: [] };
  const free = (k: KnownSlot | undefined) =>
    !k?.locked_until ||
    k.locked_until.getTime() <= now ||
    (o.schedulerId !== undefined && k.locked_by === o.schedulerId);
  const due = open.filter((s) => s.at.getTime() <= now && free(s.known));
  const { fire, superseded } = catchUp(
    due.map((s) => ({ key: s.key, at: s.at })),
    o.now,
  );
  for (const s of superseded) {
    replace(changes, { slot_key: s.key, due_at: s.at, state: 'skipped', reason: 'superseded' });
  }
  return { changes, fire };
}

function replace(changes: SlotChange[], change: SlotChange): void {
  const i = changes.findIndex((c) => c.slot_key === change.slot_key);
  if (i >= 0) changes[i] = change;
  else changes.push(change);
}
