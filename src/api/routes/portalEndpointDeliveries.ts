// One endpoint's delivery log, and the body a delivery sends. Any tenant principal may call
// these for its own endpoints (the portal is one such caller).
import { type Static, Type } from 'typebox';
import { bodySha256, openKeptBody } from '../../delivery/keptBody.js';
import { getProfile, PAYLOAD_PLACES } from '../../delivery/profiles/index.js';
import { deliveryRef, parseDeliveryRef } from '../../ids.js';
import { bodySigningKey } from '../../signing/secrets.js';
import { sentBody } from '../../store/deliveries/views.js';
import {
  deliveryBySequence,
  deliverySource,
  type EndpointDeliveryView,
  listEndpointDeliveries,
} from '../../store/endpointDeliveries.js';
import { getEndpoint } from '../../store/endpoints.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { ApiError, badRequest, notFound, unprocessable } from '../errors.js';
import { redactBody } from '../redaction.js';
import { DeliveryState, EndpointParams, errors, PageQuery, pageOf } from '../schemas.js';
import { DeliverySummary, deliverySummary } from './events.js';
import { StatusQuery, statusRange } from './listFilters.js';

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
  status: Type.Optional(StatusQuery),
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

export const LogEntry = Type.Object({
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

export const RequestBody = Type.Object({
  delivery_id: Type.String(),
  profile: Type.String(),
  body: Type.String({
    description:
      'The request body: the exact text an attempt sent (kept compressed for TIDINGS_BODY_RETENTION_DAYS), with personal data redacted for tenant callers',
  }),
  rebuilt: Type.Boolean({
    description:
      'false: the body an attempt sent, as kept. true: no attempt has been made yet; built from the stored event with the endpoint’s current profile and secret, as the next attempt would send it',
  }),
  attempt: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The attempt that sent it (null when rebuilt)',
  }),
  sha256: Type.String({
    description: 'sha256 (hex) of the exact bytes sent (or to be sent), before any redaction',
  }),
  redacted: Type.Boolean({
    description: 'Personal data in the body is shown as "[redacted]" (the catalog’s redact pointers)',
  }),
});

const BodyQuery = Type.Object({
  attempt: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description: 'This attempt’s body (default: the last attempt’s)',
    }),
  ),
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
          status: statusRange(q.status),
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return { data: page.data.map(logEntry), next_cursor: page.next_cursor };
    },
  );

  app.get<{ Params: Static<typeof DeliveryParams>; Querystring: Static<typeof BodyQuery> }>(
    '/v1/tenants/:tid/deliveries/:did/request-body',
    {
      schema: {
        tags: ['deliveries'],
        summary: 'The body this delivery sent',
        description:
          'The exact body an attempt sent, as kept (never rebuilt with the endpoint’s current secret). Bodies are kept for TIDINGS_BODY_RETENTION_DAYS; after that, or after an erase, 410 with the sha256 that stays. A delivery not attempted yet answers the body its next attempt will send (rebuilt: true).',
        params: DeliveryParams,
        querystring: BodyQuery,
        response: { 200: RequestBody, ...errors(401, 404, 410, 422) },
      },
    },
    async (req) => {
      const { tid, did } = req.params;
      requireTenant(req.principal, tid);
      const id = parseDeliveryRef(did);
      const src = id === undefined ? undefined : await deliverySource(ctx.db, tid, id);
      if (!src || id === undefined) throw notFound('delivery', did);
      // A kept body may predate a change of the endpoint's profile: redact wherever any
      // profile puts the payload (redacting too much in a view is harmless; too little is not).
      const payloadAt = PAYLOAD_PLACES;
      const sent = await sentBody(ctx.db, id, req.query.attempt);
      if (req.query.attempt !== undefined && !sent) throw notFound('attempt', String(req.query.attempt));
      if (sent?.body_sha256) {
        if (!sent.packed) {
          throw new ApiError(
            410,
            'body_not_kept',
            `The body of attempt ${sent.attempt} is no longer kept (TIDINGS_BODY_RETENTION_DAYS, or the event was erased); its sha256 was ${sent.body_sha256}.`,
            { attempt: sent.attempt, sha256: sent.body_sha256 },
          );
        }
        const shown = await redactBody(
          ctx,
          req.principal,
          src.event_type,
          payloadAt,
          await openKeptBody(sent.packed),
        );
        return {
          delivery_id: deliveryRef(id),
          profile: src.profile,
          body: shown.body,
          rebuilt: false,
          attempt: sent.attempt,
          sha256: sent.body_sha256,
          redacted: shown.redacted,
        };
      }
      if (src.erased)
        throw new ApiError(410, 'event_erased', 'The event was erased; it has no body any more.');
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
      const shown = await redactBody(ctx, req.principal, src.event_type, payloadAt, body);
      return {
        delivery_id: deliveryRef(id),
        profile: src.profile,
        body: shown.body,
        rebuilt: true,
        attempt: null,
        sha256: bodySha256(body),
        redacted: shown.redacted,
      };
    },
  );
}
