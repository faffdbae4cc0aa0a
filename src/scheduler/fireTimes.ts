// When reminders fire: anchor + offsets, or anchor + every period, in the anchor's time zone.
//
// Arithmetic (luxon semantics, relied on and tested):
// - minutes and hours are elapsed time: "2 hours" is 7,200,000 ms whatever the clocks do;
// - days, weeks, months and years are calendar arithmetic on the local wall clock: "1 day"
//   after 01:30 is 01:30 the next local day even when that day has 23 or 25 hours;
//   a wall time that does not exist (inside a spring-forward gap) moves forward by the gap
//   (02:30 → 03:30); an ambiguous one (fall-back) keeps the UTC offset the anchor had, when it can;
// - "1 month" from January 31 is the last day of February (luxon clamps to the month's end);
//   periodic slots are always computed from the anchor (anchor + n months), so a MONTHLY
//   rule from January 31 fires on February 29, March 31, April 30, not drifting to the 29th;
// - business days count per the calendar (calendar.ts), keeping the time of day.
// Business-day adjustment ("following"/"preceding") is applied after the offset. For HOURLY
// and DAILY rules a slot on a non-business day is dropped instead of moved: moved, it would
// land on a time the same rule already fires at. WEEKLY and MONTHLY slots move.
// An adjustment never carries a slot across the anchor: a reminder counted after the
// delinquency must not fire before it, nor one counted before a due date after it; when
// the chosen convention would cross, the other one is used.
// Nothing here reads the clock: `now`, `from` and `until` are parameters.
import { DateTime } from 'luxon';
import type { BusinessCalendar, BusinessDayConvention } from './calendar.js';
import { addBusinessDays, adjust, DEFAULT_CALENDAR, isBusinessDay } from './calendar.js';
import type { Offset, OffsetUnit, PeriodicInterval } from './offsets.js';

export interface Slot {
  /** Unique per anchor and rule: "offset:-2 days" or "periodic:N" (N = 0 is the anchor itself). */
  key: string;
  at: Date;
}

export interface DueSlot extends Slot {
  late: boolean;
}

/** What planSlots needs of a rule; a validated ReminderRule (rules.ts) fits. */
export interface SlotRule {
  offsets: readonly Offset[];
  /** When set, the rule is periodic and its offsets are ignored. */
  periodic_interval?: PeriodicInterval | null;
  business_days?: BusinessDayConvention | null;
}

export interface PlanInput {
  anchorAt: Date;
  /** IANA zone the arithmetic is done in. */
  timeZone: string;
  rule: SlotRule;
  /** Slots before windowStart or after windowEnd (both inclusive) are dropped. */
  windowStart?: Date;
  windowEnd?: Date;
  /** Defaults to DEFAULT_CALENDAR (Saturday and Sunday off, no holidays). */
  calendar?: BusinessCalendar;
  /** Overrides rule.business_days. */
  businessDays?: BusinessDayConvention | null;
  /** Periodic rules only: the horizon [from, until). Offsets are a finite list and all come back. */
  from?: Date;
  until: Date;
}

export interface CatchUp {
  /** Slots to fire now, in time order; late when fired more than graceMs after their time. */
  fire: DueSlot[];
  /** Missed periodic slots replaced by the latest one; record them as skipped. */
  superseded: Slot[];
}

/** Default tolerance before a fire counts as late: one scheduler poll going slowly is not late. */
export const LATE_GRACE_MS = 60_000;

/** A runaway horizon (HOURLY for decades) stops with an error instead of filling memory. */
export const MAX_PLANNED_SLOTS = 100_000;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Longest possible period, DST hour included; gives a safe first index for a late horizon. */
export const MAX_PERIOD_MS: Record<PeriodicInterval, number> = {
  HOURLY: HOUR_MS,
  DAILY: DAY_MS + HOUR_MS,
  WEEKLY: 7 * DAY_MS + HOUR_MS,
  MONTHLY: 31 * DAY_MS + HOUR_MS,
};
const MIN_PERIOD_MS: Record<PeriodicInterval, number> = {
  HOURLY: HOUR_MS,
  DAILY: DAY_MS - HOUR_MS,
  WEEKLY: 7 * DAY_MS - HOUR_MS,
  MONTHLY: 28 * DAY_MS - HOUR_MS,
};
/** How far a "following" adjustment may plausibly push a slot (a run of non-business days). */
const ADJUST_SLACK_MS = 15 * DAY_MS;

/** luxon's name for each calendar or clock unit; business days are counted by calendar.ts. */
const LUXON_UNIT = {
  minute: 'minutes',
  hour: 'hours',
  day: 'days',
  week: 'weeks',
  month: 'months',
  year: 'years',
} as const;

const PERIOD_UNIT: Record<PeriodicInterval, OffsetUnit> = {
  HOURLY: 'hour',
  DAILY: 'day',
  WEEKLY: 'week',
  MONTHLY: 'month',
};

export function applyOffset(
  anchor: DateTime,
  offset: Pick<Offset, 'sign' | 'amount' | 'unit'>,
  cal: BusinessCalendar = DEFAULT_CALENDAR,
): DateTime {
  const n = offset.sign * offset.amount;
  if (offset.unit === 'business_day') return addBusinessDays(anchor, n, cal);
  return anchor.plus({ [LUXON_UNIT[offset.unit]]: n });
}

/** Slot n of a periodic rule, always computed from the anchor (no drift). */
export function applyPeriod(anchor: DateTime, interval: PeriodicInterval, n: number): DateTime {
  return applyOffset(anchor, { sign: 1, amount: n, unit: PERIOD_UNIT[interval] });
}

export function offsetSlotKey(offset: Offset): string {
  return `offset:${offset.text}`;
}

