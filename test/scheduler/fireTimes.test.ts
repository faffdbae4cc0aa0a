import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { BusinessCalendar } from '../../src/scheduler/calendar.js';
import type { PlanInput, Slot, SlotRule } from '../../src/scheduler/fireTimes.js';
import { applyOffset, catchUp, MAX_PLANNED_SLOTS, planSlots } from '../../src/scheduler/fireTimes.js';
import type { Offset, PeriodicInterval } from '../../src/scheduler/offsets.js';
import { parseOffset } from '../../src/scheduler/offsets.js';

const CHICAGO = 'America/Chicago';
const US_BANK: BusinessCalendar = { weekend_days: [6, 7], holidays: ['2024-09-02'] }; // Labor Day, a Monday
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function offset(text: string): Offset {
  const r = parseOffset(text);
  if (!r.ok) throw new Error(r.message);
  return r.offset;
}

function chicago(iso: string): DateTime {
  return DateTime.fromISO(iso, { zone: CHICAGO });
}

/** Fire time of `text` after a Chicago anchor, as local ISO text with offset. */
function shifted(anchorIso: string, text: string, cal?: BusinessCalendar): string | null {
  return applyOffset(chicago(anchorIso), offset(text), cal).toISO();
}

function offsets(...texts: string[]): SlotRule {
  return { offsets: texts.map(offset) };
}

function periodic(interval: PeriodicInterval): SlotRule {
  return { offsets: [], periodic_interval: interval };
}

/** Slots as [key, Chicago local time] pairs, easy to read in a failure. */
function plan(input: Omit<PlanInput, 'timeZone'> & { timeZone?: string }): [string, string | null][] {
  const zone = input.timeZone ?? CHICAGO;
  return planSlots({ ...input, timeZone: zone }).map((s) => [
    s.key,
    DateTime.fromJSDate(s.at, { zone }).toISO(),
  ]);
}

function at(iso: string): Date {
  return chicago(iso).toJSDate();
}

describe('applyOffset: DST in America/Chicago', () => {
  it('"1 day" keeps the local time of day across spring-forward (2024-03-10)', () => {
    // The example: 01:30 on the eve of the change, one day later, is 01:30 local.
    expect(shifted('2024-03-09T01:30', '1 day')).toBe('2024-03-10T01:30:00.000-06:00');
    // From 01:30 on the day itself: the next day's 01:30 is only 23 hours later.
    expect(shifted('2024-03-10T01:30', '1 day')).toBe('2024-03-11T01:30:00.000-05:00');
    expect(shifted('2024-03-11T01:30', '-1 day')).toBe('2024-03-10T01:30:00.000-06:00');
  });

  it('hours and minutes are elapsed time across spring-forward', () => {
    expect(shifted('2024-03-10T01:30', '24 hours')).toBe('2024-03-11T02:30:00.000-05:00');
    expect(shifted('2024-03-10T01:30', '1 hour')).toBe('2024-03-10T03:30:00.000-05:00');
    expect(shifted('2024-03-10T01:50', '20 minutes')).toBe('2024-03-10T03:10:00.000-05:00');
  });

  it('a wall time inside the spring-forward gap moves forward by the gap', () => {
    expect(shifted('2024-03-09T02:30', '1 day')).toBe('2024-03-10T03:30:00.000-05:00');
    expect(shifted('2024-03-09T02:30', '2 days')).toBe('2024-03-11T02:30:00.000-05:00');
  });

  it('"1 day" keeps the local time of day across fall-back (2024-11-03)', () => {
    // 01:30 happens twice on 2024-11-03; coming from CDT the first (CDT) one is meant.
    expect(shifted('2024-11-02T01:30', '1 day')).toBe('2024-11-03T01:30:00.000-05:00');
    // From the first 01:30, the next day's 01:30 is 25 hours later.
    const from = chicago('2024-11-03T01:30-05:00');
    const next = applyOffset(from, offset('1 day'));
    expect(next.toISO()).toBe('2024-11-04T01:30:00.000-06:00');
    expect(next.toMillis() - from.toMillis()).toBe(25 * HOUR);
  });

  it('hours are elapsed time across fall-back', () => {
    // One hour after the first 01:30 is the second 01:30.
    expect(shifted('2024-11-03T01:30-05:00', '1 hour')).toBe('2024-11-03T01:30:00.000-06:00');
    expect(shifted('2024-11-02T01:30', '24 hours')).toBe('2024-11-03T01:30:00.000-05:00');
    expect(shifted('2024-11-02T01:30', '25 hours')).toBe('2024-11-03T01:30:00.000-06:00');
  });

  it('weeks are calendar weeks', () => {
    expect(shifted('2024-03-05T09:00', '1 week')).toBe('2024-03-12T09:00:00.000-05:00');
  });
});

