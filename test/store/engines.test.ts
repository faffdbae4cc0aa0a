// The Db interface on both engines (store/db.ts): what the rest of src/store relies on of it.
// PGlite answers from a thread of its own (store/pgliteThread.ts), so values and errors cross
// a structured clone there; PostgreSQL runs statements that want a generic plan on sessions of
// their own (store/pg.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamedSql } from '../../src/store/db.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const SETTING: NamedSql = {
  name: 't_plan_setting',
  text: `SELECT current_setting('plan_cache_mode') AS mode`,
};
const GENERIC: NamedSql = { ...SETTING, name: 't_plan_setting_generic', plan: 'generic' };
const DIVIDE: NamedSql = { name: 't_divide', text: 'SELECT 1 / $1::int AS q', plan: 'generic' };

describe.each(engines())('the store interface (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
    await t.db.exec(
      'CREATE TABLE t_values (id int PRIMARY KEY, b bytea, at timestamptz, tags text[], doc jsonb)',
    );
  });
  afterAll(() => t?.drop());

  it('gives back what it was given: bytes, dates, arrays, JSON, nulls', async () => {
    const at = new Date('2026-12-04T10:11:12.345Z');
    // A Buffer from Node's shared pool: only its own bytes may cross.
    const b = Buffer.from('héllo');
    await t.db.query('INSERT INTO t_values VALUES ($1, $2, $3, $4, $5)', [
      1,
      b,
      at,
      ['a', 'b'],
      { x: [1, 'y'] },
    ]);
    await t.db.query('INSERT INTO t_values VALUES ($1, NULL, NULL, NULL, NULL)', [2]);
    const rows = await t.db.query<{
      id: number;
      b: Uint8Array | null;
      at: Date | null;
      tags: string[] | null;
      doc: unknown;
    }>('SELECT * FROM t_values ORDER BY id');
    expect(Buffer.from(rows[0]?.b ?? []).toString()).toBe('héllo');
    expect(rows[0]?.at?.getTime()).toBe(at.getTime());
    expect(rows[0]?.tags).toEqual(['a', 'b']);
    expect(rows[0]?.doc).toEqual({ x: [1, 'y'] });
    expect(rows[1]).toEqual({ id: 2, b: null, at: null, tags: null, doc: null });
  });

  it("reports PostgreSQL's error fields, and goes on after them", async () => {
    const err = await t.db.query('INSERT INTO t_values (id) VALUES (1)').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: '23505', constraint: 't_values_pkey' });
    const named = await t.db.query(DIVIDE, [0]).catch((e: unknown) => e);
    expect(named).toMatchObject({ code: '22012' });
    expect(await t.db.query(DIVIDE, [1])).toEqual([{ q: 1 }]);
  });

  it('runs a statement marked generic with a generic plan, and only that one', async () => {
    expect(await t.db.query(GENERIC)).toEqual([{ mode: 'force_generic_plan' }]);
    expect(await t.db.query(SETTING)).toEqual([{ mode: 'auto' }]);
    // A generic statement that fails leaves the setting as it was too.
    await t.db.query(DIVIDE, [0]).catch(() => undefined);
    expect(await t.db.query(SETTING)).toEqual([{ mode: 'auto' }]);
    expect(await t.db.query(`SELECT current_setting('plan_cache_mode') AS mode`)).toEqual([{ mode: 'auto' }]);
  });

  it('commits a transaction that resolves and rolls back one that throws, with statements running inside it at once', async () => {
    await t.db.tx(async (q) => {
      await q.query('INSERT INTO t_values (id) VALUES (10)');
      await Promise.all([q.query('INSERT INTO t_values (id) VALUES (11)'), q.query(SETTING)]);
    });
    const failed = await t.db
      .tx(async (q) => {
        await q.query('INSERT INTO t_values (id) VALUES (12)');
        await q.query('INSERT INTO t_values (id) VALUES (10)');
      })
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: '23505' });
    const ids = await t.db.query<{ id: number }>('SELECT id FROM t_values WHERE id >= 10 ORDER BY id');
    expect(ids.map((r) => r.id)).toEqual([10, 11]);
    // Outside an open transaction: PGlite's one connection makes a statement wait for the
    // transaction's end; PostgreSQL answers at once, without the transaction's rows.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const tx = t.db.tx(async (q) => {
      await q.query('INSERT INTO t_values (id) VALUES (13)');
      await held;
    });
    await new Promise((r) => setTimeout(r, 20));
    let answered = false;
    const seen = t.db
      .query<{ n: number }>('SELECT count(*)::int AS n FROM t_values WHERE id = 13')
      .then((rows) => {
        answered = true;
        return rows[0]?.n;
      });
    if (engine === 'pg') expect(await seen).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(engine === 'pg');
    release();
    await tx;
    if (engine === 'pglite') expect(await seen).toBe(1);
  });
});
