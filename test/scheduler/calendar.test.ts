import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { BusinessCalendar } from '../../src/scheduler/calendar.js';
import {
  addBusinessDays,
  adjust,
  DEFAULT_CALENDAR,
  isBusinessDay,
  isValidTimeZone,
  validateCalendar,
} from '../../src/scheduler/calendar.js';

const CHICAGO = 'America/Chicago';
// Labor Day 2024 is Monday September 2, right after the weekend of August 31 / September 1.
const US_BANK: BusinessCalendar = { weekend_days: [6, 7], holidays: ['2024-09-02'] };

function chicago(iso: string): DateTime {
  return DateTime.fromISO(iso, { zone: CHICAGO });
}

/** Local wall time with offset, e.g. "2024-09-03T10:00:00.000-05:00". */
function local(dt: DateTime): string | null {
  return dt.toISO();
}

describe('isBusinessDay', () => {
  it('knows weekends and holidays', () => {
    expect(isBusinessDay(chicago('2024-08-30T10:00'), US_BANK)).toBe(true); // Friday
    expect(isBusinessDay(chicago('2024-08-31T10:00'), US_BANK)).toBe(false); // Saturday
    expect(isBusinessDay(chicago('2024-09-01T10:00'), US_BANK)).toBe(false); // Sunday
    expect(isBusinessDay(chicago('2024-09-02T10:00'), US_BANK)).toBe(false); // Labor Day
    expect(isBusinessDay(chicago('2024-09-02T10:00'), DEFAULT_CALENDAR)).toBe(true);
    expect(isBusinessDay(chicago('2024-09-03T10:00'), US_BANK)).toBe(true); // Tuesday
  });

  it('honours other weekends (Friday and Saturday)', () => {
    const cal: BusinessCalendar = { weekend_days: [5, 6], holidays: [] };
    expect(isBusinessDay(chicago('2024-08-30T10:00'), cal)).toBe(false);
    expect(isBusinessDay(chicago('2024-09-01T10:00'), cal)).toBe(true);
  });

  it("reads the date in the calendar's zone when it has one", () => {
    // Friday 22:00 in Los Angeles is already Saturday 01:00 in New York.
    const friday = DateTime.fromISO('2024-08-30T22:00', { zone: 'America/Los_Angeles' });
    expect(isBusinessDay(friday, { ...US_BANK, time_zone: 'America/New_York' })).toBe(false);
    expect(isBusinessDay(friday, US_BANK)).toBe(true);
  });
});

describe('adjust', () => {
  it('moves a Saturday across the weekend and a holiday Monday, keeping the time of day', () => {
    const saturday = chicago('2024-08-31T10:00');
    expect(local(adjust(saturday, US_BANK, 'following'))).toBe('2024-09-03T10:00:00.000-05:00');
    expect(local(adjust(saturday, US_BANK, 'preceding'))).toBe('2024-08-30T10:00:00.000-05:00');
    const laborDay = chicago('2024-09-02T08:15');
    expect(local(adjust(laborDay, US_BANK, 'following'))).toBe('2024-09-03T08:15:00.000-05:00');
    expect(local(adjust(laborDay, US_BANK, 'preceding'))).toBe('2024-08-30T08:15:00.000-05:00');
  });

  it('leaves a business day alone', () => {
    const tuesday = chicago('2024-09-03T10:00');
    expect(adjust(tuesday, US_BANK, 'following')).toBe(tuesday);
    expect(adjust(tuesday, US_BANK, 'preceding')).toBe(tuesday);
  });

  it('keeps the local time of day across a DST change', () => {
    // Saturday 2024-03-09 is CST (-06:00); the next Monday is CDT (-05:00).
    const saturday = chicago('2024-03-09T09:00');
    expect(local(adjust(saturday, DEFAULT_CALENDAR, 'following'))).toBe('2024-03-11T09:00:00.000-05:00');
  });

  it("moves within the calendar's zone and answers in the moment's zone", () => {
    const friday = DateTime.fromISO('2024-08-30T22:00', { zone: 'America/Los_Angeles' });
    const moved = adjust(friday, { ...US_BANK, time_zone: 'America/New_York' }, 'following');
    // Saturday 01:00 New York → Tuesday 01:00 New York = Monday 22:00 Los Angeles.
    expect(moved.zoneName).toBe('America/Los_Angeles');
    expect(local(moved)).toBe('2024-09-02T22:00:00.000-07:00');
  });

  it('gives up with an error on a calendar without business days', () => {
    const never: BusinessCalendar = { weekend_days: [1, 2, 3, 4, 5, 6, 7], holidays: [] };
    expect(() => adjust(chicago('2024-08-31T10:00'), never, 'following')).toThrow(RangeError);
  });
});