describe('applyOffset: months and years', () => {
  it('"1 month" from January 31 is the last day of February', () => {
    expect(shifted('2024-01-31T09:00', '1 month')).toBe('2024-02-29T09:00:00.000-06:00');
    expect(shifted('2023-01-31T09:00', '1 month')).toBe('2023-02-28T09:00:00.000-06:00');
    expect(shifted('2024-01-31T09:00', '2 months')).toBe('2024-03-31T09:00:00.000-05:00');
    expect(shifted('2024-03-31T09:00', '-1 month')).toBe('2024-02-29T09:00:00.000-06:00');
  });

  it('"1 year" from February 29 is February 28', () => {
    expect(shifted('2024-02-29T09:00', '1 year')).toBe('2025-02-28T09:00:00.000-06:00');
  });
});

describe('applyOffset: business days', () => {
  it('"-3 business days" skips the weekend and the holiday', () => {
    // Due Wednesday September 4: Tuesday 3, (Labor Day, weekend), Friday August 30, Thursday 29.
    expect(shifted('2024-09-04T09:00', '-3 business days', US_BANK)).toBe('2024-08-29T09:00:00.000-05:00');
    expect(shifted('2024-08-29T09:00', '2 business days', US_BANK)).toBe('2024-09-03T09:00:00.000-05:00');
  });

  it('uses Saturday/Sunday weekends when no calendar is given', () => {
    expect(shifted('2024-08-30T09:00', '1 business day')).toBe('2024-09-02T09:00:00.000-05:00');
  });
});

