// Reminder offsets ("-5 days", "2 hours", "-3 business days") and periodic intervals
// ("DAILY"), parsed from the text tenants write in rules and in Canopy's notification_config.
//
// Accepted offset grammar: an optional sign, a whole number, optional spaces, a unit.
// Units (case-insensitive, singular or plural whatever the number):
//   minute(s) min(s) · hour(s) hr(s) · day(s) · business day(s) (also business_day(s),
//   business-day(s)) · week(s) wk(s) · month(s) mon(s) · year(s) yr(s)
// "mon"/"mons" is how PostgreSQL prints interval months, which is where Canopy-style
// configurations are likely to have been copied from. Single letters ("5d", "5 m") are
// refused: "m" could mean minutes or months, and a reminder firing a month late is worse
// than a 422. Fractions are refused too: "1.5 days" is ambiguous across DST and business
// days; the message suggests the exact smaller unit when there is one ("36 hours").
// Offsets reach at most about ten years either way, so arithmetic never leaves luxon's range.

export type OffsetUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year' | 'business_day';

export interface Offset {
  sign: 1 | -1;
  amount: number;
  unit: OffsetUnit;
  /** Canonical text (formatOffset): "+2 day" and "2 days" both read "2 days", so keys are stable. */
  text: string;
}

export type OffsetResult = { ok: true; offset: Offset } | { ok: false; message: string };

export const PERIODIC_INTERVALS = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'] as const;
export type PeriodicInterval = (typeof PERIODIC_INTERVALS)[number];
export type PeriodicResult = { ok: true; interval: PeriodicInterval } | { ok: false; message: string };

const UNIT_WORDS: Record<string, OffsetUnit> = {
  minute: 'minute',
  minutes: 'minute',
  min: 'minute',
  mins: 'minute',
  hour: 'hour',
  hours: 'hour',
  hr: 'hour',
  hrs: 'hour',
  day: 'day',
  days: 'day',
  'business day': 'business_day',
  'business days': 'business_day',
  week: 'week',
  weeks: 'week',
  wk: 'week',
  wks: 'week',
  month: 'month',
  months: 'month',
  mon: 'month',
  mons: 'month',
  year: 'year',
  years: 'year',
  yr: 'year',
  yrs: 'year',
};

const NAMES: Record<OffsetUnit, [singular: string, plural: string]> = {
  minute: ['minute', 'minutes'],
  hour: ['hour', 'hours'],
  day: ['day', 'days'],
  business_day: ['business day', 'business days'],
  week: ['week', 'weeks'],
  month: ['month', 'months'],
  year: ['year', 'years'],
};

/** About ten years in each unit. */
const MAX_AMOUNT: Record<OffsetUnit, number> = {
  minute: 5_256_000,
  hour: 87_600,
  day: 3_650,
  business_day: 2_600,
  week: 520,
  month: 120,
  year: 10,
};

/** Exact conversions to the next smaller unit, for the message about fractions. */
const SMALLER: Partial<Record<OffsetUnit, [OffsetUnit, number]>> = {
  hour: ['minute', 60],
  day: ['hour', 24],
  week: ['day', 7],
  year: ['month', 12],
};

const DAY_MS = 86_400_000;
/**
 * Nominal lengths, only for comparing offsets of different units (catalog windows).
 * Firing never uses them: it does calendar arithmetic in the anchor's zone.
 */
const NOMINAL_MS: Record<OffsetUnit, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: DAY_MS,
  business_day: (DAY_MS * 7) / 5,
  week: 7 * DAY_MS,
  month: 30 * DAY_MS,
  year: 365 * DAY_MS,
};

export const ACCEPTED_OFFSETS =
  'an offset is a whole number and a unit, e.g. "-5 days", "2 hours", "1 month", "-3 business days" ' +
  '(units: minutes, hours, days, business days, weeks, months, years)';

export function parseOffset(text: string): OffsetResult {
  const trimmed = text.trim();
  if (trimmed === '') return fail(`the offset is empty: ${ACCEPTED_OFFSETS}`);
  const m = /^([+-]?)\s*(\d+(?:[.,]\d+)?)?\s*(.*)$/s.exec(trimmed);
  const [, signText = '', amountText, rest = ''] = m ?? [];
  if (amountText === undefined) {
    return fail(`"${trimmed}" does not start with a number written in digits: ${ACCEPTED_OFFSETS}`);
  }
  const unitText = rest
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ');
  if (unitText === '') return fail(`"${trimmed}" has no unit: ${ACCEPTED_OFFSETS}`);
  const unit = UNIT_WORDS[unitText];
  if (unit === undefined) {
    const why =
      unitText.length === 1
        ? `single-letter units are not accepted ("m" could mean minutes or months)`
        : `"${rest.trim()}" is not a known unit`;
    return fail(`"${trimmed}": ${why}; ${ACCEPTED_OFFSETS}`);
  }
  if (!/^\d+$/.test(amountText)) return fail(fractionMessage(trimmed, amountText, unit));
  const amount = Number(amountText);
  if (amount > MAX_AMOUNT[unit]) {
    return fail(
      `"${trimmed}" is too far: offsets reach at most about 10 years (${MAX_AMOUNT[unit]} ${NAMES[unit][1]})`,
    );
  }
  const sign = signText === '-' && amount !== 0 ? -1 : 1;
  const partial = { sign, amount, unit } as const;
  return { ok: true, offset: { ...partial, text: formatOffset(partial) } };
}

function fractionMessage(trimmed: string, amountText: string, unit: OffsetUnit): string {
  let message = `"${trimmed}": the amount must be a whole number`;
  const smaller = SMALLER[unit];
  const value = Number(amountText.replace(',', '.'));
  if (smaller && Number.isInteger(value * smaller[1])) {
    const sign = trimmed.startsWith('-') ? '-' : '';
    message += `; write "${sign}${formatOffset({ sign: 1, amount: value * smaller[1], unit: smaller[0] })}" instead`;
  } else {
    message += `; use a smaller unit`;
  }
  return `${message} (${ACCEPTED_OFFSETS})`;
}

/** Canonical text: "-5 days", "1 month", "0 days", "-1 business day". */
export function formatOffset(offset: Pick<Offset, 'sign' | 'amount' | 'unit'>): string {
  const [singular, plural] = NAMES[offset.unit];
  const sign = offset.sign === -1 && offset.amount !== 0 ? '-' : '';
  return `${sign}${offset.amount} ${offset.amount === 1 ? singular : plural}`;
}

/** Signed nominal length in milliseconds; for ordering and comparing offsets only. */
export function nominalMs(offset: Offset): number {
  return offset.sign * offset.amount * NOMINAL_MS[offset.unit];
}

/** "daily", " Daily " → "DAILY". */
export function parsePeriodic(text: string): PeriodicResult {
  const upper = text.trim().toUpperCase();
  const interval = PERIODIC_INTERVALS.find((i) => i === upper);
  if (interval) return { ok: true, interval };
  const shown =
    text.trim() === '' ? 'the periodic interval is empty' : `"${text.trim()}" is not a periodic interval`;
  return fail(`${shown}: use one of ${PERIODIC_INTERVALS.join(', ')}`);
}

/** The refusal shape shared by the scheduler's parsers and validators. */
export function fail(message: string): { ok: false; message: string } {
  return { ok: false, message };
}
