// Migration 007 puts the endpoint bounds into the store as CHECK constraints. Rows written
// before it may hold anything; they are brought into range first, so the migration cannot
// fail on old data (and the claim never meets such a value again).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate } from '../../src/store/migrate.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

describe.each(engines())('migration 007 on old rows (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(
      engine,
      listMigrations().filter((m) => m.version < 7),
    );
  });
  afterAll(() => t?.drop());

  it('clamps or clears out-of-range rates and in-flight caps, then holds the bounds', async () => {
    const db = t.db;
    await db.query(`INSERT INTO tenants (id, name) VALUES ('t', 't')`);
    const rows: [string, number | string | null, number][] = [
      ['ep_tiny', 1e-14, 10],
      ['ep_zero', 0, 10],
      ['ep_negative', -5, 10],
      ['ep_nan', 'NaN', 10],
      ['ep_inf', 'Infinity', 10],
      ['ep_huge', 1e9, 10],
      ['ep_ok', 2.5, 10],
      ['ep_none', null, 10],
      ['ep_no_room', null, 0],
      ['ep_too_much', null, 50_000],
    ];
    for (const [id, rate, inFlight] of rows) {
      await db.query(
        `INSERT INTO endpoints (id, tenant_id, url, secret, rate_limit_per_s, max_in_flight)
         VALUES ($1, 't', 'https://example.com/', 'whsec_x', $2, $3)`,
        [id, rate, inFlight],
      );
    }
    expect(await migrate(db)).toContain(7);
    const after = await db.query<{ id: string; rate_limit_per_s: number | null; max_in_flight: number }>(
      'SELECT id, rate_limit_per_s, max_in_flight FROM endpoints ORDER BY id',
    );
    expect(Object.fromEntries(after.map((r) => [r.id, [r.rate_limit_per_s, r.max_in_flight]]))).toEqual({
      ep_tiny: [0.01, 10],
      ep_zero: [0.01, 10],
      ep_negative: [0.01, 10],
      ep_nan: [null, 10],
      ep_inf: [null, 10],
      ep_huge: [null, 10],
      ep_ok: [2.5, 10],
      ep_none: [null, 10],
      ep_no_room: [null, 1],
      ep_too_much: [null, 1000],
    });
    await expect(
      db.query(`UPDATE endpoints SET rate_limit_per_s = 1e-14 WHERE id = 'ep_ok'`),
    ).rejects.toThrow(/violates check constraint/);
  });
});
