// "Send test event": an event of type tidings.test addressed to one endpoint. It is stored
// and delivered like any event (same worker, signing, profile, attempt log), so a success
// proves the whole path, but it reaches only the endpoint it names: see publishToEndpoint.
import { type Static, Type } from 'typebox';
import { deliveryRef, newId } from '../../ids.js';
import { publishFingerprint } from '../../publishing/publish.js';
import { publishToEndpoint } from '../../store/endpointDeliveries.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { errors, Timestamp } from '../schemas.js';

const TEST_EVENT_TYPE = 'tidings.test';

const Params = Type.Object({ tid: Type.String({ maxLength: 128 }), eid: Type.String({ maxLength: 128 }) });

const TestAnswer = Type.Object({
  event_id: Type.String(),
  delivery_id: Type.String({ description: 'Follow it at GET /v1/tenants/{tid}/deliveries/{delivery_id}' }),
  type: Type.String(),
  created_at: Timestamp,
});

export async function testEventRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.post<{ Params: Static<typeof Params> }>(
    '/v1/tenants/:tid/endpoints/:eid/test',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Send a tidings.test event to this endpoint only',
        description:
          'The event is stored and delivered like any other (signed, in the endpoint’s wire profile, retried, logged) but is addressed to this endpoint alone: type filters, channels and other endpoints are not consulted.',
        params: Params,
        response: { 202: TestAnswer, ...errors(401, 404, 409) },
      },
    },
    async (req, reply) => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      const now = ctx.clock.now();
      const id = newId('msg');
      const payloadJson = JSON.stringify({
        message: 'A test event, sent from the webhook settings to this endpoint only.',
        endpoint_id: eid,
        sent_at: now.toISOString(),
      });
      const outcome = await ctx.db.tx((q) =>
        publishToEndpoint(q, {
          tenantId: tid,
          endpointId: eid,
          id,
          type: TEST_EVENT_TYPE,
          typeDescription:
            'A test event sent on request to one endpoint (portal "Send test event", or POST …/endpoints/{eid}/test).',
          typeGroup: 'tidings',
          payloadJson,
          // Its id is new each time, so the fingerprint is never compared; it is the one formula all the same.
          requestHash: publishFingerprint(TEST_EVENT_TYPE, payloadJson, [], null),
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
        type: TEST_EVENT_TYPE,
        created_at: now,
      });
    },
  );
}
