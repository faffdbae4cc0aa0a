import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { attachChanges } from '../../catalog/changes.js';
import { CALLER_ID_PATTERN, deliveryRef, newId } from '../../ids.js';
import { memberText } from '../../json/scan.js';
import { deliveriesOfEvent } from '../../store/deliveries.js';
import {
  getEvent,
  listEvents,
  type PublishInput,
  type PublishOutcome,
  type StoredEvent,
} from '../../store/events.js';
import { requireAdmin, requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { ApiError, badRequest, conflict, notFound, unprocessable } from '../errors.js';
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

const PublishBody = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 128, description: 'An event type of the catalog' }),
    payload: Type.Unknown({ description: 'Any JSON; kept and sent exactly as written' }),
    channels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
    id: Type.Optional(
      Type.String({
        pattern: CALLER_ID_PATTERN,
        description: 'Producer-chosen id; a repeat answers 200 with the original',
      }),
    ),
    ordering_key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    previous: Type.Optional(
      Type.Unknown({ description: 'The object before the change; Tidings computes the changes' }),
    ),
  },
  { additionalProperties: false },
);
type PublishBody = Static<typeof PublishBody>;

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
  },
  { $id: 'Event' },
);
const EventDetail = Type.Object(
  { ...EventView.properties, deliveries: Type.Array(Type.Ref('DeliverySummary')) },
  { $id: 'EventDetail' },
);

export { DeliverySummary, EventDetail, EventView, PublishAnswer };

const ListQuery = Type.Object({
  ...PageQuery.properties,
  type: Type.Optional(Type.String({ maxLength: 128 })),
  channel: Type.Optional(Type.String({ maxLength: 200 })),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
  delivery_success: Type.Optional(
    Type.Boolean({ description: 'false: only events with a delivery that has not succeeded' }),
  ),
});

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
      if (b.payload === undefined) throw unprocessable('invalid_request', 'The body needs a "payload".');
      const createdAt = ctx.clock.now();
      const producerJson = bodyMemberText(req, 'payload', b.payload);
      const previousJson = b.previous === undefined ? undefined : bodyMemberText(req, 'previous', b.previous);
      let payloadJson = producerJson;
      let payload = b.payload;
      if (b.previous !== undefined) {
        // Tidings lists the changes itself (Canopy's `changes` and `changed_at`).
        const withChanges = attachChanges(producerJson, b.previous, createdAt);
        if (!withChanges.ok) throw unprocessable('invalid_previous', `${withChanges.error}.`);
        payloadJson = withChanges.payloadJson;
        payload = JSON.parse(payloadJson);
      }
      const size = Buffer.byteLength(payloadJson);
      if (size > ctx.config.maxPayloadBytes) {
        throw new ApiError(
          413,
          'payload_too_large',
          `The payload is ${size} bytes; the limit is ${ctx.config.maxPayloadBytes} bytes (TIDINGS_MAX_PAYLOAD_BYTES).`,
          { size, limit: ctx.config.maxPayloadBytes },
        );
      }
      const types = await ctx.eventTypes.get([b.type]);
      const compiled = types.get(b.type);
      if (!compiled) {
        throw unprocessable('unknown_event_type', `"${b.type}" is not in the catalog.`, { type: b.type });
      }
      const problems = compiled.validate?.(payload) ?? [];
      if (problems.length > 0) {
        throw unprocessable(
          'payload_invalid',
          `The payload does not match the schema of "${b.type}": ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`,
          { errors: problems },
        );
      }
      const channels = [...new Set(b.channels ?? [])];
      const input: PublishInput = {
        tenantId: req.params.tid,
        id: b.id ?? newId('msg'),
        type: b.type,
        payloadJson,
        channels,
        orderingKey: b.ordering_key ?? null,
        idempotencyKey: req.headers['idempotency-key'] ?? null,
        // What the producer sent (with `previous`, not the computed changes), so a repeat matches.
        requestHash: createHash('sha256')
          .update(
            JSON.stringify([
              b.type,
              producerJson,
              [...channels].sort(),
              b.ordering_key ?? null,
              ...(previousJson === undefined ? [] : [previousJson]),
            ]),
          )
          .digest('base64'),
        source: 'api',
        createdAt,
      };
      let outcome: PublishOutcome;
      try {
        outcome = await ctx.publisher.publish(input);
      } catch (err) {
        if ((err as { code?: string }).code === '23503') throw notFound('tenant', req.params.tid);
        throw err;
      }
      if (outcome.kind === 'conflict') {
        throw conflict(
          'idempotency_conflict',
          `Event "${outcome.event.id}" was published before with a different body; an id or Idempotency-Key names one event.`,
          { id: outcome.event.id },
        );
      }
      const e = outcome.event;
      return reply
        .code(outcome.kind === 'created' ? 202 : 200)
        .send({ id: e.id, type: e.type, created_at: e.created_at, deliveries: outcome.deliveries });
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
          type: q.type,
          channel: q.channel,
          createdAfter: q.created_after ? new Date(q.created_after) : undefined,
          createdBefore: q.created_before ? new Date(q.created_before) : undefined,
          deliverySuccess: q.delivery_success,
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return { data: page.data.map(eventView), next_cursor: page.next_cursor };
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
      return { ...eventView(e), deliveries };
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