describe('planSlots: offsets', () => {
  const due = at('2024-09-03T09:00'); // Tuesday after Labor Day

  it('plans one slot per offset, in time order, keyed by the canonical offset', () => {
    expect(
      plan({ anchorAt: due, rule: offsets('3 days', '-5 days', '0 days', '-2 days'), until: due }),
    ).toEqual([
      ['offset:-5 days', '2024-08-29T09:00:00.000-05:00'],
      ['offset:-2 days', '2024-09-01T09:00:00.000-05:00'],
      ['offset:0 days', '2024-09-03T09:00:00.000-05:00'],
      ['offset:3 days', '2024-09-06T09:00:00.000-05:00'],
    ]);
  });

  it('offsets are a finite list: from and until do not cut them', () => {
    const slots = plan({ anchorAt: due, rule: offsets('-5 days', '3 days'), from: due, until: due });
    expect(slots.map(([k]) => k)).toEqual(['offset:-5 days', 'offset:3 days']);
  });

  it('the same offset written twice is one slot', () => {
    expect(plan({ anchorAt: due, rule: offsets('2 days', '+2 days', '2 day'), until: due })).toEqual([
      ['offset:2 days', '2024-09-05T09:00:00.000-05:00'],
    ]);
  });

  it('drops slots outside the window (statement cut .. next due date), bounds inclusive', () => {
    const rule = offsets('-5 days', '-4 days', '0 days', '3 days', '4 days');
    expect(
      plan({
        anchorAt: due,
        rule,
        windowStart: at('2024-08-30T09:00'),
        windowEnd: at('2024-09-06T09:00'),
        until: due,
      }).map(([k]) => k),
    ).toEqual(['offset:-4 days', 'offset:0 days', 'offset:3 days']);
  });

  it('moves a slot on a weekend or holiday to the following or preceding business day', () => {
    const rule = offsets('-1 day', '-2 days', '0 days');
    // -1 day is Labor Day, -2 days is Sunday.
    expect(plan({ anchorAt: due, rule, calendar: US_BANK, businessDays: 'following', until: due })).toEqual([
      ['offset:-1 day', '2024-09-03T09:00:00.000-05:00'],
      ['offset:-2 days', '2024-09-03T09:00:00.000-05:00'],
      ['offset:0 days', '2024-09-03T09:00:00.000-05:00'],
    ]);
    expect(plan({ anchorAt: due, rule, calendar: US_BANK, businessDays: 'preceding', until: due })).toEqual([
      ['offset:-1 day', '2024-08-30T09:00:00.000-05:00'],
      ['offset:-2 days', '2024-08-30T09:00:00.000-05:00'],
      ['offset:0 days', '2024-09-03T09:00:00.000-05:00'],
    ]);
  });

  it('takes the convention from the rule unless the caller overrides it', () => {
    const rule: SlotRule = { ...offsets('-1 day'), business_days: 'preceding' };
    expect(plan({ anchorAt: due, rule, calendar: US_BANK, until: due })[0]?.[1]).toBe(
      '2024-08-30T09:00:00.000-05:00',
    );
    expect(plan({ anchorAt: due, rule, calendar: US_BANK, businessDays: null, until: due })[0]?.[1]).toBe(
      '2024-09-02T09:00:00.000-05:00',
    );
  });

  it('never moves a slot across the anchor', () => {
    // Delinquent on Sunday: "0 days" with "preceding" would fire on Friday, before it happened.
    const sunday = at('2024-09-01T13:00');
    expect(
      plan({
        anchorAt: sunday,
        rule: offsets('0 days', '1 day'),
        calendar: US_BANK,
        businessDays: 'preceding',
        until: sunday,
      }),
    ).toEqual([
      ['offset:0 days', '2024-09-03T13:00:00.000-05:00'],
      ['offset:1 day', '2024-09-03T13:00:00.000-05:00'],
    ]);
    // Due Tuesday 01:00: "-2 hours" is Monday (Labor Day) 23:00; "following" would be after the due time.
    const tuesday = at('2024-09-03T01:00');
    expect(
      plan({
        anchorAt: tuesday,
        rule: offsets('-2 hours'),
        calendar: US_BANK,
        businessDays: 'following',
        until: tuesday,
      }),
    ).toEqual([['offset:-2 hours', '2024-08-30T23:00:00.000-05:00']]);
  });

  it('applies the window after the business-day adjustment', () => {
    const rule = offsets('-1 day');
    const windowEnd = at('2024-09-02T23:59');
    expect(
      plan({ anchorAt: due, rule, calendar: US_BANK, businessDays: 'following', windowEnd, until: due }),
    ).toEqual([]);
  });

  it('counts business-day offsets and then adjusts', () => {
    expect(
      plan({
        anchorAt: at('2024-09-04T09:00'),
        rule: offsets('-3 business days'),
        calendar: US_BANK,
        until: due,
      }),
    ).toEqual([['offset:-3 business days', '2024-08-29T09:00:00.000-05:00']]);
  });

  it('refuses an unknown time zone', () => {
    expect(() =>
      planSlots({ anchorAt: due, timeZone: 'Nowhere/Else', rule: offsets('1 day'), until: due }),
    ).toThrow(RangeError);
  });
});

