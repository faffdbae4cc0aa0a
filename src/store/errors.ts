// Telling a statement that cannot succeed from a store that is away for a moment. The
// engine retries the second kind as it is (a restart, a network cut, a deadlock) and isolates
// the first: the row or value that makes the statement fail is parked, the rest goes on.

/** SQLSTATE classes that the same statement with the same data would hit again. */
const STATEMENT_CLASSES = new Set(['22', '23', '2F', '42', 'P0', 'XX']);

export function isStatementError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && STATEMENT_CLASSES.has(code.slice(0, 2));
}

/** A short, single-line description for logs and records. */
export function describeStoreError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = (e?.message ?? String(err)).replace(/\s+/g, ' ').slice(0, 300);
  return e?.code ? `${e.code}: ${text}` : text;
}
