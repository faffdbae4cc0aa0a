// Reminder anchors: the facts (a due date, a delinquency) reminders are planned from. Writing
// one (PUT, resolve) needs the operator token, like publishing; reading is the tenant's own.
// Every write re-plans the anchor in the same transaction, under its row lock.
import { type Static, Type } from 'typebox';
import { CALLER_ID_PATTERN } from '../../ids.js';
import { memberText, scanTopLevel } from '../../json/raw.js';
import { checkPayloadSchema, checkPayloadText } from '../../publishing/publish.js';
import { isValidTimeZone } from '../../scheduler/calendar.js';
import { firePayload } from '../../scheduler/payload.js';
import { processAnchors } from '../../scheduler/planner.js';
import { getAnchor, listAnchors, resolveAnchors, upsertAnchor } from '../../store/reminders/anchors.js';
import { getCalendar } from '../../store/reminders/calendars.js';
import { slotsOfAnchor } from '../../store/reminders/slots.js';
import type { Anchor, StoredSlot } from '../../store/reminders/types.js';
import { requireAdmin, requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { withinRange } from '../dates.js';
import { badRequest, notFound, unprocessable } from '../errors.js';
import { countCreated } from '../quotas.js';
import { EventTypeName, reminderSettingsOf, Subject } from '../reminderRules.js';
import { errors, NullableTimestamp, PageQuery, pageOf, TenantParams, Timestamp } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

/** Offsets reach about ten years (scheduler/offsets.ts); an anchor leaves room for them. */
const ANCHOR_MARGIN_MS = 11 * 366 * 86_400_000;

const AnchorParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  anchor_id: Type.String({ pattern: CALLER_ID_PATTERN }),
});

