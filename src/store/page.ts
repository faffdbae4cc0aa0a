// Opaque cursors for list endpoints: base64url of the last row's sort key.
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Returns undefined for a cursor we did not make. */
export function decodeCursor(
  cursor: string,
  shape: ('string' | 'number')[],
): (string | number)[] | undefined {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parts) || parts.length !== shape.length) return undefined;
    return parts.every((p, i) => typeof p === shape[i]) ? (parts as (string | number)[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Cuts a list fetched with limit + 1 rows into a page and the cursor of its last row. */
export function pageOf<T>(rows: T[], limit: number, key: (row: T) => (string | number)[]): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}
