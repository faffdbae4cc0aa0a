import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { ReminderRule, ReminderSettings, RuleInput } from '../../src/scheduler/rules.js';
import {
  computedFields,
  MAX_OFFSETS_PER_RULE,
  validateReminderSettings,
  validateRule,
} from '../../src/scheduler/rules.js';

// Reminder settings for the three Canopy configurable webhooks, as a catalog would carry them.
const CANOPY: Record<string, ReminderSettings> = {
  payment_due_date: {
    anchor: 'the statement due date',
    negative_offsets: true,
    periodic: false,
    window: {
      start: '-1 month',
      end: '1 month',
      description: "between the moment the statement was cut and the next statement's due date",
    },
  },
  minimum_payment_missed: {
    anchor: 'the due date plus grace period',
    negative_offsets: false,
    periodic: false,
    window: { end: '1 month', description: "up to the following statement's due date" },
  },
  account_delinquency: { anchor: 'the moment of delinquency', negative_offsets: false, periodic: true },
};

function check(type: string, input: RuleInput) {
  const settings = CANOPY[type];
  if (!settings) throw new Error(`no settings for ${type}`);
  return validateRule(input, settings, type);
}

function accepted(type: string, input: RuleInput): ReminderRule {
  const r = check(type, input);
  if (!r.ok) throw new Error(`expected the rule to be accepted: ${r.message}`);
  return r.rule;
}

function refused(type: string, input: RuleInput): string {
  const r = check(type, input);
  if (r.ok) throw new Error(`expected the rule to be refused: ${JSON.stringify(r.rule)}`);
  return r.message;
}

describe('validateRule', () => {
  it('accepts several payment_due_date offsets, before and after, collapsing repeats', () => {
    const rule = accepted('payment_due_date', { offsets: ['-5 days', '-2 days', '2 days', '+2 days'] });
    expect(rule.mode).toBe('offsets');
    expect(rule.offsets.map((o) => o.text)).toEqual(['-5 days', '-2 days', '2 days']);
    expect(rule.periodic_interval).toBeNull();
    expect(rule.business_days).toBeNull();
  });

  it('refuses a negative offset on account_delinquency, saying why', () => {
    expect(refused('account_delinquency', { offsets: ['-2 days'] })).toBe(
      'account_delinquency does not allow negative offsets: it fires relative to the moment of delinquency',
    );
    expect(accepted('account_delinquency', { offsets: ['0 days', '5 days'] }).offsets).toHaveLength(2);
  });

  it('refuses malformed offsets, naming which one', () => {
    expect(refused('payment_due_date', { offsets: ['-2 days', 'two days'] })).toMatch(
      /^offsets\[1\]: "two days" does not start with a number written in digits: /,
    );
    expect(refused('payment_due_date', { offsets: ['-2'] })).toMatch(/^offsets\[0\]: "-2" has no unit/);
    expect(refused('payment_due_date', { offsets: ['5 fortnights'] })).toContain(
      '"fortnights" is not a known unit',
    );
  });

  it('lets a periodic interval replace the offsets, keeping them', () => {
    const rule = accepted('account_delinquency', { offsets: ['5 days'], periodic_interval: 'daily' });
    expect(rule.mode).toBe('periodic');
    expect(rule.periodic_interval).toBe('DAILY');
    expect(rule.offsets.map((o) => o.text)).toEqual(['5 days']);
  });

  it('adds no offsets of its own to a periodic rule', () => {
    const rule = accepted('account_delinquency', { periodic_interval: 'WEEKLY' });
    expect(rule).toEqual({ mode: 'periodic', offsets: [], periodic_interval: 'WEEKLY', business_days: null });
  });

  it('still refuses malformed offsets next to a periodic interval', () => {
    expect(refused('account_delinquency', { offsets: ['1.5 days'], periodic_interval: 'DAILY' })).toContain(
      'write "36 hours" instead',
    );
  });

  it('refuses a periodic interval where the catalog does not allow one', () => {
    expect(refused('payment_due_date', { periodic_interval: 'DAILY' })).toBe(
      'payment_due_date does not allow a periodic interval: configure offsets relative to the statement due date instead',
    );
  });

  it('refuses an unknown periodic interval', () => {
    expect(refused('account_delinquency', { periodic_interval: 'FORTNIGHTLY' })).toBe(
      'periodic_interval: "FORTNIGHTLY" is not a periodic interval: use one of HOURLY, DAILY, WEEKLY, MONTHLY',
    );
  });

  it('fires at the anchor when given neither offsets nor an interval', () => {
    for (const input of [{}, { offsets: [] }, { offsets: null, periodic_interval: null }]) {
      const rule = accepted('minimum_payment_missed', input);
      expect(rule.mode).toBe('offsets');
      expect(rule.offsets).toEqual([{ sign: 1, amount: 0, unit: 'day', text: '0 days' }]);
    }
  });

  it('keeps offsets inside the catalog window', () => {
    expect(
      accepted('payment_due_date', { offsets: ['-1 month', '1 month', '-30 days', '-4 weeks'] }).offsets,
    ).toHaveLength(4);
    expect(refused('payment_due_date', { offsets: ['-2 days', '-2 months'] })).toBe(
      'offsets[1]: "-2 months" is outside the window for payment_due_date: offsets may range from "-1 month" to ' +
        `"1 month" (between the moment the statement was cut and the next statement's due date)`,
    );
    // Across units the comparison is nominal: a month counts as 30 days.
    expect(refused('payment_due_date', { offsets: ['31 days'] })).toContain('outside the window');
    expect(refused('minimum_payment_missed', { offsets: ['5 weeks'] })).toContain(
      'offsets may range up to "1 month"',
    );
  });

  it('reads the business-day convention', () => {
    expect(
      accepted('payment_due_date', { offsets: ['-2 days'], business_days: 'Preceding' }).business_days,
    ).toBe('preceding');
    expect(
      accepted('payment_due_date', { offsets: ['-2 days'], business_days: 'following' }).business_days,
    ).toBe('following');
    expect(refused('payment_due_date', { offsets: ['-2 days'], business_days: 'modified following' })).toBe(
      'business_days: "modified following" is not a convention; use "following" (move to the next business day) ' +
        'or "preceding" (move to the previous one)',
    );
  });

  it('accepts business-day offsets', () => {
    const rule = accepted('payment_due_date', { offsets: ['-3 business days'] });
    expect(rule.offsets).toEqual([{ sign: -1, amount: 3, unit: 'business_day', text: '-3 business days' }]);
  });

  it('limits the number of offsets in one rule', () => {
    const offsets = Array.from({ length: MAX_OFFSETS_PER_RULE + 1 }, (_, i) => `${i} hours`);
    expect(refused('payment_due_date', { offsets })).toBe(
      `offsets: at most ${MAX_OFFSETS_PER_RULE} offsets per rule (got ${MAX_OFFSETS_PER_RULE + 1})`,
    );
  });
});