const AnchorBody = Type.Object(
  {
    event_type: EventTypeName,
    subject: Subject,
    at: Type.String({ format: 'date-time', description: 'The moment offsets count from' }),
    time_zone: Type.Optional(
      Type.String({ maxLength: 64, description: "IANA zone; default: the calendar's, else UTC" }),
    ),
    window_start: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    window_end: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    payload: Type.Record(Type.String(), Type.Unknown(), { description: 'Sent with every reminder' }),
    channels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
type AnchorBody = Static<typeof AnchorBody>;

const SlotView = Type.Object({
  key: Type.String(),
  due_at: Timestamp,
  state: Type.Union(
    ['planned', 'fired', 'skipped', 'cancelled'].map((s) => Type.Literal(s)),
    {
      description:
        'planned: still to fire; fired: published as an event; skipped or cancelled: will not fire',
    },
  ),
  event_id: Type.Union([Type.String(), Type.Null()]),
  fired_at: NullableTimestamp,
  late: Type.Union([Type.Boolean(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
});

export const AnchorView = Type.Object(
  {
    anchor_id: Type.String(),
    event_type: Type.String(),
    subject: Type.String(),
    at: Timestamp,
    time_zone: Type.String(),
    window_start: NullableTimestamp,
    window_end: NullableTimestamp,
    payload: Type.Unknown(),
    channels: Type.Array(Type.String()),
    resolved_at: NullableTimestamp,
    resolution: Type.Union([Type.String(), Type.Null()]),
    version: Type.Integer(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Anchor' },
);
export const AnchorDetail = Type.Object(
  {
    ...AnchorView.properties,
    next_due_at: NullableTimestamp,
    slots: Type.Array(SlotView, {
      description: 'Fired, planned, skipped and cancelled fire times, in time order',
    }),
  },
  { $id: 'AnchorDetail' },
);

const AnchorListQuery = Type.Object({
  ...PageQuery.properties,
  event_type: Type.Optional(EventTypeName),
  subject: Type.Optional(Subject),
  open: Type.Optional(Type.Boolean({ description: 'true: unresolved only; false: resolved only' })),
});

function anchorView(a: Anchor) {
  return {
    anchor_id: a.anchor_id,
    event_type: a.event_type,
    subject: a.subject,
    at: a.at,
    time_zone: a.time_zone,
    window_start: a.window_start,
    window_end: a.window_end,
    payload: JSON.parse(a.payload) as unknown,
    channels: a.channels,
    resolved_at: a.resolved_at,
    resolution: a.resolution,
    version: a.version,
    created_at: a.created_at,
    updated_at: a.updated_at,
  };
}

function anchorDetail(a: Anchor, slots: StoredSlot[]) {
  const next = slots.find((s) => s.state === 'planned');
  return {
    ...anchorView(a),
    next_due_at: next?.due_at ?? null,
    slots: slots.map((s) => ({
      key: s.slot_key,
      due_at: s.due_at,
      state: s.state,
      event_id: s.event_id,
      fired_at: s.fired_at,
      late: s.late,
      reason: s.reason,
      last_error: s.last_error,
    })),
  };
}

function parseTime(text: string | null | undefined, name: string): Date | null {
  if (text == null) return null;
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw unprocessable('invalid_request', `${name}: "${text}" is not a date-time`);
  return d;
}

/** The payload's exact text, from the raw request body when there is one. */
function payloadText(rawBody: string | undefined, payload: unknown): string {
  if (rawBody !== undefined) {
    const scan = scanTopLevel(rawBody);
    const text = scan && memberText(rawBody, scan, 'payload');
    if (text !== undefined) return text;
  }
  return JSON.stringify(payload);
}

export async function anchorRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.put<{ Params: Static<typeof AnchorParams>; Body: AnchorBody }>(
    '/v1/tenants/:tid/anchors/:anchor_id',
    {
      bodyLimit: ctx.config.maxPayloadBytes + 64 * 1024,
      schema: {
        tags: ['reminders'],
        summary: 'State an anchor (a due date, a delinquency): reminders are planned from it at once',
        description:
          'Replacing an anchor (a due date moved) re-plans what has not fired yet; fired reminders are never sent again. A resolved anchor stays resolved.',
        params: AnchorParams,
        body: AnchorBody,
        response: {
          200: Type.Ref('AnchorDetail'),
          201: Type.Ref('AnchorDetail'),
          ...errors(400, 401, 403, 404, 409, 413, 422),
        },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      const { tid, anchor_id } = req.params;
      await ensureTenant(ctx, tid);
      const b = req.body;
      await reminderSettingsOf(ctx, b.event_type);
      const at = parseTime(b.at, 'at')!;
      if (!withinRange(at, ANCHOR_MARGIN_MS)) {
        throw unprocessable(
          'invalid_request',
          'at: must be between 1011 and 9988, so that every reminder time computed from it (up to about ten years either way) can be stored.',
        );
      }
      const windowStart = parseTime(b.window_start, 'window_start');
      const windowEnd = parseTime(b.window_end, 'window_end');
      if (windowStart && windowEnd && windowStart > windowEnd) {
        throw unprocessable('invalid_window', 'window_start is after window_end.');
      }
      let zone = b.time_zone;
      if (zone === undefined) zone = (await getCalendar(ctx.db, tid))?.time_zone ?? 'UTC';
      if (!isValidTimeZone(zone)) {
        throw unprocessable(
          'invalid_time_zone',
          `time_zone: "${zone}" is not an IANA time zone (e.g. "America/Chicago").`,
        );
      }
      const payload = payloadText(req.rawBody, b.payload);
      checkPayloadText(payload, ctx.config.maxPayloadBytes);
      await checkPayload(ctx, b.event_type, payload, at, zone);
      const now = ctx.clock.now();
      const { anchor, created, slots } = await ctx.db.tx(async (q) => {
        const saved = await upsertAnchor(
          q,
          {
            tenant_id: tid,
            anchor_id,
            event_type: b.event_type,
            subject: b.subject,
            at,
            time_zone: zone,
            window_start: windowStart,
            window_end: windowEnd,
            payload,
            channels: [...new Set(b.channels ?? [])],
          },
          now,
        );
        await processAnchors(q, [{ tenant_id: tid, anchor_id }], { now, fire: false });
        const slots = await slotsOfAnchor(q, tid, anchor_id);
        if (saved.created) await countCreated(q, ctx, 'anchors', tid);
        return { ...saved, slots };
      });
      return reply.code(created ? 201 : 200).send(anchorDetail(anchor, slots));
    },
  );

  app.get<{ Params: Static<typeof AnchorParams> }>(
    '/v1/tenants/:tid/anchors/:anchor_id',
    {
      schema: {
        tags: ['reminders'],
        summary: 'An anchor with its fired and planned reminder times',
        params: AnchorParams,
        response: { 200: Type.Ref('AnchorDetail'), ...errors(401, 404) },
      },
    },
    async (req) => {
      const { tid, anchor_id } = req.params;
      requireTenant(req.principal, tid);
      const anchor = await getAnchor(ctx.db, tid, anchor_id);
      if (!anchor) throw notFound('anchor', anchor_id);
      return anchorDetail(anchor, await slotsOfAnchor(ctx.db, tid, anchor_id));
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof AnchorListQuery> }>(
    '/v1/tenants/:tid/anchors',
    {
      schema: {
        tags: ['reminders'],
        summary: "A tenant's anchors, by id",
        params: TenantParams,
        querystring: AnchorListQuery,
        response: { 200: pageOf(Type.Ref('Anchor')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const q = req.query;
      const page = await listAnchors(
        ctx.db,
        req.params.tid,
        {
          ...(q.event_type ? { eventType: q.event_type } : {}),
          ...(q.subject ? { subject: q.subject } : {}),
          ...(q.open !== undefined ? { open: q.open } : {}),
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return { data: page.data.map(anchorView), next_cursor: page.next_cursor };
    },
  );

  app.post<{ Params: Static<typeof AnchorParams> }>(
    '/v1/tenants/:tid/anchors/:anchor_id/resolve',
    {
      schema: {
        tags: ['reminders'],
        summary: 'Resolve an anchor ("minimum payment covered", "no longer delinquent"): nothing more fires',
        params: AnchorParams,
        response: { 200: Type.Ref('AnchorDetail'), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      const { tid, anchor_id } = req.params;
      const now = ctx.clock.now();
      const found = await ctx.db.tx(async (q) => {
        const keys = await resolveAnchors(q, [{ tenant_id: tid, anchor_id }], 'api', now);
        if (keys.length === 0) return undefined;
        await processAnchors(q, keys, { now, fire: false });
        return {
          anchor: (await getAnchor(q, tid, anchor_id))!,
          slots: await slotsOfAnchor(q, tid, anchor_id),
        };
      });
      if (!found) throw notFound('anchor', anchor_id);
      return anchorDetail(found.anchor, found.slots);
    },
  );
}

/**
 * The anchor's payload, as it will go out (with the computed fields), must match the type's
 * JSON Schema: a producer learns at PUT time, not when the first reminder fails to fit.
 */
async function checkPayload(
  ctx: ApiContext,
  type: string,
  payload: string,
  at: Date,
  zone: string,
): Promise<void> {
  const compiled = (await ctx.eventTypes.get([type])).get(type);
  if (!compiled?.validate) return;
  const sample = JSON.parse(
    firePayload({
      eventType: type,
      payloadText: payload,
      anchorAt: at,
      timeZone: zone,
      firedAt: at,
      late: false,
    }),
  ) as unknown;
  checkPayloadSchema(compiled, sample, {
    note: 'time_stamp and the day counts are added when a reminder fires',
  });
}
