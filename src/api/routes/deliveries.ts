import { type Static, Type } from 'typebox';
import { parseDeliveryRef } from '../../ids.js';
import type { Queryable } from '../../store/db.js';
import { resendDelivery } from '../../store/deliveries/requeue.js';
import { attemptsOf, getDelivery } from '../../store/deliveries/views.js';
import { deliveryEventErased } from '../../store/events.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { DeliveryState, errors, NullableTimestamp, Timestamp } from '../schemas.js';
import { deliverySummary } from './events.js';

const Attempt = Type.Object(
  {
    attempt: Type.Integer(),
    started_at: Timestamp,
    duration_ms: Type.Integer(),
    url: Type.String(),
    status: Type.Union([Type.Integer(), Type.Null()]),
    request_headers: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
    response_headers: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
    response_body: Type.Union([
      Type.String({ description: 'Its first TIDINGS_RESPONSE_BODY_LIMIT bytes (4 KiB by default)' }),
      Type.Null(),
    ]),
    error: Type.Union([Type.String(), Type.Null()]),
    body_sha256: Type.Union([
      Type.String({
        description: 'sha256 (hex) of the exact request body sent; what a receiver can hash to compare',
      }),
      Type.Null(),
    ]),
  },
  { $id: 'Attempt' },
);

const DeliveryDetail = Type.Object(
  {
    id: Type.String(),
    event_id: Type.String(),
    event_type: Type.String(),
    endpoint_id: Type.String(),
    state: DeliveryState,
    attempts: Type.Integer(),
    next_attempt_at: NullableTimestamp,
    last_status: Type.Union([Type.Integer(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    ordering_key: Type.Union([Type.String(), Type.Null()]),
    sequence: Type.Union([Type.Integer(), Type.Null()]),
    created_at: Timestamp,
    completed_at: NullableTimestamp,
    attempt_log: Type.Array(Type.Ref('Attempt')),
  },
  { $id: 'Delivery' },
);

export { Attempt, DeliveryDetail };

const Params = Type.Object({ tid: Type.String({ maxLength: 128 }), did: Type.String({ maxLength: 40 }) });
type Params = Static<typeof Params>;

export async function deliveryRoutes(app: App, ctx: ApiContext): Promise<void> {
  async function find(tid: string, ref: string) {
    const id = parseDeliveryRef(ref);
    const d = id === undefined ? undefined : await getDelivery(ctx.db, tid, id);
    if (!d) throw notFound('delivery', ref);
    return d;
  }

  app.get<{ Params: Params }>(
    '/v1/tenants/:tid/deliveries/:did',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'A delivery with every attempt',
        params: Params,
        response: { 200: Type.Ref('Delivery'), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const d = await find(req.params.tid, req.params.did);
      return {
        ...deliverySummary(d),
        event_id: d.event_id,
        event_type: d.event_type,
        ordering_key: d.ordering_key,
        attempt_log: await attemptsOf(ctx.db, d.id),
      };
    },
  );

  app.post<{ Params: Params }>(
    '/v1/tenants/:tid/deliveries/:did/resend',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'Queue one more attempt now',
        params: Params,
        response: {
          202: Type.Object({ id: Type.String(), state: Type.Literal('pending') }),
          ...errors(401, 404, 409),
        },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      await deliveryAction(ctx, req.params.did, async (q, id, now) => {
        if (await deliveryEventErased(q, req.params.tid, id)) {
          throw conflict(
            'event_erased',
            'The event of this delivery was erased; there is nothing to send again.',
          );
        }
        return resendDelivery(q, req.params.tid, id, now);
      });
      return reply.code(202).send({ id: req.params.did, state: 'pending' });
    },
  );
}

/**
 * Runs a state change on one delivery (resend, skip) in a transaction and answers the
 * outcomes they share: an unknown id is 404, a delivery being sent right now is 409. Workers
 * are woken afterwards, since the change may have made work due.
 */
export async function deliveryAction<T extends string>(
  ctx: ApiContext,
  ref: string,
  action: (q: Queryable, id: number, now: Date) => Promise<T | 'not_found' | 'in_flight'>,
): Promise<T> {
  const id = parseDeliveryRef(ref);
  const outcome = id === undefined ? 'not_found' : await ctx.db.tx((q) => action(q, id, ctx.clock.now()));
  if (outcome === 'not_found') throw notFound('delivery', ref);
  if (outcome === 'in_flight') {
    throw conflict('delivery_in_flight', 'The delivery is being sent right now; try again when it is done.');
  }
  await ctx.publisher.wakeWorkers();
  return outcome as T;
}
