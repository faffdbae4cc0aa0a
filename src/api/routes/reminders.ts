// Reminders (scheduled webhooks): rules say when, anchors say from what, the calendar says
// which days are business days. Every write re-plans the affected anchors in the same
// transaction, under their row locks, so GET shows the new plan at once and the scheduler
// never fires from a stale one. Canopy's notification_config lives in notificationConfig.ts.
//
// Who may call: anchors become events, so writing them (PUT, resolve) needs the operator
// token, like publishing; rules, calendars and every read are the tenant's own.
import { type Static, Type } from 'typebox';
import type { RuleInput } from '../../scheduler/rules.js';
import { listRulesPage } from '../../store/reminders/rules.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import {
  checkRefreshUrl,
  checkRule,
  EventTypeName,
  reminderSettingsOf,
  removeRule,
  ruleView,
  Subject,
  saveRule,
  storedOffsets,
} from '../reminderRules.js';
import { errors, PageQuery, pageOf, TenantParams, Timestamp } from '../schemas.js';
import { AnchorDetail, AnchorView, anchorRoutes } from './anchors.js';
import { CalendarView, calendarRoutes } from './calendars.js';
import { ensureTenant } from './endpoints.js';
import { notificationConfigRoutes } from './notificationConfig.js';

const RuleBody = Type.Object(
  {
    event_type: EventTypeName,
    subject: Type.Optional(Subject),
    offsets: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 })),
    periodic_interval: Type.Optional(Type.Union([Type.String({ maxLength: 20 }), Type.Null()])),
    business_days: Type.Optional(Type.Union([Type.String({ maxLength: 20 }), Type.Null()])),
    refresh_url: Type.Optional(
      Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], {
        description:
          'Operator token only: the producer system asked for the current payload before each firing (a tenant token gets 403)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReminderRuleView = Type.Object(
  {
    event_type: Type.String(),
    subject: Type.Union([Type.String(), Type.Null()], {
      description: "null: the tenant's default for the type",
    }),
    offsets: Type.Array(Type.String()),
    periodic_interval: Type.Union([Type.String(), Type.Null()]),
    business_days: Type.Union([Type.String(), Type.Null()]),
    refresh_url: Type.Optional(
      Type.Union([Type.String(), Type.Null()], { description: 'Shown to the operator only' }),
    ),
    mode: Type.String({ description: 'offsets, periodic, or at_anchor (no offsets: once, at the anchor)' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'ReminderRule' },
);

const RuleQuery = Type.Object({
  event_type: Type.Optional(EventTypeName),
  subject: Type.Optional(Subject),
});

const RuleListQuery = Type.Object({
  ...PageQuery.properties,
  ...RuleQuery.properties,
  defaults: Type.Optional(
    Type.Boolean({ description: "true: only the tenant's default rules (those without a subject)" }),
  ),
});

export async function reminderRoutes(app: App, ctx: ApiContext): Promise<void> {
  for (const schema of [ReminderRuleView, AnchorView, AnchorDetail, CalendarView]) app.addSchema(schema);
  app.put<{ Params: Static<typeof TenantParams>; Body: Static<typeof RuleBody> }>(
    '/v1/tenants/:tid/reminder-rules',
    {
      schema: {
        tags: ['reminders'],
        summary: "Set when reminders of one event type fire: the tenant's default, or one subject's own",
        description:
          'offsets ("-5 days", "2 hours", "1 month", "-3 business days") or periodic_interval (HOURLY, DAILY, WEEKLY, MONTHLY), which replaces them; neither fires once at the anchor. The catalog decides which forms a type allows (422 says why not).',
        params: TenantParams,
        body: RuleBody,
        response: {
          200: Type.Ref('ReminderRule'),
          201: Type.Ref('ReminderRule'),
          ...errors(401, 403, 404, 409, 422),
        },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const b = req.body;
      const settings = await reminderSettingsOf(ctx, b.event_type);
      const input: RuleInput = {
        offsets: b.offsets ?? null,
        periodic_interval: b.periodic_interval ?? null,
        business_days: b.business_days ?? null,
      };
      const rule = checkRule(input, settings, b.event_type);
      checkRefreshUrl(ctx, req.principal, b.refresh_url);
      const saved = await saveRule(ctx, {
        tenant_id: req.params.tid,
        event_type: b.event_type,
        subject: b.subject ?? '',
        offsets: storedOffsets(input, rule),
        periodic_interval: rule.periodic_interval,
        business_days: rule.business_days,
        // The operator's PUT says it (absent: none); a tenant's keeps what the operator set.
        ...(req.principal?.kind === 'admin' ? { refresh_url: b.refresh_url ?? null } : {}),
      });
      return reply.code(saved.created ? 201 : 200).send(ruleView(saved.rule, req.principal));
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof RuleListQuery> }>(
    '/v1/tenants/:tid/reminder-rules',
    {
      schema: {
        tags: ['reminders'],
        summary: "A tenant's reminder rules, by event type and subject",
        params: TenantParams,
        querystring: RuleListQuery,
        response: { 200: pageOf(Type.Ref('ReminderRule')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const q = req.query;
      const page = await listRulesPage(
        ctx.db,
        req.params.tid,
        {
          ...(q.event_type ? { eventType: q.event_type } : {}),
          ...(q.subject ? { subject: q.subject } : {}),
          ...(q.defaults ? { defaultsOnly: true } : {}),
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return { data: page.data.map((r) => ruleView(r, req.principal)), next_cursor: page.next_cursor };
    },
  );

  app.delete<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof RuleQuery> }>(
    '/v1/tenants/:tid/reminder-rules',
    {
      schema: {
        tags: ['reminders'],
        summary:
          'Delete one rule (event_type, and subject for a subject rule); planned reminders it gave are cancelled',
        params: TenantParams,
        querystring: Type.Object({ event_type: EventTypeName, subject: Type.Optional(Subject) }),
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const { event_type, subject } = req.query;
      if (!event_type) throw badRequest('invalid_querystring', 'event_type is required');
      const deleted = await removeRule(ctx, req.params.tid, event_type, subject ?? '');
      if (!deleted) {
        throw new ApiError(
          404,
          'reminder_rule_not_found',
          `No reminder rule for "${event_type}"${subject ? ` and subject "${subject}"` : ' (tenant default)'}.`,
        );
      }
      return reply.code(204).send();
    },
  );
  await anchorRoutes(app, ctx);
  await calendarRoutes(app, ctx);
  await notificationConfigRoutes(app, ctx);
}
