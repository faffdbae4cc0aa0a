// Sealed values in the store: a canary that tells at boot whether this process holds the key
// the database's secrets were sealed with, and the re-encryption pass behind `tidings keys rotate`.
import type { Queryable } from './db.js';
import { putMetaOnce } from './meta.js';
import type { ResealingCodec } from './secrets.js';

const CANARY_KEY = 'encryption_canary';
const CANARY_TEXT = 'tidings secrets canary';

export class KeyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMismatchError';
  }
}

/**
 * The first process seals a known text into `meta`; every later one must be able to open it.
 * A process started with another key (a second machine that generated its own key file, a
 * mistyped TIDINGS_ENCRYPTION_KEY) stops at boot instead of failing every delivery later.
 */
export async function checkKeyCanary(q: Queryable, box: ResealingCodec): Promise<void> {
  const stored = await putMetaOnce(q, CANARY_KEY, box.seal(CANARY_TEXT));
  let plain: string;
  try {
    plain = box.open(stored);
  } catch (err) {
    throw new KeyMismatchError(
      `This database's secrets were sealed with another encryption key (${(err as Error).message}). ` +
        'Set TIDINGS_ENCRYPTION_KEY to the key the other Tidings processes use (keep the old key listed after the new one while rotating).',
    );
  }
  if (plain !== CANARY_TEXT) throw new KeyMismatchError('the encryption canary opened to the wrong text');
}

export interface ResealReport {
  /** Values now sealed with the active key, by "table.column". */
  resealed: Record<string, number>;
  /** Values that could not be opened (a key missing from the list), by "table.column". */
  failed: Record<string, number>;
}

// Columns that hold sealed values and may still hold clear text written before encryption
// was switched on (legacy rows are sealed by the pass, not only re-keyed).
const ENDPOINT_COLUMNS = ['secret', 'headers', 'previous_secrets', 'mtls', 'oauth', 'broker'] as const;
// Large tables that hold no secrets: scanning them would make a rotation take hours.
const SKIPPED_TABLES = new Set([
  'endpoints',
  'events',
  'deliveries',
  'attempts',
  'attempt_chain',
  'attempt_chain_checkpoints',
  'audit_log',
  'schema_migrations',
]);
const BATCH = 200;

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Re-encrypts every sealed value with the box's active key: the endpoint secrets and headers
 * (sealing clear-text legacy values too), then any other text column of the schema that holds
 * `enc:` values (other features may seal their own secrets). Each update names the old value,
 * so a row changed meanwhile by the API is left as the API wrote it.
 */
export async function resealAll(q: Queryable, box: ResealingCodec): Promise<ResealReport> {
  const report: ResealReport = { resealed: {}, failed: {} };
  let last = '';
  for (;;) {
    const rows = await q.query<Record<string, string | null> & { id: string }>(
      `SELECT id, ${ENDPOINT_COLUMNS.join(', ')} FROM endpoints WHERE id > $1 ORDER BY id LIMIT $2`,
      [last, BATCH],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      for (const column of ENDPOINT_COLUMNS) {
        const value = row[column];
        if (value === null || value === undefined) continue;
        const where = `endpoints.${column}`;
        let next: string | undefined;
        try {
          next = box.reseal(value);
        } catch {
          bump(report.failed, where);
          continue;
        }
        if (next === undefined) continue;
        await q.query(`UPDATE endpoints SET ${column} = $3 WHERE id = $1 AND ${column} = $2`, [
          row.id,
          value,
          next,
        ]);
        bump(report.resealed, where);
      }
    }
    last = rows[rows.length - 1]!.id;
  }

  const columns = await q.query<{ table_name: string; column_name: string }>(
    `SELECT c.table_name, c.column_name FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.data_type = 'text'
     ORDER BY c.table_name, c.column_name`,
  );
  for (const { table_name, column_name } of columns) {
    if (SKIPPED_TABLES.has(table_name)) continue;
    const table = quoteIdent(table_name);
    const column = quoteIdent(column_name);
    const where = `${table_name}.${column_name}`;
    // Walk the distinct sealed values in order; sealed values are unique (random IV), so the
    // value itself addresses its row.
    let after = '';
    for (;;) {
      const rows = await q.query<{ v: string }>(
        `SELECT DISTINCT ${column} AS v FROM ${table}
         WHERE ${column} LIKE 'enc:%' AND ${column} > $1 ORDER BY 1 LIMIT $2`,
        [after, BATCH],
      );
      if (rows.length === 0) break;
      for (const { v } of rows) {
        let next: string | undefined;
        try {
          next = box.reseal(v);
        } catch {
          bump(report.failed, where);
          continue;
        }
        if (next === undefined) continue;
        await q.query(`UPDATE ${table} SET ${column} = $2 WHERE ${column} = $1`, [v, next]);
        bump(report.resealed, where);
      }
      after = rows[rows.length - 1]!.v;
    }
  }
  return report;
}
