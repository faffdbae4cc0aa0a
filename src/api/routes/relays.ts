// `tidings listen` (issue 16): a relay endpoint is a temporary endpoint of the tenant whose
// deliveries go down a server-sent-events stream that the CLI holds open, instead of an HTTP
// POST. They are built and signed exactly as for an HTTP endpoint (same profile, headers and
// body bytes); the CLI forwards each to a local URL and reports what it answered, which is
// recorded as the attempt (delivery/relay/hub.ts).
//
//   POST   /v1/tenants/{tid}/relays                      create; the answer has the secret
//   GET    /v1/tenants/{tid}/relays/{eid}/stream         the stream (text/event-stream); reconnectable
//   POST   /v1/tenants/{tid}/relays/{eid}/reports/{rid}  the local URL's answer to one request
//   DELETE /v1/tenants/{tid}/relays/{eid}                remove it (Ctrl-C in the CLI)
//
// Server-sent events rather than a WebSocket: the stream only flows one way (requests out),
// reports are ordinary POSTs that any API process can take, plain Fastify serves it without a
// dependency, and it passes every HTTP proxy a developer's laptop may sit behind.
import type { ServerResponse } from 'node:http';
import { type Static, Type } from 'typebox';
import type { RelayHub, RelayMessage } from '../../delivery/relay/hub.js';
import { newId } from '../../ids.js';
import { newSigningSecret, verificationKey } from '../../signing/secrets.js';
import { createEndpoint } from '../../store/endpoints.js';
import { listEventTypes } from '../../store/eventTypes.js';
import { addRelayListener, relayExists, removeRelay } from '../../store/relay.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { checkProfile, checkTypeFilter } from '../endpointInput.js';
import { ApiError, notFound } from '../errors.js';
import { requireEndpointRoom } from '../quotas.js';
import { EndpointParams, errors, TenantParams, WireProfileName } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

/** How often an idle stream carries a comment, so that proxies and the CLI see it alive. */
const PING_MS = 15_000;

const CreateRelay = Type.Object(
  {
    event_types: Type.Optional(
      Type.Union([Type.Array(Type.String({ maxLength: 130 }), { maxItems: 500 }), Type.Null()], {
        description:
          'Event types to receive: names, "topic.*" patterns or "*". Absent or null: every default-enabled type.',
      }),
    ),
    channels: Type.Optional(
      Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 500 }), Type.Null()]),
    ),
    profile: Type.Optional(
      Type.String({ maxLength: 32, description: 'Wire profile of the deliveries (default standard)' }),
    ),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

const RelayView = Type.Object({
  id: Type.String({ description: 'The relay endpoint (an endpoint of the tenant, destination "relay")' }),
  tenant_id: Type.String(),
  url: Type.String({ description: 'relay://{id}' }),
  event_types: Type.Union([Type.Array(Type.String()), Type.Null()]),
  channels: Type.Union([Type.Array(Type.String()), Type.Null()]),
  profile: WireProfileName,
  secret: Type.String({ description: 'The whsec_ secret the deliveries are signed with' }),
  stream: Type.String({ description: 'Path of the event stream to open' }),
  expires_after_s: Type.Integer({
    description: 'The endpoint is removed when no stream has been open for this long',
  }),
});

const ReportParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  eid: Type.String({ maxLength: 128 }),
  rid: Type.String({ maxLength: 64, description: 'The request_id of a delivery event of the stream' }),
});

const Report = Type.Object(
  {
    status: Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), Type.Null()], {
      description: 'What the local URL answered; null when it could not be reached (say why in error)',
    }),
    headers: Type.Optional(
      Type.Union([Type.Record(Type.String(), Type.String(), { maxProperties: 100 }), Type.Null()]),
    ),
    body: Type.Optional(
      Type.Union([Type.String({ maxLength: 65_536 }), Type.Null()], {
        description: 'The start of the local answer (the attempt keeps the first 4 KiB)',
      }),
    ),
    error: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const StreamResponse = {
  description:
    'Server-sent events: `ready` once (data: {"endpoint_id", "tenant_id"}), then one `delivery` per request (data: {"request_id", "event_type", "headers", "body"}: the exact signed request to forward), and a comment every 15 s',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};

const WhoAmI = Type.Object({
  kind: Type.Union([Type.Literal('admin'), Type.Literal('tenant')]),
  tenant_id: Type.Union([Type.String(), Type.Null()], { description: "A tenant token's tenant" }),
});

