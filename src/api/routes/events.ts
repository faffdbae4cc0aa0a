import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { deliveryRef } from '../../ids.js';
import { memberText, scanJson } from '../../json/scan.js';
import { deliveriesOfEvent } from '../../store/deliveries/views.js';
import {
  eraseEvent,
  getEvent,
  listEvents,
  type PublishOutcome,
  type StoredEvent,
} from '../../store/events.js';
import { requireAdmin, requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { type ApiError, badRequest, conflict, notFound, unprocessable } from '../errors.js';
import { BatchRefused } from '../publisher.js';
import { PublishBody, preparePublishes } from '../publishRequest.js';
import { redactEvents } from '../redaction.js';
import {
  DeliveryState,
  errors,
  NullableTimestamp,
  PageQuery,
  pageOf,
  TenantParams,
  Timestamp,
} from '../schemas.js';
import { ensureTenant } from './endpoints.js';
import { TypeQuery, typeList } from './listFilters.js';

const PublishAnswer = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    created_at: Timestamp,
    deliveries: Type.Integer({ description: 'How many deliveries the event has' }),
  },
  { $id: 'PublishAnswer' },
);

const DeliverySummary = Type.Object(
  {
    id: Type.String(),
    endpoint_id: Type.String(),
    state: DeliveryState,
    attempts: Type.Integer(),
    next_attempt_at: NullableTimestamp,
    last_status: Type.Union([Type.Integer(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    sequence: Type.Union([Type.Integer(), Type.Null()]),
    created_at: Timestamp,
    completed_at: NullableTimestamp,
  },
  { $id: 'DeliverySummary' },
);

const EventView = Type.Object(
  {
    id: Type.String(),
    tenant_id: Type.String(),
    type: Type.String(),
    payload: Type.Unknown(),
    channels: Type.Array(Type.String()),
    ordering_key: Type.Union([Type.String(), Type.Null()]),
    source: Type.String(),
    created_at: Timestamp,
    erased_at: Type.Union([Timestamp, Type.Null()], {
      description: 'When the payload was erased (POST …/erase); the payload is null from then on',
    }),
  },
  { $id: 'Event' },
);
const EventDetail = Type.Object(
  { ...EventView.properties, deliveries: Type.Array(Type.Ref('DeliverySummary')) },
  { $id: 'EventDetail' },
);

export { BatchAnswer, DeliverySummary, EventDetail, EventView, PublishAnswer, PublishBody };

function idempotencyConflict(id: string, path?: string): ApiError {
  return conflict(
    'idempotency_conflict',
    `Event "${id}" was published before with a different body; an id or Idempotency-Key names one event.`,
    { id, ...(path ? { path } : {}) },
  );
}

/**
 * The exact texts of each item's `payload` and `previous` in a batch body, keyed "i.payload",
 * "i.previous": one scan of the raw body (see json/scan.ts).
 */
function batchMemberTexts(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  scanJson(raw, (path, start, end) => {
    if (path.length === 3 && path[0] === 'events' && (path[2] === 'payload' || path[2] === 'previous')) {
      out.set(`${path[1]}.${path[2]}`, raw.slice(start, end));
    }
  });
  return out;
}

const ListQuery = Type.Object({
  ...PageQuery.properties,
  type: Type.Optional(TypeQuery),
  channel: Type.Optional(Type.String({ maxLength: 200 })),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
  delivery_success: Type.Optional(
    Type.Boolean({ description: 'false: only events with a delivery that has not succeeded' }),
  ),
});

const BatchBody = Type.Object(
  {
    events: Type.Array(PublishBody, {
      minItems: 1,
      maxItems: 1000,
      description: 'Up to 1,000 events, each exactly like the body of a single publish',
    }),
  },
  { additionalProperties: false },
);

const BatchAnswer = Type.Object(
  {
    events: Type.Array(
      Type.Object({
        id: Type.String(),
        deliveries: Type.Integer({ description: 'How many deliveries the event has' }),
        duplicate: Type.Boolean({ description: 'A repeat of an earlier publish: nothing new was stored' }),
      }),
      { description: 'In request order' },
    ),
  },
  { $id: 'BatchPublishAnswer' },
);

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});

function eventView(e: StoredEvent) {
  const { seq: _seq, idempotency_key: _k, ...rest } = e;
  return rest;
}

/**
 * The exact text of a member of the body (`payload`, `previous`) as the producer wrote it.
 * Fastify keeps the raw body for us (see server.ts).
 */
function bodyMemberText(req: FastifyRequest, name: string, value: unknown): string {
  return (req.rawBody === undefined ? undefined : memberText(req.rawBody, name)) ?? JSON.stringify(value);
}

export async function eventRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.post<{
    Params: Static<typeof TenantParams>;
    Body: PublishBody;
    Headers: Static<typeof IdempotencyHeaders>;
  }>(
    '/v1/tenants/:tid/events',
    {
      // The envelope may be a little bigger than the payload limit; the payload itself is checked below.
      bodyLimit: ctx.config.maxPayloadBytes + 64 * 1024,
      schema: {
        tags: ['events'],
        summary: 'Publish an event: stored durably, then fanned out to every matching endpoint',
        params: TenantParams,
        headers: IdempotencyHeaders,
        body: PublishBody,
        response: {
          200: Type.Ref('PublishAnswer'),
          202: Type.Ref('PublishAnswer'),
          ...errors(400, 401, 403, 404, 409, 413, 422),
        },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      const b = req.body;
      const [input] = await preparePublishes(ctx, req.params.tid, [
        {
          body: b,
          payloadText: bodyMemberText(req, 'payload', b.payload),
          previousText: b.previous === undefined ? undefined : bodyMemberText(req, 'previous', b.previous),
          idempotencyKey: req.headers['idempotency-key'] ?? null,
          path: '',
        },
      ]);
      const outcome = await ctx.publisher.publish(input!);
      if (outcome.kind === 'no_tenant') throw notFound('tenant', req.params.tid);
      if (outcome.kind === 'conflict') throw idempotencyConflict(outcome.event.id);
      const e = outcome.event;
      return reply
        .code(outcome.kind === 'created' ? 202 : 200)
        .send({ id: e.id, type: e.type, created_at: e.created_at, deliveries: outcome.deliveries });
    },
  );

  app.post<{ Params: Static<typeof TenantParams>; Body: Static<typeof BatchBody> }>(
    '/v1/tenants/:tid/events/batch',
    {
      bodyLimit: ctx.config.maxBatchBytes,
      schema: {
        tags: ['events'],
        summary: 'Publish up to 1,000 events at once, all or nothing',
        description:
          'Each item is checked like a single publish; one bad item answers 422 (or 413) naming it (`events[3].payload.amount`) and nothing is stored. Idempotent per item `id`: a repeat answers its original with `duplicate: true`. The whole body may be at most TIDINGS_MAX_BATCH_BYTES.',
        params: TenantParams,
        body: BatchBody,
        response: { 202: Type.Ref('BatchPublishAnswer'), ...errors(400, 401, 403, 404, 409, 413, 422) },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      const items = req.body.events;
      const texts = req.rawBody === undefined ? undefined : batchMemberTexts(req.rawBody);
      const inputs = await preparePublishes(
        ctx,
        req.params.tid,
        items.map((body, i) => ({
          body,
          payloadText: texts?.get(`${i}.payload`),
          previousText: body.previous === undefined ? undefined : texts?.get(`${i}.previous`),
          idempotencyKey: null,
          path: `events[${i}]`,
        })),
      );
      const seen = new Map<string, number>();
      for (const [i, input] of inputs.entries()) {
        const first = seen.get(input.id);
        if (first !== undefined) {
          throw unprocessable('duplicate_id', `events[${i}] repeats the id of events[${first}].`, {
            path: `events[${i}].id`,
          });
        }
        seen.set(input.id, i);
      }
      let outcomes: PublishOutcome[];
      try {
        outcomes = await ctx.publisher.publishAll(inputs);
      } catch (err) {
        if (!(err instanceof BatchRefused)) throw err;
        if (err.outcome.kind === 'conflict')
          throw idempotencyConflict(err.outcome.event.id, `events[${err.index}]`);
        throw notFound('tenant', req.params.tid);
      }
      const answer = outcomes.map((o) => {
        // publishAll refuses the other kinds.
        if (o.kind !== 'created' && o.kind !== 'duplicate') throw new Error(`unexpected outcome ${o.kind}`);
        return { id: o.event.id, deliveries: o.deliveries, duplicate: o.kind === 'duplicate' };
      });
      return reply.code(202).send({ events: answer });
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof ListQuery> }>(
    '/v1/tenants/:tid/events',
    {
      schema: {
        tags: ['events'],
        summary: "List a tenant's events, newest first",
        params: TenantParams,
        querystring: ListQuery,
        response: { 200: pageOf(Type.Ref('Event')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const q = req.query;
      const page = await listEvents(
        ctx.db,
        req.params.tid,
        {
          types: typeList(q.type),
          channel: q.channel,
          createdAfter: q.created_after ? new Date(q.created_after) : undefined,
          createdBefore: q.created_before ? new Date(q.created_before) : undefined,
          deliverySuccess: q.delivery_success,
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return {
        data: await redactEvents(ctx, req.principal, page.data.map(eventView)),
        next_cursor: page.next_cursor,
      };
    },
  );

  app.get<{ Params: { tid: string; id: string } }>(
    '/v1/tenants/:tid/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'An event and its deliveries',
        params: Type.Object({ tid: Type.String({ maxLength: 128 }), id: Type.String({ maxLength: 128 }) }),
        response: { 200: Type.Ref('EventDetail'), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const e = await getEvent(ctx.db, req.params.tid, req.params.id);
      if (!e) throw notFound('event', req.params.id);
      const deliveries = (await deliveriesOfEvent(ctx.db, e.seq)).map(deliverySummary);
      const [shown] = await redactEvents(ctx, req.principal, [eventView(e)]);
      return { ...shown!, deliveries };
    },
  );

  app.post<{ Params: { tid: string; id: string } }>(
    '/v1/tenants/:tid/events/:id/erase',
    {
      schema: {
        tags: ['events'],
        summary: "Erase an event's payload and the bodies its attempts kept (personal data)",
        description:
          'Operator only. The event keeps its id, type, channels and deliveries; every attempt keeps its body_sha256, so the attempt chain still verifies. Refused (409) while a delivery still has work; a plain delivery given up is taken out of the queue (it cannot be resent). Erasing twice answers the first erase.',
        params: Type.Object({ tid: Type.String({ maxLength: 128 }), id: Type.String({ maxLength: 128 }) }),
        response: {
          200: Type.Object({
            id: Type.String(),
            erased_at: Timestamp,
            payload_sha256: Type.String({ description: 'sha256 (hex) of the payload text that was erased' }),
            bodies_removed: Type.Integer({ description: 'Kept request bodies removed' }),
          }),
          ...errors(401, 403, 404, 409),
        },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      const { tid, id } = req.params;
      const r = await ctx.db.tx((q) => eraseEvent(q, tid, id, ctx.clock.now()));
      if (r.kind === 'not_found') throw notFound('event', id);
      if (r.kind === 'owed') {
        throw conflict(
          'event_still_owed',
          `The event still has ${r.deliveries} delivery(ies) with work (pending, in flight, or an ordered head given up); cancel or skip them first.`,
          { deliveries: r.deliveries },
        );
      }
      return { id, erased_at: r.erased_at, payload_sha256: r.payload_sha256, bodies_removed: r.bodies };
    },
  );
}

export function deliverySummary(d: {
  id: number;
  endpoint_id: string;
  state: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  sequence: number | null;
  created_at: Date;
  completed_at: Date | null;
}) {
  return {
    id: deliveryRef(d.id),
    endpoint_id: d.endpoint_id,
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: d.state === 'pending' ? d.next_attempt_at : null,
    last_status: d.last_status,
    last_error: d.last_error,
    sequence: d.sequence,
    created_at: d.created_at,
    completed_at: d.completed_at,
  };
}
