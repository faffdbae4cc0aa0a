// Lists across a tenant: its deliveries, and the attempts of the tenant or of one endpoint,
// by state, status (410, 5xx), event type (names, "topic.*") and time. Newest first, cursor
// paged; one endpoint's deliveries are listed at /endpoints/{eid}/deliveries.
import { type Static, Type } from 'typebox';
import { deliveryRef } from '../../ids.js';
import { listAttempts, listTenantDeliveries } from '../../store/deliveryLists.js';
import { getEndpoint } from '../../store/endpoints.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import {
  DeliveryState,
  EndpointParams,
  errors,
  PageQuery,
  pageOf,
  TenantParams,
  Timestamp,
} from '../schemas.js';
import { ensureTenant } from './endpoints.js';
import { DeliverySummary, deliverySummary } from './events.js';
import { StatusQuery, statusRange, TypeQuery, typeList } from './listFilters.js';

const TimeRange = {
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
};

const DeliveriesQuery = Type.Object({
  ...PageQuery.properties,
  state: Type.Optional(DeliveryState),
  status: Type.Optional(StatusQuery),
  type: Type.Optional(TypeQuery),
  ...TimeRange,
});

const AttemptsQuery = Type.Object({
  ...PageQuery.properties,
  status: Type.Optional(StatusQuery),
  succeeded: Type.Optional(
    Type.Boolean({ description: 'true: only 2xx answers; false: every other outcome' }),
  ),
  type: Type.Optional(TypeQuery),
  ...TimeRange,
});

const DeliveryEntry = Type.Object({
  ...DeliverySummary.properties,
  event_id: Type.String(),
  event_type: Type.String(),
});

const AttemptEntry = Type.Object(
  {
    delivery_id: Type.String(),
    endpoint_id: Type.String(),
    event_id: Type.String(),
    event_type: Type.String(),
    attempt: Type.Integer(),
    started_at: Timestamp,
    duration_ms: Type.Integer(),
    url: Type.String(),
    status: Type.Union([Type.Integer(), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { $id: 'AttemptEntry' },
);

function dates(q: { created_after?: string | undefined; created_before?: string | undefined }) {
  return {
    ...(q.created_after ? { createdAfter: new Date(q.created_after) } : {}),
    ...(q.created_before ? { createdBefore: new Date(q.created_before) } : {}),
  };
}

const invalidCursor = () => badRequest('invalid_cursor', 'The cursor is not one this API handed out.');

export async function deliveryListRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(AttemptEntry);

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof DeliveriesQuery> }>(
    '/v1/tenants/:tid/deliveries',
    {
      schema: {
        tags: ['deliveries'],
        summary: "A tenant's deliveries, newest first",
        description:
          'Filters: `state`, `status` (of the last attempt: `410`, `5xx`), `type` (repeat it; `topic.*` for a prefix), `created_after`/`created_before`. One endpoint: `/endpoints/{eid}/deliveries`.',
        params: TenantParams,
        querystring: DeliveriesQuery,
        response: { 200: pageOf(DeliveryEntry), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const { tid } = req.params;
      requireTenant(req.principal, tid);
      await ensureTenant(ctx, tid);
      const q = req.query;
      const types = typeList(q.type);
      const status = statusRange(q.status);
      const page = await listTenantDeliveries(
        ctx.db,
        tid,
        {
          ...(q.state ? { state: q.state } : {}),
          ...(status ? { status } : {}),
          ...(types ? { types } : {}),
          ...dates(q),
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw invalidCursor();
      return {
        data: page.data.map((d) => ({
          ...deliverySummary(d),
          event_id: d.event_id,
          event_type: d.event_type,
        })),
        next_cursor: page.next_cursor,
      };
    },
  );

  async function attempts(tid: string, eid: string | undefined, q: Static<typeof AttemptsQuery>) {
    const types = typeList(q.type);
    const status = statusRange(q.status);
    const page = await listAttempts(
      ctx.db,
      tid,
      {
        ...(eid ? { endpointId: eid } : {}),
        ...(status ? { status } : {}),
        ...(q.succeeded !== undefined ? { succeeded: q.succeeded } : {}),
        ...(types ? { types } : {}),
        ...dates(q),
      },
      q.limit ?? 50,
      q.cursor,
    );
    if (!page) throw invalidCursor();
    return {
      data: page.data.map(({ id: _id, ...a }) => ({ ...a, delivery_id: deliveryRef(a.delivery_id) })),
      next_cursor: page.next_cursor,
    };
  }

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof AttemptsQuery> }>(
    '/v1/tenants/:tid/attempts',
    {
      schema: {
        tags: ['deliveries'],
        summary: "A tenant's attempts, newest delivery first",
        description:
          'Filters: `status` (`410`, `5xx`), `succeeded`, `type`, `created_after`/`created_before` (the attempt’s time). Request and response bodies are on the delivery.',
        params: TenantParams,
        querystring: AttemptsQuery,
        response: { 200: pageOf(Type.Ref('AttemptEntry')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      return attempts(req.params.tid, undefined, req.query);
    },
  );

  app.get<{ Params: Static<typeof EndpointParams>; Querystring: Static<typeof AttemptsQuery> }>(
    '/v1/tenants/:tid/endpoints/:eid/attempts',
    {
      schema: {
        tags: ['deliveries'],
        summary: "One endpoint's attempts, newest delivery first",
        description: 'The same filters as the tenant’s attempt list.',
        params: EndpointParams,
        querystring: AttemptsQuery,
        response: { 200: pageOf(Type.Ref('AttemptEntry')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const { tid, eid } = req.params;
      requireTenant(req.principal, tid);
      if (!(await getEndpoint(ctx.db, ctx.codec, tid, eid))) throw notFound('endpoint', eid);
      return attempts(tid, eid, req.query);
    },
  );
}
