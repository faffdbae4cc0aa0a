// A tenant's business calendar (weekend days, holidays, time zone): business-day rules follow it,
// so a change re-plans every open anchor of the tenant.
import { type Static, Type } from 'typebox';
import { validateCalendar } from '../../scheduler/calendar.js';
import { lockOpenAnchorsOfTenant } from '../../store/reminders/anchors.js';
import { getCalendar, putCalendar } from '../../store/reminders/calendars.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { unprocessable } from '../errors.js';
import { replan } from '../reminderRules.js';
import { errors, NullableTimestamp, TenantParams } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

const CalendarBody = Type.Object(
  {
    time_zone: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    weekend_days: Type.Optional(Type.Array(Type.Integer(), { maxItems: 7 })),
    holidays: Type.Optional(Type.Array(Type.String({ maxLength: 10 }), { maxItems: 5000 })),
  },
  { additionalProperties: false },
);

export const CalendarView = Type.Object(
  {
    time_zone: Type.Union([Type.String(), Type.Null()]),
    weekend_days: Type.Array(Type.Integer(), { description: 'ISO weekdays, 1 = Monday … 7 = Sunday' }),
    holidays: Type.Array(Type.String()),
    updated_at: NullableTimestamp,
  },
  { $id: 'BusinessCalendar' },
);

function calendarView(c: {
  time_zone: string | null;
  weekend_days: number[];
  holidays: string[];
  updated_at: Date;
}) {
  return {
    time_zone: c.time_zone,
    weekend_days: c.weekend_days,
    holidays: c.holidays,
    updated_at: c.updated_at,
  };
}

export async function calendarRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.put<{ Params: Static<typeof TenantParams>; Body: Static<typeof CalendarBody> }>(
    '/v1/tenants/:tid/calendar',
    {
      schema: {
        tags: ['reminders'],
        summary: 'Set the business calendar (weekend days, holidays) that business-day rules follow',
        params: TenantParams,
        body: CalendarBody,
        response: { 200: Type.Ref('BusinessCalendar'), ...errors(401, 404, 422) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const checked = validateCalendar(req.body);
      if (!checked.ok) throw unprocessable('invalid_calendar', checked.message);
      const c = checked.calendar;
      const now = ctx.clock.now();
      const saved = await ctx.db.tx(async (q) => {
        const keys = await lockOpenAnchorsOfTenant(q, req.params.tid);
        const stored = await putCalendar(
          q,
          {
            tenant_id: req.params.tid,
            time_zone: c.time_zone ?? null,
            weekend_days: c.weekend_days,
            holidays: c.holidays,
          },
          now,
        );
        await replan(q, keys, now);
        return stored;
      });
      return calendarView(saved);
    },
  );

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid/calendar',
    {
      schema: {
        tags: ['reminders'],
        summary: 'The business calendar (Saturday and Sunday off, no holidays, until one is set)',
        params: TenantParams,
        response: { 200: Type.Ref('BusinessCalendar'), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const c = await getCalendar(ctx.db, req.params.tid);
      return c ? calendarView(c) : { time_zone: null, weekend_days: [6, 7], holidays: [], updated_at: null };
    },
  );
}
