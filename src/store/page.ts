// Opaque cursors for list endpoints: base64url of the last row's sort key.
import { MAX_PAGE_BYTES } from '../limits.js';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Longest string part a cursor may carry (ids and keys are far shorter). */
const MAX_CURSOR_PART = 300;

/**
 * Returns undefined for a cursor we did not make. Number parts are the keys we page by
 * (bigint sequence numbers, microsecond times): whole and safe, so 1e400 (Infinity), 1.5 or
 * 2^60 never reach a bigint parameter. String parts hold no NUL, which PostgreSQL cannot store
 * in text (issue 13: such cursors answered 500).
 */
export function decodeCursor(
  cursor: string,
  shape: ('string' | 'number')[],
): (string | number)[] | undefined {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== shape.length) return undefined;
  const fits = parts.every((p: unknown, i) =>
    shape[i] === 'number'
      ? typeof p === 'number' && Number.isSafeInteger(p)
      : typeof p === 'string' && p.length <= MAX_CURSOR_PART && !p.includes('\u0000'),
  );
  return fits ? (parts as (string | number)[]) : undefined;
}

/** Rough size of a row as an answer will carry it (JSON text). */
function approxBytes(row: unknown): number {
  try {
    return JSON.stringify(row)?.length ?? 0;
  } catch {
    return 0;
  }
}

/**
 * Cuts a list fetched with limit + 1 rows into a page and the cursor of its last row. A page
 * also stops before the row that would take it past MAX_PAGE_BYTES (it keeps at least one
 * row), so a page of large rows cannot grow an answer, or the memory behind it, without end.
 */
export function pageOf<T>(
  rows: T[],
  limit: number,
  key: (row: T) => (string | number)[],
  maxBytes = MAX_PAGE_BYTES,
): Page<T> {
  let data = rows.slice(0, limit);
  let more = rows.length > limit;
  let bytes = 0;
  for (let i = 0; i < data.length; i++) {
    bytes += approxBytes(data[i]);
    if (bytes > maxBytes && i > 0) {
      data = data.slice(0, i);
      more = true;
      break;
    }
  }
  const last = data[data.length - 1];
  return { data, next_cursor: more && last ? encodeCursor(key(last)) : null };
}
