// Numbers that JSON allows and PostgreSQL's numeric does not (more than 131072 digits before
// the decimal point, or more than 16383 after it: 1e131072, 1e-16384, 0e-20000) make
// `payload::jsonb` fail, and so would make the publish statement fail for a tenant with
// payload filters (store/publish.ts). They are refused at ingest.
import { scanJson } from './scan.js';

/** numeric's limits: NUMERIC_WEIGHT_MAX base-10000 digits, NUMERIC_DSCALE_MAX decimal places. */
const MAX_INTEGER_DIGITS = 131_072;
const MAX_FRACTION_DIGITS = 16_383;

/** Cheap first look: an exponent of four digits or more, or a long run of digits (also inside strings). */
const CANDIDATE = /[eE][+-]?\d{4,}|\d{16383,}/;
const NUMBER_PARTS = /^-?([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** Whether PostgreSQL's numeric can hold the JSON number token. */
export function numericCanHold(token: string): boolean {
  const m = NUMBER_PARTS.exec(token);
  if (!m) return true;
  const whole = m[1]!;
  const fraction = m[2] ?? '';
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  if (!Number.isSafeInteger(exponent)) return false;
  if (fraction.length - exponent > MAX_FRACTION_DIGITS) return false;
  const significant = whole.replace(/^0+/, '');
  if (significant === '') {
    const rest = fraction.replace(/^0+/, '');
    // Zero, or a first significant digit after the point: far below the integer limit.
    return rest === '' || exponent - (fraction.length - rest.length) - 1 < MAX_INTEGER_DIGITS;
  }
  return significant.length + exponent <= MAX_INTEGER_DIGITS;
}

/** Whether the JSON text holds a number PostgreSQL cannot store as numeric. */
export function holdsUnstorableNumber(text: string): boolean {
  if (!CANDIDATE.test(text)) return false;
  let found = false;
  scanJson(text, (_path, start, end) => {
    if (found) return;
    const c = text.charCodeAt(start);
    if (c === 45 || (c >= 48 && c <= 57)) found = !numericCanHold(text.slice(start, end));
  });
  return found;
}
