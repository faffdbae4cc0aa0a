import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Offset, OffsetUnit } from '../../src/scheduler/offsets.js';
import { formatOffset, nominalMs, parseOffset, parsePeriodic } from '../../src/scheduler/offsets.js';

function offset(text: string): Offset {
  const r = parseOffset(text);
  if (!r.ok) throw new Error(`expected "${text}" to parse: ${r.message}`);
  return r.offset;
}

function refusal(text: string): string {
  const r = parseOffset(text);
  if (r.ok) throw new Error(`expected "${text}" to be refused, got ${JSON.stringify(r.offset)}`);
  return r.message;
}

describe('parseOffset', () => {
  it.each([
    ['-5 days', -1, 5, 'day', '-5 days'],
    ['2 hours', 1, 2, 'hour', '2 hours'],
    ['1 week', 1, 1, 'week', '1 week'],
    ['1 month', 1, 1, 'month', '1 month'],
    ['0 days', 1, 0, 'day', '0 days'],
    ['-3 business days', -1, 3, 'business_day', '-3 business days'],
    ['30 minutes', 1, 30, 'minute', '30 minutes'],
    ['+2 days', 1, 2, 'day', '2 days'],
    ['1 day', 1, 1, 'day', '1 day'],
    ['2 day', 1, 2, 'day', '2 days'],
    ['-1 business day', -1, 1, 'business_day', '-1 business day'],
    ['2 Business_Days', 1, 2, 'business_day', '2 business days'],
    ['1 business-day', 1, 1, 'business_day', '1 business day'],
    ['1 mon', 1, 1, 'month', '1 month'],
    ['-2 mons', -1, 2, 'month', '-2 months'],
    ['2 hrs', 1, 2, 'hour', '2 hours'],
    ['15 mins', 1, 15, 'minute', '15 minutes'],
    ['3 wks', 1, 3, 'week', '3 weeks'],
    ['1 yr', 1, 1, 'year', '1 year'],
    ['  -2 DAYS  ', -1, 2, 'day', '-2 days'],
    ['5days', 1, 5, 'day', '5 days'],
    ['- 5 days', -1, 5, 'day', '-5 days'],
    ['-0 days', 1, 0, 'day', '0 days'],
    ['3650 days', 1, 3650, 'day', '3650 days'],
  ])('reads %j', (text, sign, amount, unit, canonical) => {
    expect(offset(text)).toEqual({ sign, amount, unit, text: canonical });
  });

  it('refuses an amount in words', () => {
    expect(refusal('two days')).toMatch(/^"two days" does not start with a number written in digits: /);
  });

  it('refuses a number without a unit', () => {
    expect(refusal('-2')).toMatch(
      /^"-2" has no unit: an offset is a whole number and a unit, e\.g\. "-5 days"/,
    );
  });

  it('refuses an unknown unit and lists the known ones', () => {
    const message = refusal('5 fortnights');
    expect(message).toContain('"fortnights" is not a known unit');
    expect(message).toContain('units: minutes, hours, days, business days, weeks, months, years');
  });

  it('refuses the empty string', () => {
    expect(refusal('')).toMatch(/^the offset is empty: /);
    expect(refusal('   ')).toMatch(/^the offset is empty: /);
  });

  it('refuses fractions and suggests the exact smaller unit', () => {
    expect(refusal('1.5 days')).toMatch(
      /^"1\.5 days": the amount must be a whole number; write "36 hours" instead/,
    );
    expect(refusal('-1.5 hours')).toContain('write "-90 minutes" instead');
    expect(refusal('1,5 weeks')).toContain('the amount must be a whole number');
    expect(refusal('1.5 months')).toContain('the amount must be a whole number; use a smaller unit');
  });

  it('refuses single-letter units, which are ambiguous', () => {
    expect(refusal('5 m')).toContain(
      'single-letter units are not accepted ("m" could mean minutes or months)',
    );
    expect(refusal('5d')).toContain('single-letter units are not accepted');
  });

  it('refuses offsets beyond about ten years', () => {
    expect(refusal('3651 days')).toContain(
      '"3651 days" is too far: offsets reach at most about 10 years (3650 days)',
    );
    expect(refusal('11 years')).toContain('too far');
    expect(refusal('99999999999999999999 minutes')).toContain('too far');
  });

  it('refuses trailing words and other garbage', () => {
    expect(refusal('2 days ago')).toContain('"days ago" is not a known unit');
    expect(refusal('--5 days')).toContain('does not start with a number written in digits');
    expect(refusal('1e3 days')).toContain('is not a known unit');
  });

  it('reads back what formatOffset writes, for every unit', () => {
    const units: OffsetUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year', 'business_day'];
    fc.assert(
      fc.property(
        fc.constantFrom<1 | -1>(1, -1),
        fc.integer({ min: 0, max: 10 }),
        fc.constantFrom(...units),
        (sign, amount, unit) => {
          const text = formatOffset({ sign, amount, unit });
          const back = offset(text);
          expect(back).toEqual({ sign: amount === 0 ? 1 : sign, amount, unit, text });
        },
      ),
    );
  });
});

describe('nominalMs', () => {
  it('orders offsets of different units by their nominal length', () => {
    const sorted = ['1 month', '-1 week', '2 hours', '-3 business days', '31 days', '0 days', '1 year'].sort(
      (a, b) => nominalMs(offset(a)) - nominalMs(offset(b)),
    );
    expect(sorted).toEqual([
      '-1 week',
      '-3 business days',
      '0 days',
      '2 hours',
      '1 month',
      '31 days',
      '1 year',
    ]);
  });
});

describe('parsePeriodic', () => {
  it.each([
    ['DAILY', 'DAILY'],
    ['daily', 'DAILY'],
    [' Weekly ', 'WEEKLY'],
    ['hourly', 'HOURLY'],
    ['MONTHLY', 'MONTHLY'],
  ])('reads %j as %s', (text, interval) => {
    expect(parsePeriodic(text)).toEqual({ ok: true, interval });
  });

  it('refuses anything else, naming the accepted intervals', () => {
    expect(parsePeriodic('BIWEEKLY')).toEqual({
      ok: false,
      message: '"BIWEEKLY" is not a periodic interval: use one of HOURLY, DAILY, WEEKLY, MONTHLY',
    });
    expect(parsePeriodic('')).toEqual({
      ok: false,
      message: 'the periodic interval is empty: use one of HOURLY, DAILY, WEEKLY, MONTHLY',
    });
    expect(parsePeriodic('1 day').ok).toBe(false);
  });
});
