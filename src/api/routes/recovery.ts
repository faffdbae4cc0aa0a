// Getting an endpoint going again: requeue what failed, see which ordering keys are held up
// by a failing head, and skip a head that should never be sent.
import { type Static, Type } from 'typebox';
import { deliveryRef } from '../../ids.js';
import { requeueFailed, skipDelivery } from '../../store/deliveries/requeue.js';
import { getEndpoint } from '../../store/endpoints.js';
import { listOrderingKeys } from '../../store/ordering.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest, conflict, notFound, unprocessable } from '../errors.js';
import { replayFailed } from '../replay.js';
import { EndpointParams, errors, NullableTimestamp, PageQuery, pageOf, TenantParams } from '../schemas.js';
import { deliveryAction } from './deliveries.js';
import { ensureTenant } from './endpoints.js';
import { TypeList, typeList } from './listFilters.js';

const RecoverBody = Type.Object(
  {
    since: Type.String({
      format: 'date-time',
      description: 'Failed deliveries created at or after this time are queued again',
    }),
    until: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'And before this time (exclusive); default: no end',
      }),
    ),
  },
  { additionalProperties: false },
);

const ReplayBody = Type.Object(
  {
    endpoint_id: Type.Optional(
      Type.String({ maxLength: 128, description: 'One endpoint; absent: all of the tenant' }),
    ),
    state: Type.Optional(
      Type.Literal('failed', { description: 'Only given-up (failed) deliveries are replayed' }),
    ),
    type: Type.Optional(TypeList),
    since: Type.String({ format: 'date-time', description: 'Deliveries created at or after this time' }),
    until: Type.String({ format: 'date-time', description: 'Deliveries created before this time' }),
    dry_run: Type.Optional(Type.Boolean({ description: 'true: count what would be queued, queue nothing' })),
  },
  { additionalProperties: false },
);

const ReplayAnswer = Type.Object({
  matched: Type.Integer({ description: 'Failed deliveries the filter matched' }),
  queued: Type.Integer({ description: 'How many were queued for one more attempt (0 on a dry run)' }),
  dry_run: Type.Boolean(),
});

const OrderingKey = Type.Object(
  {
    key: Type.String({
      description: 'The ordering key; "" on an endpoint with ordering "endpoint" (one key for all)',
    }),
    blocked: Type.Boolean({ description: 'The head has failed: the key waits for it (other keys flow)' }),
    blocked_since: NullableTimestamp,
    unfinished: Type.Integer({ description: 'Deliveries of the key not yet done, the head included' }),
    last_sequence: Type.Integer({ description: 'The last sequence number handed out for the key' }),
    head: Type.Object({
      delivery_id: Type.String(),
      sequence: Type.Integer(),
      state: Type.Union([Type.Literal('pending'), Type.Literal('delivering'), Type.Literal('failed')], {
        description: 'pending, delivering, or failed (given up: resend it, or skip it to release the key)',
      }),
      attempts: Type.Integer(),
      next_attempt_at: NullableTimestamp,
      last_status: Type.Union([Type.Integer(), Type.Null()]),
      last_error: Type.Union([Type.String(), Type.Null()]),
    }),
  },
  { $id: 'OrderingKey' },
);

const KeysQuery = Type.Object({
  ...PageQuery.properties,
  blocked: Type.Optional(Type.Boolean({ description: 'true: only keys whose head has failed' })),
});

const DeliveryParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  did: Type.String({ maxLength: 40 }),
});

export { OrderingKey };

