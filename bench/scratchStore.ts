// A store of its own for a targeted measurement: an in-memory PGlite, or a fresh schema on the
// PostgreSQL at DATABASE_URL, dropped again by `drop()`. Not migrated: the caller does that.
import pg from 'pg';
import type { Db } from '../src/store/db.js';
import { openPg } from '../src/store/pg.js';
import { openPglite } from '../src/store/pglite.js';
import { dropSchema, runSchema } from './systems/helperSystem.js';

export async function openScratchStore(
  engine: string,
  prefix: string,
  max: number,
): Promise<{ db: Db; drop(): Promise<void> }> {
  if (engine === 'pglite') {
    const db = await openPglite(undefined);
    return { db, drop: () => db.close() };
  }
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = runSchema(prefix);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  await admin.end();
  const db = await openPg(url, { schema, max });
  return {
    db,
    async drop() {
      await db.close();
      await dropSchema(url, schema);
    },
  };
}
