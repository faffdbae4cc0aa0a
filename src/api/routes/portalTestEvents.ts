// "Send test event": an event addressed to one endpoint, of type tidings.test or of any
// catalog type the endpoint subscribes to (with the type's first catalog example as payload).
// It is stored and delivered like any event (same worker, signing, profile, attempt log), so
// a success proves the whole path, but it reaches only the endpoint it names (see
// publishToEndpoint), and its requests carry `tidings-test: true`.
import { Type } from 'typebox';
import { deliveryRef, newId } from '../../ids.js';
import { publishFingerprint } from '../../publishing/publish.js';
import { publishToEndpoint } from '../../store/endpointDeliveries.js';
import { getEndpoint } from '../../store/endpoints.js';
import { type EventType, getEventTypes } from '../../store/eventTypes.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { conflict, notFound, unprocessable } from '../errors.js';
import { EndpointParams, errors, Timestamp } from '../schemas.js';

const TEST_EVENT_TYPE = 'tidings.test';

const TestAnswer = Type.Object({
  event_id: Type.String(),
  delivery_id: Type.String({ description: 'Follow it at GET /v1/tenants/{tid}/deliveries/{delivery_id}' }),
  type: Type.String(),
  created_at: Timestamp,
});

export async function testEventRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.post<{ Params: EndpointParams; Body: unknown }>(
    '/v1/tenants/:tid/endpoints/:eid/test',
    {
      schema: {
        tags: ['endpoints'],
        summary:
          'Send a test event (tidings.test, or a subscribed type with its catalog example) to this endpoint only',
        description:
          'The event is stored and delivered like any other (signed, in the endpoint’s wire profile, retried, logged, with the header `tidings-test: true`) but is addressed to this endpoint alone: channels, the payload filter and other endpoints are not consulted.',
        params: EndpointParams,
        // The body is optional (callers have always sent none): read by testTypeOf, documented
        // in operations.ts.
        response: { 202: TestAnswer, ...errors(401, 404, 409) },
      },
    },
    async (req, reply) => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      const now = ctx.clock.now();
      const id = newId('msg');
      const chosen = testTypeOf(req.body);
      let type = TEST_EVENT_TYPE;
      let payloadJson = JSON.stringify({
        message: 'A test event, sent from the webhook settings to this endpoint only.',
        endpoint_id: eid,
        sent_at: now.toISOString(),
      });
      if (chosen !== undefined && chosen !== TEST_EVENT_TYPE) {
        const [known] = await getEventTypes(ctx.db, [chosen]);
        if (!known) throw unprocessable('unknown_event_type', `Not in the catalog: ${chosen}.`);
        const endpoint = await getEndpoint(ctx.db, ctx.codec, tid, eid);
        if (!endpoint) throw notFound('endpoint', eid);
        if (!takesType(endpoint.event_types, known)) {
          throw unprocessable('not_subscribed', `The endpoint does not subscribe to ${chosen}.`);
        }
        type = chosen;
        payloadJson = JSON.stringify(known.examples[0] ?? {});
      }
      const outcome = await ctx.db.tx((q) =>
        publishToEndpoint(q, {
          tenantId: tid,
          endpointId: eid,
          id,
          type,
          typeDescription:
            'A test event sent on request to one endpoint (portal "Send test event", or POST …/endpoints/{eid}/test).',
          typeGroup: 'tidings',
          payloadJson,
          // Its id is new each time, so the fingerprint is never compared; it is the one formula all the same.
          requestHash: publishFingerprint(type, payloadJson, [], null),
          source: 'test',
          now,
        }),
      );
      if (outcome.kind === 'endpoint_not_found') throw notFound('endpoint', eid);
      if (outcome.kind === 'endpoint_disabled') {
        throw conflict('endpoint_disabled', 'The endpoint is disabled; enable it to send it a test event.');
      }
      await ctx.publisher.wakeWorkers();
      return reply.code(202).send({
        event_id: id,
        delivery_id: deliveryRef(outcome.deliveryId),
        type,
        created_at: now,
      });
    },
  );
}

/** Whether an endpoint's type list takes the type (the publish statement's rule, for one type). */
export function takesType(list: string[] | null, t: Pick<EventType, 'name' | 'default_enabled'>): boolean {
  if (list === null) return t.default_enabled;
  return list.some(
    (p) => p === t.name || p === '*' || (p.endsWith('.*') && t.name.startsWith(p.slice(0, -1))),
  );
}

/** The optional `{"type": "…"}` of a test event request (no body: tidings.test). */
function testTypeOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw unprocessable('invalid_request', 'The body must be a JSON object.');
  }
  for (const key of Object.keys(body)) {
    if (key !== 'type') throw unprocessable('invalid_request', `Unknown field "${key}".`);
  }
  const type = (body as { type?: unknown }).type;
  if (type === undefined) return undefined;
  if (typeof type !== 'string' || type.length === 0 || type.length > 128) {
    throw unprocessable('invalid_request', '"type" must be the name of an event type.');
  }
  return type;
}
