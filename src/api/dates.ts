// Dates a caller may send: RFC 3339 date-times both engines store and read back as they were
// sent. Years before 1000 or after 9999 are refused (422 in a body, 400 in a query string):
// the embedded store cannot write year 0000 or years past 9999 (a 500 before issue 13), and
// reads years 0001-0099 back as 1901-1999 (0001-01-01 was silently stored as 2001-01-01).
import { fullFormats } from 'ajv-formats/dist/formats.js';

export const EARLIEST_DATE_MS = Date.UTC(1000, 0, 1);
export const LATEST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const DATE_RANGE_TEXT = 'between 1000-01-01 and 9999-12-31 (UTC)';

const rfc3339 = fullFormats['date-time'] as { validate: (s: string) => boolean };

/** A date-time text in RFC 3339 form whose moment lies in the range both engines hold. */
export function isStorableDateTime(text: string): boolean {
  if (!rfc3339.validate(text)) return false;
  const t = Date.parse(text);
  return Number.isFinite(t) && t >= EARLIEST_DATE_MS && t <= LATEST_DATE_MS;
}

/** A moment that also leaves room for `marginMs` either way (fire times computed from an anchor). */
export function withinRange(t: Date, marginMs: number): boolean {
  const ms = t.getTime();
  return ms - marginMs >= EARLIEST_DATE_MS && ms + marginMs <= LATEST_DATE_MS;
}
