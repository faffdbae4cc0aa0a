// Every store test runs on both engines: the embedded PGlite and a real PostgreSQL.
// Each test file gets a fresh database: an in-memory PGlite, or its own PostgreSQL schema
// (dropped afterwards unless TIDINGS_KEEP_SCHEMA=1, to look at after a failure).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { listMigrations, type Migration, migrate } from '../../src/store/migrate.js';
import { openPg } from '../../src/store/pg.js';
import { openPglite } from '../../src/store/pglite.js';

export type Engine = 'pglite' | 'pg';

export function engines(): Engine[] {
  return inject('pgUrl') ? ['pglite', 'pg'] : ['pglite'];
}

export function pgUrl(): string {
  return inject('pgUrl');
}

export interface TestDb {
  db: Db;
  engine: Engine;
  /** The PostgreSQL schema (pg engine only), for child processes that need the same data. */
  schema?: string;
  url?: string;
  drop(): Promise<void>;
}

/** A fresh database on the given engine, migrated (to the given migrations only, when given). */
export async function freshDb(engine: Engine, migrations: Migration[] = listMigrations()): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = await openPglite(undefined);
    await migrate(db, migrations);
    return { db, engine, drop: () => db.close() };
  }
  const url = pgUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = await openPg(url, { schema, max: 8 });
  await migrate(db, migrations);
  return {
    db,
    engine,
    schema,
    url,
    async drop() {
      await db.close();
      if (process.env.TIDINGS_KEEP_SCHEMA === '1') return;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
