import type { Queryable } from './db.js';

export async function getMeta(q: Queryable, key: string): Promise<string | undefined> {
  const rows = await q.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
  return rows[0]?.value;
}

/** Stores value under key unless one is there already; returns the value in force. */
export async function putMetaOnce(q: Queryable, key: string, value: string): Promise<string> {
  const rows = await q.query<{ value: string }>(
    `INSERT INTO meta (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key
     RETURNING value`,
    [key, value],
  );
  return rows[0]!.value;
}
