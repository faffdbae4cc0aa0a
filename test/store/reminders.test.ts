// store/reminders/calendars.ts: a tenant's business calendar is stored whole and replaced whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCalendar, putCalendar } from '../../src/store/reminders/calendars.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const now = new Date('2026-03-01T10:00:00Z');

describe.each(engines())('business calendars (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
    await createTenant(t.db, { id: 'acme', name: 'Acme' }, now);
  });
  afterAll(() => t?.drop());

  it('has none until one is put, then answers it, and a second put replaces it', async () => {
    expect(await getCalendar(t.db, 'acme')).toBeUndefined();
    const put = await putCalendar(
      t.db,
      { tenant_id: 'acme', time_zone: 'America/Chicago', weekend_days: [6, 7], holidays: ['2026-12-25'] },
      now,
    );
    expect(put).toMatchObject({ tenant_id: 'acme', time_zone: 'America/Chicago', weekend_days: [6, 7] });
    expect(await getCalendar(t.db, 'acme')).toEqual(put);
    const later = new Date('2026-03-02T10:00:00Z');
    await putCalendar(t.db, { tenant_id: 'acme', time_zone: null, weekend_days: [7], holidays: [] }, later);
    const got = await getCalendar(t.db, 'acme');
    expect(got).toMatchObject({ time_zone: null, weekend_days: [7], holidays: [] });
    expect(got!.updated_at.getTime()).toBe(later.getTime());
  });
});