export async function relayRoutes(app: App, ctx: ApiContext): Promise<void> {
  const hub = (): RelayHub => {
    if (!ctx.relay) throw new ApiError(503, 'relay_unavailable', 'This process does not relay.');
    return ctx.relay;
  };
  const open = new Set<ServerResponse>();
  // An open stream would keep the server from closing: they end first (the CLI reconnects).
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get(
    '/v1/whoami',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Who the token is: the operator, or which tenant',
        response: { 200: WhoAmI, ...errors(401) },
      },
    },
    async (req) => {
      const p = req.principal!;
      return p.kind === 'tenant'
        ? { kind: 'tenant' as const, tenant_id: p.tenantId }
        : { kind: 'admin' as const, tenant_id: null };
    },
  );

  app.post<{ Params: Static<typeof TenantParams>; Body: Static<typeof CreateRelay> | undefined }>(
    '/v1/tenants/:tid/relays',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Create a relay endpoint for `tidings listen`: deliveries go down its event stream',
        params: TenantParams,
        body: Type.Optional(CreateRelay),
        response: { 201: RelayView, ...errors(401, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const { tid } = req.params;
      requireTenant(req.principal, tid);
      await ensureTenant(ctx, tid);
      const b = req.body ?? {};
      checkProfile(b.profile);
      checkTypeFilter(b.event_types, new Set((await listEventTypes(ctx.db)).map((t) => t.name)));
      const id = newId('ep');
      const secret = newSigningSecret('hmac');
      const now = ctx.clock.now();
      const e = await ctx.db.tx(async (q) => {
        await requireEndpointRoom(q, ctx, tid);
        const created = await createEndpoint(
          q,
          ctx.codec,
          id,
          tid,
          {
            url: `relay://${id}`,
            description: b.description ?? 'tidings listen',
            event_types: b.event_types ?? null,
            channels: b.channels ?? null,
            ...(b.profile ? { profile: b.profile } : {}),
            secret,
          },
          now,
        );
        await addRelayListener(q, id, tid, now);
        return created;
      });
      return reply.code(201).send({
        id,
        tenant_id: tid,
        url: e.url,
        event_types: e.event_types,
        channels: e.channels,
        profile: e.profile,
        secret: verificationKey(secret),
        stream: `/v1/tenants/${encodeURIComponent(tid)}/relays/${id}/stream`,
        expires_after_s: Math.round(ctx.config.relayExpiryMs / 1000),
      });
    },
  );

  app.get<{ Params: EndpointParams }>(
    '/v1/tenants/:tid/relays/:eid/stream',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'The event stream of a relay endpoint: its deliveries, signed, for the CLI to forward',
        params: EndpointParams,
        response: { 200: StreamResponse, ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      const relays = hub();
      if (!(await relayExists(ctx.db, tid, eid))) throw notFound('endpoint', eid);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      });
      const write = (event: string, data: unknown) =>
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const live = () => !res.destroyed && !res.writableEnded;
      open.add(res);
      const ping = setInterval(() => live() && res.write(': ping\n\n'), PING_MS);
      ping.unref();
      let closed = false;
      let detach: () => Promise<void>;
      try {
        detach = await relays.attach(eid, {
          send: (m: RelayMessage) => {
            if (!live()) return false;
            write('delivery', m);
            return true;
          },
          close: () => res.end(),
        });
      } catch (err) {
        // The store is away: the CLI reconnects in a moment.
        req.log.warn({ err, endpoint: eid }, 'relay: could not attach a stream');
        clearInterval(ping);
        open.delete(res);
        res.end();
        return;
      }
      const onClose = () => {
        if (closed) return;
        closed = true;
        clearInterval(ping);
        open.delete(res);
        void detach();
      };
      res.on('close', onClose);
      if (!live()) return onClose();
      res.write('retry: 2000\n\n');
      write('ready', { endpoint_id: eid, tenant_id: tid });
    },
  );

  app.post<{ Params: Static<typeof ReportParams>; Body: Static<typeof Report> }>(
    '/v1/tenants/:tid/relays/:eid/reports/:rid',
    {
      schema: {
        tags: ['endpoints'],
        summary: "Report the local URL's answer to one relayed request; it is recorded as the attempt",
        params: ReportParams,
        body: Report,
        response: { 204: Type.Null(), ...errors(401, 404, 422) },
      },
    },
    async (req, reply) => {
      const { tid, eid, rid } = req.params;
      requireTenant(req.principal, tid);
      const b = req.body;
      if (!(await relayExists(ctx.db, tid, eid))) throw notFound('endpoint', eid);
      const taken = await hub().answer(eid, rid, {
        status: b.status,
        headers: b.headers ?? null,
        body: b.body ?? null,
        error: b.error ?? null,
      });
      if (!taken) {
        throw new ApiError(
          404,
          'relay_request_not_found',
          `No request "${rid}" is waiting for a report (it may have timed out; it is retried).`,
        );
      }
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: EndpointParams }>(
    '/v1/tenants/:tid/relays/:eid',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Remove a relay endpoint with its deliveries (the CLI does on Ctrl-C)',
        params: EndpointParams,
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      if (!(await ctx.db.tx((q) => removeRelay(q, tid, eid)))) throw notFound('endpoint', eid);
      return reply.code(204).send();
    },
  );
}
