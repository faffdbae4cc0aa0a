// A tenant's business calendar: which weekdays are weekend and which dates are holidays.
// Which date a moment falls on is read in the calendar's own time zone when it has one
// (a bank's holidays are the bank's dates), otherwise in the moment's zone; moving to
// another day keeps the local time of day there. Results come back in the zone they came in.
// Calendars are plain values; nothing here reads the clock.
import { DateTime, IANAZone } from 'luxon';
import { fail } from './offsets.js';

export interface BusinessCalendar {
  time_zone?: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  weekend_days: number[];
  /** YYYY-MM-DD dates in the calendar's zone. */
  holidays: string[];
}

export type BusinessDayConvention = 'following' | 'preceding';

export const DEFAULT_CALENDAR: BusinessCalendar = { weekend_days: [6, 7], holidays: [] };

export type CalendarResult = { ok: true; calendar: BusinessCalendar } | { ok: false; message: string };

/** Longest search for a business day; only a calendar made almost entirely of holidays reaches it. */
const MAX_SEARCH_DAYS = 3_660;

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/**
 * Checks and normalises a calendar as a tenant sends it (`PUT /v1/tenants/{tid}/calendar`):
 * weekend_days defaults to Saturday and Sunday; holidays are sorted and de-duplicated.
 */
export function validateCalendar(input: {
  time_zone?: string | null;
  weekend_days?: readonly number[] | null;
  holidays?: readonly string[] | null;
}): CalendarResult {
  const weekend = [...new Set(input.weekend_days ?? DEFAULT_CALENDAR.weekend_days)].sort((a, b) => a - b);
  const badDay = weekend.find((d) => !Number.isInteger(d) || d < 1 || d > 7);
  if (badDay !== undefined) {
    return fail(`weekend_days: ${badDay} is not an ISO weekday (1 = Monday … 7 = Sunday)`);
  }
  if (weekend.length === 7) return fail('weekend_days: at least one day of the week must be a business day');
  const holidays = [...new Set(input.holidays ?? [])].sort();
  for (const h of holidays) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(h) || !DateTime.fromISO(h, { zone: 'UTC' }).isValid) {
      return fail(`holidays: "${h}" is not a date written YYYY-MM-DD`);
    }
  }
  const calendar: BusinessCalendar = { weekend_days: weekend, holidays };
  if (input.time_zone != null) {
    if (!isValidTimeZone(input.time_zone)) {
      return fail(`time_zone: "${input.time_zone}" is not an IANA time zone (e.g. "America/Chicago")`);
    }
    calendar.time_zone = input.time_zone;
  }
  return { ok: true, calendar };
}

export function isBusinessDay(dt: DateTime, cal: BusinessCalendar): boolean {
  const local = inCalendarZone(dt, cal);
  return !cal.weekend_days.includes(local.weekday) && !cal.holidays.includes(local.toISODate() ?? '');
}

/** The same moment if it is on a business day, else the next (following) or previous (preceding) one. */
export function adjust(dt: DateTime, cal: BusinessCalendar, convention: BusinessDayConvention): DateTime {
  if (isBusinessDay(dt, cal)) return dt;
  return step(dt, cal, convention === 'following' ? 1 : -1, 1);
}

/**
 * n business days later (earlier when n < 0), keeping the local time of day. Counting
 * starts from the day after (before), so Saturday + 1 is Monday and Saturday − 1 is Friday;
 * n = 0 returns dt unchanged (rolling a weekend date is `adjust`'s job).
 */
export function addBusinessDays(dt: DateTime, n: number, cal: BusinessCalendar): DateTime {
  if (!Number.isInteger(n)) throw new RangeError(`addBusinessDays: ${n} is not a whole number`);
  if (n === 0) return dt;
  return step(dt, cal, n > 0 ? 1 : -1, Math.abs(n));
}

function step(dt: DateTime, cal: BusinessCalendar, direction: 1 | -1, count: number): DateTime {
  const local = inCalendarZone(dt, cal);
  let found = 0;
  // Each candidate is computed from the start, not from the previous candidate, so a DST
  // gap crossed on the way (02:30 becoming 03:30) does not shift every later day too.
  for (let k = 1; k <= count + MAX_SEARCH_DAYS; k++) {
    const candidate = local.plus({ days: direction * k });
    if (isBusinessDay(candidate, cal) && ++found === count) return candidate.setZone(dt.zone);
  }
  throw new RangeError(
    `the business calendar has no business day within ${MAX_SEARCH_DAYS} days of ${dt.toISO()}`,
  );
}

function inCalendarZone(dt: DateTime, cal: BusinessCalendar): DateTime {
  return cal.time_zone ? dt.setZone(cal.time_zone) : dt;
}