export async function recoveryRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(OrderingKey);

  async function ensureEndpoint(tid: string, eid: string): Promise<void> {
    if (!(await getEndpoint(ctx.db, ctx.codec, tid, eid))) throw notFound('endpoint', eid);
  }

  app.post<{ Params: EndpointParams; Body: Static<typeof RecoverBody> }>(
    '/v1/tenants/:tid/endpoints/:eid/recover',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Queue again every failed delivery of the endpoint in a window of time',
        description:
          'Each failed delivery created at or after `since` (and before `until`, when given) gets one more attempt (ordered ones in sequence order). On a disabled endpoint they wait until it is enabled.',
        params: EndpointParams,
        body: RecoverBody,
        response: { 202: Type.Object({ requeued: Type.Integer() }), ...errors(401, 404, 422) },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      const since = new Date(req.body.since);
      const until = req.body.until === undefined ? undefined : new Date(req.body.until);
      if (until && until <= since) {
        throw unprocessable('invalid_window', '`until` must be later than `since`.', { path: 'body/until' });
      }
      await ensureEndpoint(req.params.tid, req.params.eid);
      const requeued = await ctx.db.tx((q) =>
        requeueFailed(q, req.params.tid, req.params.eid, since, ctx.clock.now(), until),
      );
      if (requeued > 0) await ctx.publisher.wakeWorkers();
      return reply.code(202).send({ requeued });
    },
  );

  app.post<{ Params: Static<typeof TenantParams>; Body: Static<typeof ReplayBody> }>(
    '/v1/tenants/:tid/deliveries/replay',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'Replay failed deliveries in bulk (count first with dry_run)',
        description:
          'Every given-up delivery created in [since, until) (of one endpoint, of some event types) gets one more attempt, queued in batches of a few hundred so that other deliveries keep flowing. `dry_run: true` only counts them.',
        params: TenantParams,
        body: ReplayBody,
        response: { 200: ReplayAnswer, 202: ReplayAnswer, ...errors(401, 404, 422) },
      },
    },
    async (req, reply) => {
      const { tid } = req.params;
      const b = req.body;
      requireTenant(req.principal, tid);
      if (b.endpoint_id) await ensureEndpoint(tid, b.endpoint_id);
      else await ensureTenant(ctx, tid);
      const since = new Date(b.since);
      const until = new Date(b.until);
      if (since >= until) throw unprocessable('invalid_range', '`since` must be before `until`.');
      const dryRun = b.dry_run === true;
      const types = typeList(b.type);
      const r = await replayFailed(
        ctx.db,
        {
          tenantId: tid,
          ...(b.endpoint_id ? { endpointId: b.endpoint_id } : {}),
          ...(types ? { types } : {}),
          since,
          until,
        },
        { dryRun, now: () => ctx.clock.now(), onBatch: () => ctx.publisher.wakeWorkers() },
      );
      return reply.code(dryRun ? 200 : 202).send({ ...r, dry_run: dryRun });
    },
  );

  app.get<{ Params: EndpointParams; Querystring: Static<typeof KeysQuery> }>(
    '/v1/tenants/:tid/endpoints/:eid/ordering-keys',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Ordering keys with unfinished deliveries, and which of them are blocked by a failing head',
        params: EndpointParams,
        querystring: KeysQuery,
        response: { 200: pageOf(Type.Ref('OrderingKey')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureEndpoint(req.params.tid, req.params.eid);
      const page = await listOrderingKeys(ctx.db, req.params.eid, {
        blocked: req.query.blocked ?? false,
        limit: req.query.limit ?? 50,
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
      });
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return {
        data: page.data.map((k) => ({
          key: k.key,
          blocked: k.blocked,
          blocked_since: k.blocked_since,
          unfinished: k.unfinished,
          last_sequence: k.last_sequence,
          head: {
            delivery_id: deliveryRef(k.head_delivery_id),
            sequence: k.head_sequence,
            state: k.head_state,
            attempts: k.head_attempts,
            next_attempt_at: k.head_next_attempt_at,
            last_status: k.head_last_status,
            last_error: k.head_last_error,
          },
        })),
        next_cursor: page.next_cursor,
      };
    },
  );

  app.post<{ Params: Static<typeof DeliveryParams> }>(
    '/v1/tenants/:tid/deliveries/:did/skip',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'Give up on a delivery for good (cancelled), releasing its ordering key',
        description:
          'For a pending or failed delivery. On an ordered endpoint the next event of the key becomes due: use it when a given-up head should never be sent.',
        params: DeliveryParams,
        response: {
          202: Type.Object({ id: Type.String(), state: Type.Literal('cancelled') }),
          ...errors(401, 404, 409),
        },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      const outcome = await deliveryAction(ctx, req.params.did, (q, id, now) =>
        skipDelivery(q, req.params.tid, id, now),
      );
      if (outcome === 'finished') {
        throw conflict('delivery_finished', 'The delivery has already succeeded or been cancelled.');
      }
      ctx.publisher.observer.cancelled(req.params.tid);
      return reply.code(202).send({ id: req.params.did, state: 'cancelled' as const });
    },
  );
}
