// Reminder rules checked against what the catalog allows for an event type, and the payload
// fields the scheduler itself can compute when a reminder fires.
//
// Decisions (Canopy reference, "Configurable Webhooks"):
// - periodic_interval replaces offsets ("If configured with a periodic interval, time offset
//   configurations will be ignored"): the offsets are still checked and kept, so removing
//   the interval later brings them back, but the rule's mode is 'periodic';
// - a rule with neither offsets nor an interval fires once at the anchor ("0 days"), as
//   Canopy describes minimum_payment_missed "with no offset";
// - repeated offsets collapse to one ("2 days" and "+2 days" are the same reminder);
// - the catalog window bounds offsets by their nominal length when units differ
//   (month = 30 days, year = 365 days, business day = 7/5 day); the exact bound is the
//   anchor's own window_start/window_end, applied when slots are planned.
import { DateTime } from 'luxon';
import type { BusinessDayConvention } from './calendar.js';
import type { Offset, PeriodicInterval } from './offsets.js';
import { fail, nominalMs, parseOffset, parsePeriodic } from './offsets.js';

/** Static bounds for offsets, written as offsets ("-1 month"), inclusive. */
export interface ReminderWindow {
  start?: string;
  end?: string;
  /** What the bounds stand for, quoted in messages: "between the statement cut and the next due date". */
  description?: string;
}

/** The `reminder` object of a catalog event type. */
export interface ReminderSettings {
  /** What the offsets count from, as a phrase: "the moment of delinquency". */
  anchor: string;
  negative_offsets: boolean;
  periodic: boolean;
  window?: ReminderWindow;
}

export interface RuleInput {
  offsets?: readonly string[] | null;
  periodic_interval?: string | null;
  business_days?: string | null;
}

export interface ReminderRule {
  mode: 'offsets' | 'periodic';
  offsets: Offset[];
  periodic_interval: PeriodicInterval | null;
  business_days: BusinessDayConvention | null;
}

export type RuleResult = { ok: true; rule: ReminderRule } | { ok: false; message: string };

export const MAX_OFFSETS_PER_RULE = 50;

const AT_ANCHOR = '0 days';

export function validateRule(input: RuleInput, settings: ReminderSettings, eventType: string): RuleResult {
  const texts = input.offsets ?? [];
  if (texts.length > MAX_OFFSETS_PER_RULE) {
    return fail(`offsets: at most ${MAX_OFFSETS_PER_RULE} offsets per rule (got ${texts.length})`);
  }
  const window = windowBounds(settings);
  if (!window.ok) return window;
  const offsets = new Map<string, Offset>();
  const fireAtAnchor = texts.length === 0 && input.periodic_interval == null;
  for (const [i, text] of (fireAtAnchor ? [AT_ANCHOR] : texts).entries()) {
    const parsed = parseOffset(text);
    if (!parsed.ok) return fail(`offsets[${i}]: ${parsed.message}`);
    const offset = parsed.offset;
    if (offset.sign < 0 && !settings.negative_offsets) {
      return fail(`${eventType} does not allow negative offsets: it fires relative to ${settings.anchor}`);
    }
    const outside = outsideWindow(offset, window, settings);
    if (outside)
      return fail(`offsets[${i}]: "${offset.text}" is outside the window for ${eventType}: ${outside}`);
    if (!offsets.has(offset.text)) offsets.set(offset.text, offset);
  }

  let periodic: PeriodicInterval | null = null;
  if (input.periodic_interval != null) {
    if (!settings.periodic) {
      return fail(
        `${eventType} does not allow a periodic interval: configure offsets relative to ${settings.anchor} instead`,
      );
    }
    const parsed = parsePeriodic(input.periodic_interval);
    if (!parsed.ok) return fail(`periodic_interval: ${parsed.message}`);
    periodic = parsed.interval;
  }

  let businessDays: BusinessDayConvention | null = null;
  if (input.business_days != null) {
    const text = input.business_days.trim().toLowerCase();
    if (text !== 'following' && text !== 'preceding') {
      return fail(
        `business_days: "${input.business_days}" is not a convention; use "following" (move to the next ` +
          `business day) or "preceding" (move to the previous one)`,
      );
    }
    businessDays = text;
  }

  return {
    ok: true,
    rule: {
      mode: periodic ? 'periodic' : 'offsets',
      offsets: [...offsets.values()],
      periodic_interval: periodic,
      business_days: businessDays,
    },
  };
}

/** Checks a catalog entry's reminder settings (for the catalog loader); the window bounds must parse. */
export function validateReminderSettings(
  settings: ReminderSettings,
): { ok: true } | { ok: false; message: string } {
  const window = windowBounds(settings);
  return window.ok ? { ok: true } : window;
}

type Bounds = { ok: true; start: Offset | null; end: Offset | null } | { ok: false; message: string };

function windowBounds(settings: ReminderSettings): Bounds {
  const parse = (name: 'start' | 'end'): Offset | null | string => {
    const text = settings.window?.[name];
    if (text == null) return null;
    const parsed = parseOffset(text);
    return parsed.ok ? parsed.offset : `reminder.window.${name}: ${parsed.message}`;
  };
  const start = parse('start');
  const end = parse('end');
  if (typeof start === 'string') return fail(start);
  if (typeof end === 'string') return fail(end);
  if (start && end && nominalMs(start) > nominalMs(end)) {
    return fail(`reminder.window: start "${start.text}" is after end "${end.text}"`);
  }
  return { ok: true, start, end };
}

function outsideWindow(
  offset: Offset,
  bounds: { start: Offset | null; end: Offset | null },
  settings: ReminderSettings,
): string | null {
  const ms = nominalMs(offset);
  const { start, end } = bounds;
  if ((start === null || ms >= nominalMs(start)) && (end === null || ms <= nominalMs(end))) return null;
  const range =
    start && end
      ? `from "${start.text}" to "${end.text}"`
      : start
        ? `from "${start.text}" on`
        : `up to "${end?.text}"`;
  const why = settings.window?.description ? ` (${settings.window.description})` : '';
  return `offsets may range ${range}${why}`;
}

export interface ComputedFields {
  /** Fire time in the anchor's zone, e.g. "2023-01-30T13:23:38.129-05:00". */
  time_stamp: string;
  days_past_due?: number;
  number_of_days_delinquent?: number;
}

/** Which reference field counts whole days since the anchor, per Canopy event type. */
const DAY_COUNT_FIELDS: Record<string, 'days_past_due' | 'number_of_days_delinquent'> = {
  payment_due_date: 'days_past_due',
  account_delinquency: 'number_of_days_delinquent',
};

/**
 * The payload fields Tidings computes at fire time. Whole days are counted on the anchor's
 * local calendar (a 23-hour DST day is still one day) and are 0 before the anchor.
 * `fireAt` is when the webhook is actually sent, so a late reminder reports the true time.
 */
export function computedFields(type: string, anchor: DateTime, fireAt: Date): ComputedFields {
  const fired = DateTime.fromJSDate(fireAt, { zone: anchor.zone });
  const fields: ComputedFields = { time_stamp: fired.toISO() ?? fireAt.toISOString() };
  const dayField = DAY_COUNT_FIELDS[type];
  if (dayField) fields[dayField] = Math.max(0, Math.floor(fired.diff(anchor, 'days').days));
  return fields;
}
