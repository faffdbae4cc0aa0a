// One endpoint's delivery log, and the body a delivery sends. Any tenant principal may call
// these for its own endpoints (the portal is one such caller).
import { type Static, Type } from 'typebox';
import { getProfile } from '../../delivery/profiles/index.js';
import { deliveryRef, parseDeliveryRef } from '../../ids.js';
import { bodySigningKey } from '../../security/signingSecrets.js';
import {
  deliveryBySequence,
  deliverySource,
  type EndpointDeliveryView,
  listEndpointDeliveries,
} from '../../store/endpointDeliveries.js';
import { getEndpoint } from '../../store/endpoints.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest, notFound, unprocessable } from '../errors.js';
import { DeliveryState, errors, PageQuery, pageOf } from '../schemas.js';
import { DeliverySummary, deliverySummary } from './events.js';

const EndpointParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  eid: Type.String({ maxLength: 128 }),
});
const DeliveryParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  did: Type.String({ maxLength: 40 }),
});

const LogQuery = Type.Object({
  ...PageQuery.properties,
  failed: Type.Optional(
    Type.Boolean({ description: 'true: only deliveries whose last attempt failed (given up or retrying)' }),
  ),
  state: Type.Optional(DeliveryState),
  event_type: Type.Optional(Type.String({ maxLength: 128 })),
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
  sequence: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description:
        'The delivery carrying this webhook-endpoint-sequence, alone (the other filters and the cursor do not apply): a receiver that saw 57 and 59 asks for 58. An empty page: no delivery has the number (yet).',
    }),
  ),
});

const LogEntry = Type.Object({
  ...DeliverySummary.properties,
  event_id: Type.String(),
  event_type: Type.String(),
  endpoint_sequence: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The webhook-endpoint-sequence it is sent with; null until it is first claimed',
  }),
});

function logEntry(d: EndpointDeliveryView) {
  return {
    ...deliverySummary(d),
    event_id: d.event_id,
    event_type: d.event_type,
    endpoint_sequence: d.endpoint_sequence,
  };
}

const RequestBody = Type.Object({
  delivery_id: Type.String(),
  profile: Type.String(),
  body: Type.String({ description: 'The request body, exact text' }),
  rebuilt: Type.Boolean({
    description:
      'Always true: bodies are not stored; this one is built again from the stored event with the endpoint’s current profile and secret, as the next attempt would send it',
  }),
});

export async function endpointDeliveryRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.get<{ Params: Static<typeof EndpointParams>; Querystring: Static<typeof LogQuery> }>(
    '/v1/tenants/:tid/endpoints/:eid/deliveries',
    {
      schema: {
        tags: ['deliveries'],
        summary: "One endpoint's deliveries, newest first, or the one with a given endpoint sequence",
        params: EndpointParams,
        querystring: LogQuery,
        response: { 200: pageOf(LogEntry), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      if (!(await getEndpoint(ctx.db, ctx.codec, tid, eid))) throw notFound('endpoint', eid);
      const q = req.query;
      if (q.sequence !== undefined) {
        const d = await deliveryBySequence(ctx.db, tid, eid, q.sequence);
        return { data: d ? [logEntry(d)] : [], next_cursor: null };
      }
      const page = await listEndpointDeliveries(
        ctx.db,
        tid,
        eid,
        {
          failed: q.failed,
          state: q.state,
          eventType: q.event_type,
          createdAfter: q.created_after ? new Date(q.created_after) : undefined,
          createdBefore: q.created_before ? new Date(q.created_before) : undefined,
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return { data: page.data.map(logEntry), next_cursor: page.next_cursor };
    },
  );

  app.get<{ Params: Static<typeof DeliveryParams> }>(
    '/v1/tenants/:tid/deliveries/:did/request-body',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'The body this delivery sends',
        description:
          'Attempts keep their request headers but not their bodies; the body is built again from the stored event (exact payload text) by the endpoint’s wire profile.',
        params: DeliveryParams,
        response: { 200: RequestBody, ...errors(401, 404, 422) },
      },
    },
    async (req) => {
      const { tid, did } = req.params;
      requireTenant(req.principal, tid);
      const id = parseDeliveryRef(did);
      const src = id === undefined ? undefined : await deliverySource(ctx.db, tid, id);
      if (!src || id === undefined) throw notFound('delivery', did);
      let body: string;
      try {
        body = getProfile(src.profile).encode(
          {
            id: src.event_id,
            type: src.event_type,
            createdAt: src.event_created_at,
            payloadJson: src.payload,
          },
          { signingKey: bodySigningKey(ctx.codec.open(src.secret)) },
        );
      } catch (err) {
        // The worker meets the same failure and records it on the attempt.
        throw unprocessable(
          'body_not_buildable',
          `The ${src.profile} profile cannot build this body: ${(err as Error).message}`,
        );
      }
      return { delivery_id: deliveryRef(id), profile: src.profile, body, rebuilt: true };
    },
  );
}