describe('validateReminderSettings', () => {
  it('accepts the Canopy settings', () => {
    for (const settings of Object.values(CANOPY))
      expect(validateReminderSettings(settings)).toEqual({ ok: true });
  });

  it('refuses windows that do not parse or run backwards', () => {
    const base = { anchor: 'the due date', negative_offsets: true, periodic: false };
    expect(validateReminderSettings({ ...base, window: { start: 'a month ago' } })).toEqual({
      ok: false,
      message: expect.stringMatching(/^reminder\.window\.start: "a month ago" does not start with a number/),
    });
    expect(validateReminderSettings({ ...base, window: { start: '1 month', end: '-1 month' } })).toEqual({
      ok: false,
      message: 'reminder.window: start "1 month" is after end "-1 month"',
    });
    expect(validateRule({ offsets: ['1 day'] }, { ...base, window: { end: 'soon' } }, 'x').ok).toBe(false);
  });
});

describe('computedFields', () => {
  const NEW_YORK = 'America/New_York';

  it('reproduces the Canopy account_delinquency example', () => {
    // "delinquent_as_of_date": "2023-01-30T13:23:00.487411-05:00", sent at 13:23:38.129 the same day.
    const delinquentAt = DateTime.fromISO('2023-01-30T13:23:00.487-05:00', { zone: NEW_YORK });
    const fields = computedFields('account_delinquency', delinquentAt, new Date('2023-01-30T18:23:38.129Z'));
    expect(fields).toEqual({ time_stamp: '2023-01-30T13:23:38.129-05:00', number_of_days_delinquent: 0 });
  });

  it('counts whole days of delinquency', () => {
    const delinquentAt = DateTime.fromISO('2023-01-30T13:23:00.000-05:00', { zone: NEW_YORK });
    const justBefore = delinquentAt.plus({ days: 5 }).minus({ seconds: 1 }).toJSDate();
    expect(computedFields('account_delinquency', delinquentAt, justBefore).number_of_days_delinquent).toBe(4);
    const fifth = delinquentAt.plus({ days: 5 }).toJSDate();
    expect(computedFields('account_delinquency', delinquentAt, fifth).number_of_days_delinquent).toBe(5);
  });

  it('gives days_past_due for payment_due_date: 0 before the due date, whole local days after', () => {
    const due = DateTime.fromISO('2024-03-09T00:00', { zone: 'America/Chicago' });
    const before = due.minus({ days: 2 }).toJSDate();
    expect(computedFields('payment_due_date', due, before)).toEqual({
      time_stamp: '2024-03-07T00:00:00.000-06:00',
      days_past_due: 0,
    });
    // Two local days later is only 47 hours later (spring-forward on 2024-03-10): still 2 days.
    const twoDaysOn = DateTime.fromISO('2024-03-11T00:00', { zone: 'America/Chicago' }).toJSDate();
    expect(twoDaysOn.getTime() - due.toMillis()).toBe(47 * 3_600_000);
    expect(computedFields('payment_due_date', due, twoDaysOn)).toEqual({
      time_stamp: '2024-03-11T00:00:00.000-05:00',
      days_past_due: 2,
    });
  });

  it('gives only time_stamp for minimum_payment_missed and other types', () => {
    const anchor = DateTime.fromISO('2024-09-03T09:00', { zone: 'America/Chicago' });
    const fired = new Date('2024-09-08T14:00:00.000Z');
    const expected = { time_stamp: '2024-09-08T09:00:00.000-05:00' };
    expect(computedFields('minimum_payment_missed', anchor, fired)).toEqual(expected);
    expect(computedFields('invoice.overdue', anchor, fired)).toEqual(expected);
  });
});
