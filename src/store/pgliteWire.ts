// What pglite.ts (the service's side) and pgliteThread.ts (PGlite's thread) say to each other.
// Values cross by structured clone: dates, byte arrays, arrays and plain objects arrive as
// they were sent; errors are sent as their fields, since a clone keeps only an Error's message.

export interface PgliteThreadData {
  dataDir?: string;
}

/** `tx`: the id of the `begin` request whose transaction the statement runs in. */
export type PgliteRequest =
  | { id: number; op: 'query'; text: string; params?: unknown[]; tx?: number }
  | { id: number; op: 'named'; name: string; text: string; plan?: 'generic'; params: unknown[]; tx?: number }
  | { id: number; op: 'exec'; text: string; tx?: number }
  /** Answered once the transaction holds the connection. */
  | { id: number; op: 'begin' }
  /** Commits or rolls back; answered once it has. */
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

/** Id 0 answers the thread's start (PGlite ready, or why not). */
export interface PgliteReply {
  id: number;
  rows?: unknown[];
  error?: WireError;
}

/** An error's own fields (PostgreSQL's code, detail, constraint, … and the message). */
export type WireError = Record<string, unknown> & { message: string };

export function wireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err) };
  const fields: WireError = { message: err.message };
  for (const [k, v] of Object.entries(err)) {
    if (v === undefined || typeof v === 'function') continue;
    fields[k] = v;
  }
  if (err.name && err.name !== 'Error') fields.name = err.name;
  return fields;
}

/** The error again on this side, with its fields and this side's stack. */
export function fromWire(e: WireError): Error {
  const { message, name, ...rest } = e;
  const err = new Error(message);
  if (typeof name === 'string') Object.defineProperty(err, 'name', { value: name, configurable: true });
  return Object.assign(err, rest);
}
