// Numbered SQL migrations (migrations/NNN_name.sql), applied in order inside one transaction
// that first takes an advisory lock, so any number of processes may start at once: the first
// applies, the others wait for the lock and then find nothing left to do.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f.slice(4, -4),
      sql: readFileSync(dir + f, 'utf8'),
    }));
}

/** Applies what is missing; returns the versions applied by this call. */
export async function migrate(db: Db, migrations = listMigrations()): Promise<number[]> {
  return db.tx(async (q) => {
    // Keyed by schema so that separate schemas (tests) do not wait for each other.
    await q.query(`SELECT pg_advisory_xact_lock(hashtext('tidings.migrate.' || current_schema()))`);
    await q.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await q.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await q.exec(m.sql);
      await q.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** Creates the configured schema if needed (TIDINGS_DB_SCHEMA); the search_path already names it. */
export async function ensureSchema(db: Db, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
}