describe('planSlots: periodic rules', () => {
  // The Canopy account_delinquency example: delinquent at 13:23:00.487 New York time.
  const delinquentAt = new Date('2023-01-30T18:23:00.487Z');
  const NEW_YORK = 'America/New_York';

  it('plans the anchor and one slot per period up to the horizon, horizon excluded', () => {
    expect(
      plan({
        anchorAt: delinquentAt,
        timeZone: NEW_YORK,
        rule: periodic('DAILY'),
        until: new Date(delinquentAt.getTime() + 3 * DAY),
      }),
    ).toEqual([
      ['periodic:0', '2023-01-30T13:23:00.487-05:00'],
      ['periodic:1', '2023-01-31T13:23:00.487-05:00'],
      ['periodic:2', '2023-02-01T13:23:00.487-05:00'],
    ]);
  });

  it('ignores the offsets of a periodic rule', () => {
    const rule: SlotRule = { offsets: [offset('5 days')], periodic_interval: 'WEEKLY' };
    const keys = plan({ anchorAt: delinquentAt, rule, until: new Date(delinquentAt.getTime() + 15 * DAY) });
    expect(keys.map(([k]) => k)).toEqual(['periodic:0', 'periodic:1', 'periodic:2']);
  });

  it('plans lazily: consecutive horizons add up to one long plan, with the same keys', () => {
    const cases: [
      PeriodicInterval,
      number,
      BusinessCalendar | undefined,
      'following' | 'preceding' | undefined,
    ][] = [
      ['HOURLY', 3 * DAY, undefined, undefined],
      ['DAILY', 400 * DAY, US_BANK, 'following'],
      ['WEEKLY', 800 * DAY, US_BANK, 'following'],
      ['MONTHLY', 3000 * DAY, US_BANK, 'preceding'],
    ];
    for (const [interval, span, calendar, businessDays] of cases) {
      const anchorAt = at('2024-01-31T10:00');
      const base = { anchorAt, timeZone: CHICAGO, rule: periodic(interval), calendar, businessDays };
      const whole = planSlots({ ...base, until: new Date(anchorAt.getTime() + span) });
      const pieces: Slot[] = [];
      const cuts = [0, 0.13, 0.5, 0.77, 1].map((f) => new Date(anchorAt.getTime() + Math.round(f * span)));
      for (let i = 0; i + 1 < cuts.length; i++) {
        pieces.push(...planSlots({ ...base, from: cuts[i], until: cuts[i + 1] as Date }));
      }
      expect(pieces, interval).toEqual(whole);
      expect(whole.length, interval).toBeGreaterThan(20);
    }
  });

  it('plans lazily for any horizon cuts, calendar and convention (property)', () => {
    const spans: Record<PeriodicInterval, number> = {
      HOURLY: 6 * DAY,
      DAILY: 120 * DAY,
      WEEKLY: 700 * DAY,
      MONTHLY: 2500 * DAY,
    };
    fc.assert(
      fc.property(
        fc.constantFrom<PeriodicInterval>('HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'),
        fc.constantFrom<'following' | 'preceding' | null>('following', 'preceding', null),
        fc.integer({ min: 0, max: 365 * DAY }),
        fc.uniqueArray(fc.integer({ min: 0, max: 2500 }), { maxLength: 40 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        (interval, businessDays, shift, holidayDays, fractions) => {
          const anchorAt = new Date(at('2023-01-01T07:45').getTime() + shift);
          const holidays = holidayDays.map(
            (d) => DateTime.fromJSDate(anchorAt, { zone: CHICAGO }).plus({ days: d }).toISODate() ?? '',
          );
          const base = {
            anchorAt,
            timeZone: CHICAGO,
            rule: periodic(interval),
            calendar: { weekend_days: [6, 7], holidays },
            businessDays,
          };
          const end = anchorAt.getTime() + spans[interval];
          const whole = planSlots({ ...base, until: new Date(end) });
          const cuts = [
            anchorAt.getTime(),
            ...fractions.map((f) => anchorAt.getTime() + Math.round(f * spans[interval])),
            end,
          ].sort((a, b) => a - b);
          const pieces: Slot[] = [];
          for (let i = 0; i + 1 < cuts.length; i++) {
            pieces.push(
              ...planSlots({
                ...base,
                from: new Date(cuts[i] as number),
                until: new Date(cuts[i + 1] as number),
              }),
            );
          }
          expect(pieces).toEqual(whole);
          expect(new Set(whole.map((s) => s.at.getTime())).size).toBe(whole.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('DAILY keeps the local time across spring-forward and fall-back', () => {
    const march = plan({
      anchorAt: at('2024-03-08T09:00'),
      rule: periodic('DAILY'),
      until: at('2024-03-11T12:00'),
    });
    expect(march.map(([, t]) => t)).toEqual([
      '2024-03-08T09:00:00.000-06:00',
      '2024-03-09T09:00:00.000-06:00',
      '2024-03-10T09:00:00.000-05:00',
      '2024-03-11T09:00:00.000-05:00',
    ]);
    const november = plan({
      anchorAt: at('2024-11-02T01:30'),
      rule: periodic('DAILY'),
      until: at('2024-11-05T00:00'),
    });
    expect(november.map(([, t]) => t)).toEqual([
      '2024-11-02T01:30:00.000-05:00',
      '2024-11-03T01:30:00.000-05:00',
      '2024-11-04T01:30:00.000-06:00',
    ]);
  });

  it('HOURLY counts elapsed hours through the spring-forward gap', () => {
    const slots = plan({
      anchorAt: at('2024-03-10T00:30'),
      rule: periodic('HOURLY'),
      until: at('2024-03-10T04:00'),
    });
    expect(slots).toEqual([
      ['periodic:0', '2024-03-10T00:30:00.000-06:00'],
      ['periodic:1', '2024-03-10T01:30:00.000-06:00'],
      ['periodic:2', '2024-03-10T03:30:00.000-05:00'],
    ]);
  });

  it('MONTHLY from January 31 follows month ends without drifting', () => {
    const slots = plan({
      anchorAt: at('2024-01-31T09:00'),
      rule: periodic('MONTHLY'),
      until: at('2024-06-01T00:00'),
    });
    expect(slots.map(([, t]) => t?.slice(0, 10))).toEqual([
      '2024-01-31',
      '2024-02-29',
      '2024-03-31',
      '2024-04-30',
      '2024-05-31',
    ]);
  });

  it('DAILY on business days skips weekends and holidays instead of piling them up', () => {
    const base = { anchorAt: at('2024-08-29T10:00'), rule: periodic('DAILY'), calendar: US_BANK };
    const until = at('2024-09-05T00:00');
    const expected = [
      ['periodic:0', '2024-08-29T10:00:00.000-05:00'],
      ['periodic:1', '2024-08-30T10:00:00.000-05:00'],
      ['periodic:5', '2024-09-03T10:00:00.000-05:00'],
      ['periodic:6', '2024-09-04T10:00:00.000-05:00'],
    ];
    expect(plan({ ...base, businessDays: 'following', until })).toEqual(expected);
    expect(plan({ ...base, businessDays: 'preceding', until })).toEqual(expected);
  });

  it('WEEKLY on business days moves a holiday slot', () => {
    const base = { anchorAt: at('2024-08-26T10:00'), rule: periodic('WEEKLY'), calendar: US_BANK };
    const until = at('2024-09-10T00:00');
    expect(plan({ ...base, businessDays: 'following', until })).toEqual([
      ['periodic:0', '2024-08-26T10:00:00.000-05:00'],
      ['periodic:1', '2024-09-03T10:00:00.000-05:00'],
      ['periodic:2', '2024-09-09T10:00:00.000-05:00'],
    ]);
    expect(plan({ ...base, businessDays: 'preceding', until })[1]).toEqual([
      'periodic:1',
      '2024-08-30T10:00:00.000-05:00',
    ]);
  });

  it('WEEKLY slots pushed onto one day by a long holiday fire once', () => {
    const closed = Array.from({ length: 10 }, (_, i) => `2024-09-${String(i + 2).padStart(2, '0')}`);
    const cal: BusinessCalendar = { weekend_days: [6, 7], holidays: closed }; // September 2..11 closed
    const slots = plan({
      anchorAt: at('2024-08-26T10:00'),
      rule: periodic('WEEKLY'),
      calendar: cal,
      businessDays: 'following',
      until: at('2024-09-20T00:00'),
    });
    expect(slots).toEqual([
      ['periodic:0', '2024-08-26T10:00:00.000-05:00'],
      ['periodic:1', '2024-09-12T10:00:00.000-05:00'],
      ['periodic:3', '2024-09-16T10:00:00.000-05:00'],
    ]);
  });

  it('drops slots outside the window', () => {
    const slots = plan({
      anchorAt: at('2024-03-01T09:00'),
      rule: periodic('DAILY'),
      windowStart: at('2024-03-03T00:00'),
      windowEnd: at('2024-03-05T09:00'),
      until: at('2024-04-01T00:00'),
    });
    expect(slots.map(([k]) => k)).toEqual(['periodic:2', 'periodic:3', 'periodic:4']);
  });

  it('refuses a horizon that would materialise too many slots', () => {
    expect(() =>
      planSlots({
        anchorAt: at('2024-01-01T00:00'),
        timeZone: CHICAGO,
        rule: periodic('HOURLY'),
        until: at('2044-01-01T00:00'),
      }),
    ).toThrow(`more than ${MAX_PLANNED_SLOTS} periodic slots`);
  });
});

describe('catchUp', () => {
  const due = at('2024-09-03T09:00');
  const offsetSlots = planSlots({
    anchorAt: due,
    timeZone: CHICAGO,
    rule: offsets('-2 days', '0 days', '3 days'),
    until: due,
  });
  const dailySlots = planSlots({
    anchorAt: due,
    timeZone: CHICAGO,
    rule: periodic('DAILY'),
    until: at('2024-09-10T00:00'),
  });

  it('fires every missed offset once, late, and leaves future ones alone', () => {
    const now = at('2024-09-04T12:00'); // back after two days down
    const { fire, superseded } = catchUp(offsetSlots, now);
    expect(fire).toEqual([
      { key: 'offset:-2 days', at: at('2024-09-01T09:00'), late: true },
      { key: 'offset:0 days', at: due, late: true },
    ]);
    expect(superseded).toEqual([]);
  });

  it('fires only the latest missed period of a periodic rule, once, and supersedes the rest', () => {
    const now = at('2024-09-07T12:00'); // down since before the anchor
    const { fire, superseded } = catchUp(dailySlots, now);
    expect(fire).toEqual([{ key: 'periodic:4', at: at('2024-09-07T09:00'), late: true }]);
    expect(superseded.map((s) => s.key)).toEqual(['periodic:0', 'periodic:1', 'periodic:2', 'periodic:3']);
  });

  it('is not late within the grace period', () => {
    const now = new Date(due.getTime() + 30_000);
    expect(catchUp(offsetSlots, now).fire).toEqual([
      { key: 'offset:-2 days', at: at('2024-09-01T09:00'), late: true },
      { key: 'offset:0 days', at: due, late: false },
    ]);
    expect(catchUp(dailySlots, now).fire).toEqual([{ key: 'periodic:0', at: due, late: false }]);
    expect(catchUp(dailySlots, now, { graceMs: 10_000 }).fire[0]?.late).toBe(true);
  });

  it('fires nothing before the first slot', () => {
    expect(catchUp([...offsetSlots, ...dailySlots], at('2024-08-01T00:00'))).toEqual({
      fire: [],
      superseded: [],
    });
  });

  it('a slot exactly at now is due', () => {
    expect(catchUp(dailySlots, due).fire).toEqual([{ key: 'periodic:0', at: due, late: false }]);
  });
});