export function periodicSlotKey(n: number): string {
  return `periodic:${n}`;
}

export function slotKind(key: string): 'offset' | 'periodic' {
  return key.startsWith('periodic:') ? 'periodic' : 'offset';
}

export function planSlots(input: PlanInput): Slot[] {
  const anchor = DateTime.fromJSDate(input.anchorAt, { zone: input.timeZone });
  if (!anchor.isValid)
    throw new RangeError(`planSlots: ${anchor.invalidExplanation ?? anchor.invalidReason}`);
  const cal = input.calendar ?? DEFAULT_CALENDAR;
  const convention =
    input.businessDays !== undefined ? input.businessDays : (input.rule.business_days ?? null);
  const lo = input.windowStart?.getTime() ?? -Infinity;
  const hi = input.windowEnd?.getTime() ?? Infinity;
  const slots = input.rule.periodic_interval
    ? planPeriodic(anchor, input.rule.periodic_interval, cal, convention, input)
    : planOffsets(
        anchor,
        input.rule.offsets,
        cal,
        convention,
        (t) => t.toMillis() >= lo && t.toMillis() <= hi,
      );
  return slots.sort(byTime);
}

function planOffsets(
  anchor: DateTime,
  offsets: readonly Offset[],
  cal: BusinessCalendar,
  convention: BusinessDayConvention | null,
  inWindow: (t: DateTime) => boolean,
): Slot[] {
  const byKey = new Map<string, Slot>();
  for (const offset of offsets) {
    const raw = applyOffset(anchor, offset, cal);
    const at = convention ? adjustBeside(raw, anchor, cal, convention) : raw;
    if (inWindow(at)) byKey.set(offsetSlotKey(offset), { key: offsetSlotKey(offset), at: at.toJSDate() });
  }
  return [...byKey.values()];
}

function planPeriodic(
  anchor: DateTime,
  interval: PeriodicInterval,
  cal: BusinessCalendar,
  convention: BusinessDayConvention | null,
  input: PlanInput,
): Slot[] {
  const drops = convention !== null && (interval === 'HOURLY' || interval === 'DAILY');
  const moves = convention !== null && !drops;
  const slack = moves ? ADJUST_SLACK_MS : 0;
  // The horizon [from, until) and the window [windowStart, windowEnd] as one half-open range.
  const from = Math.max(input.from?.getTime() ?? -Infinity, input.windowStart?.getTime() ?? -Infinity);
  const until = Math.min(input.until.getTime(), (input.windowEnd?.getTime() ?? Infinity) + 1);
  const span = until - Math.max(from, anchor.toMillis());
  if (span / MIN_PERIOD_MS[interval] > MAX_PLANNED_SLOTS) {
    throw new RangeError(`planSlots: more than ${MAX_PLANNED_SLOTS} periodic slots; plan a shorter horizon`);
  }
  // Slot n lies at most slack later than anchor + n × (longest period), so every index
  // below `first` is before `from`.
  const first = Math.max(0, Math.floor((from - anchor.toMillis() - slack) / MAX_PERIOD_MS[interval]));
  const place = (raw: DateTime): DateTime | null => {
    if (drops) return isBusinessDay(raw, cal) ? raw : null;
    return moves && convention ? adjustBeside(raw, anchor, cal, convention) : raw;
  };
  let previous = first > 0 && moves ? place(applyPeriod(anchor, interval, first - 1)) : null;
  const slots: Slot[] = [];
  for (let n = first; ; n++) {
    const raw = applyPeriod(anchor, interval, n);
    if (raw.toMillis() >= until + slack) break;
    const at = place(raw);
    if (at === null) continue;
    // A long run of holidays can push two WEEKLY/MONTHLY slots onto one day: fire it once.
    const repeat = previous !== null && previous.toMillis() === at.toMillis();
    previous = at;
    const t = at.toMillis();
    if (!repeat && t >= from && t < until) slots.push({ key: periodicSlotKey(n), at: at.toJSDate() });
  }
  return slots;
}

/** adjust(), but staying on the anchor's side: at or after it if raw is, at or before it otherwise. */
function adjustBeside(
  raw: DateTime,
  anchor: DateTime,
  cal: BusinessCalendar,
  convention: BusinessDayConvention,
): DateTime {
  const moved = adjust(raw, cal, convention);
  const [r, m, a] = [raw.toMillis(), moved.toMillis(), anchor.toMillis()];
  const crossed = r >= a ? m < a : m > a;
  return crossed ? adjust(raw, cal, convention === 'following' ? 'preceding' : 'following') : moved;
}

/**
 * Which of the given unfired slots fire at `now`. Every due offset slot fires once; of the
 * due periodic slots only the latest fires (one catch-up after downtime, not one per
 * missed period) and the others are superseded. Slots not yet due are left out of both.
 */
export function catchUp(slots: readonly Slot[], now: Date, options: { graceMs?: number } = {}): CatchUp {
  const graceMs = options.graceMs ?? LATE_GRACE_MS;
  const due = slots.filter((s) => s.at.getTime() <= now.getTime());
  const periodic = due.filter((s) => slotKind(s.key) === 'periodic').sort(byTime);
  const latest = periodic.at(-1);
  const fire = due
    .filter((s) => slotKind(s.key) === 'offset' || s === latest)
    .sort(byTime)
    .map((s) => ({ ...s, late: now.getTime() - s.at.getTime() > graceMs }));
  return { fire, superseded: periodic.slice(0, -1) };
}

/** Time order; ties (two offsets landing on one moment) by key, so plans compare equal. */
function byTime(a: Slot, b: Slot): number {
  return a.at.getTime() - b.at.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
