// Numbers that JSON allows and PostgreSQL's numeric does not: an exponent beyond ±1000
// (NUMERIC_MAX_PRECISION) makes `payload::jsonb` fail, and so would make the publish
// statement fail for a tenant with payload filters (store/publish.ts). Refused at ingest.
import { scanJson } from './scan.js';

/** Cheap first look: an exponent of four digits or more anywhere (also inside strings). */
const CANDIDATE = /[eE][+-]?\d{4,}/;
const NUMBER_WITH_EXPONENT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?[eE]([+-]?[0-9]+)$/;
export const MAX_EXPONENT = 1000;

/** Whether the JSON text holds a number whose exponent PostgreSQL cannot store. */
export function holdsUnstorableNumber(text: string): boolean {
  if (!CANDIDATE.test(text)) return false;
  let found = false;
  scanJson(text, (_path, start, end) => {
    if (found) return;
    const m = NUMBER_WITH_EXPONENT.exec(text.slice(start, end));
    if (m && Math.abs(Number(m[1])) > MAX_EXPONENT) found = true;
  });
  return found;
}