describe('addBusinessDays', () => {
  it('counts forward over the weekend and the holiday', () => {
    const thursday = chicago('2024-08-29T10:00');
    expect(local(addBusinessDays(thursday, 1, US_BANK))).toBe('2024-08-30T10:00:00.000-05:00');
    expect(local(addBusinessDays(thursday, 2, US_BANK))).toBe('2024-09-03T10:00:00.000-05:00');
    expect(local(addBusinessDays(thursday, 3, US_BANK))).toBe('2024-09-04T10:00:00.000-05:00');
  });

  it('counts backward ("-3 business days")', () => {
    const wednesday = chicago('2024-09-04T10:00');
    expect(local(addBusinessDays(wednesday, -1, US_BANK))).toBe('2024-09-03T10:00:00.000-05:00');
    expect(local(addBusinessDays(wednesday, -2, US_BANK))).toBe('2024-08-30T10:00:00.000-05:00');
    expect(local(addBusinessDays(wednesday, -3, US_BANK))).toBe('2024-08-29T10:00:00.000-05:00');
  });

  it('starts counting from the next day when it starts on a day off', () => {
    const saturday = chicago('2024-08-31T10:00');
    expect(local(addBusinessDays(saturday, 1, US_BANK))).toBe('2024-09-03T10:00:00.000-05:00');
    expect(local(addBusinessDays(saturday, -1, US_BANK))).toBe('2024-08-30T10:00:00.000-05:00');
    expect(addBusinessDays(saturday, 0, US_BANK)).toBe(saturday);
  });

  it('does not let a DST gap on the way shift the time of later days', () => {
    // Friday 02:30; Sunday 2024-03-10 02:30 does not exist in Chicago, Monday 02:30 does.
    const friday = chicago('2024-03-08T02:30');
    expect(local(addBusinessDays(friday, 1, DEFAULT_CALENDAR))).toBe('2024-03-11T02:30:00.000-05:00');
  });

  it('refuses a fractional count', () => {
    expect(() => addBusinessDays(chicago('2024-08-29T10:00'), 1.5, US_BANK)).toThrow(RangeError);
  });
});

describe('validateCalendar', () => {
  it('fills in the default weekend and normalises holidays', () => {
    expect(validateCalendar({ holidays: ['2024-12-25', '2024-09-02', '2024-12-25'] })).toEqual({
      ok: true,
      calendar: { weekend_days: [6, 7], holidays: ['2024-09-02', '2024-12-25'] },
    });
    expect(validateCalendar({ time_zone: CHICAGO, weekend_days: [7, 5, 5] })).toEqual({
      ok: true,
      calendar: { time_zone: CHICAGO, weekend_days: [5, 7], holidays: [] },
    });
  });

  it('refuses what cannot be a calendar, saying which setting is wrong', () => {
    expect(validateCalendar({ weekend_days: [0] })).toEqual({
      ok: false,
      message: 'weekend_days: 0 is not an ISO weekday (1 = Monday … 7 = Sunday)',
    });
    expect(validateCalendar({ weekend_days: [8] }).ok).toBe(false);
    expect(validateCalendar({ weekend_days: [1, 2, 3, 4, 5, 6, 7] })).toEqual({
      ok: false,
      message: 'weekend_days: at least one day of the week must be a business day',
    });
    expect(validateCalendar({ holidays: ['2024-02-30'] })).toEqual({
      ok: false,
      message: 'holidays: "2024-02-30" is not a date written YYYY-MM-DD',
    });
    expect(validateCalendar({ holidays: ['20240902'] }).ok).toBe(false);
    expect(validateCalendar({ time_zone: 'Central Time' })).toEqual({
      ok: false,
      message: 'time_zone: "Central Time" is not an IANA time zone (e.g. "America/Chicago")',
    });
  });

  it('knows IANA zones', () => {
    expect(isValidTimeZone(CHICAGO)).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
