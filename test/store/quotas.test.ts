// store/quotas.ts: a tenant's counters take one more row only below the quota, and bulk loads
// add without a limit, never below zero.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUsage, takeUsage } from '../../src/store/quotas.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const now = new Date('2026-03-01T10:00:00Z');

describe.each(engines())('tenant usage counters (%s)', (engine) => {
  let t: TestDb;
  const used = async (kind: string) =>
    Number(
      (
        await t.db.query<{ used: string }>(
          'SELECT used FROM tenant_usage WHERE tenant_id = $1 AND kind = $2',
          ['acme', kind],
        )
      )[0]?.used ?? 0,
    );
  beforeAll(async () => {
    t = await freshDb(engine);
    await createTenant(t.db, { id: 'acme', name: 'Acme' }, now);
  });
  afterAll(() => t?.drop());

  it('takes rows up to the quota and refuses the next without counting it', async () => {
    expect(await takeUsage(t.db, 'acme', 'anchors', 2)).toBe(true);
    expect(await takeUsage(t.db, 'acme', 'anchors', 2)).toBe(true);
    expect(await takeUsage(t.db, 'acme', 'anchors', 2)).toBe(false);
    expect(await used('anchors')).toBe(2);
  });

  it('adds bulk loads without a limit and never goes below zero', async () => {
    await addUsage(t.db, 'acme', 'reminder_rules', 5);
    expect(await used('reminder_rules')).toBe(5);
    await addUsage(t.db, 'acme', 'reminder_rules', -9);
    expect(await used('reminder_rules')).toBe(0);
    await addUsage(t.db, 'acme', 'reminder_rules', 0);
    expect(await used('reminder_rules')).toBe(0);
  });
});
