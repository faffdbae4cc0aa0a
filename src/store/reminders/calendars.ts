// Business calendars: a tenant's time zone and the days that are not business days.
import type { Queryable } from '../db.js';
import type { StoredCalendar } from './types.js';

export async function getCalendar(q: Queryable, tenantId: string): Promise<StoredCalendar | undefined> {
  const rows = await q.query<StoredCalendar>(
    'SELECT tenant_id, time_zone, weekend_days, holidays, updated_at FROM reminder_calendars WHERE tenant_id = $1',
    [tenantId],
  );
  return rows[0];
}

export async function putCalendar(
  q: Queryable,
  c: Omit<StoredCalendar, 'updated_at'>,
  now: Date,
): Promise<StoredCalendar> {
  const rows = await q.query<StoredCalendar>(
    `INSERT INTO reminder_calendars (tenant_id, time_zone, weekend_days, holidays, updated_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, weekend_days = EXCLUDED.weekend_days,
       holidays = EXCLUDED.holidays, updated_at = EXCLUDED.updated_at
     RETURNING tenant_id, time_zone, weekend_days, holidays, updated_at`,
    [c.tenant_id, c.time_zone, c.weekend_days, c.holidays, now],
  );
  return rows[0]!;
}
