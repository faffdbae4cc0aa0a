import { type Static, Type } from 'typebox';
import { maskSecret } from '../../delivery/request.js';
import { newId } from '../../ids.js';
import { MAX_IN_FLIGHT_MAX, RATE_LIMIT_MAX_PER_S, RATE_LIMIT_MIN_PER_S } from '../../limits.js';
import {
  newSigningSecret,
  publicKeyOfSecret,
  type SigningScheme,
  schemeOf,
  verificationKey,
} from '../../signing/secrets.js';
import { CIRCUIT_OPEN_AFTER, circuitOpen } from '../../store/claimPlan.js';
import { getEndpointDefaults } from '../../store/endpointDefaults.js';
import { rotateSigningSecret } from '../../store/endpointSecrets.js';
import {
  createEndpoint,
  deleteEndpoint,
  type Endpoint,
  getEndpoint,
  listEndpoints,
  updateEndpoint,
} from '../../store/endpoints.js';
import { listEventTypes } from '../../store/eventTypes.js';
import { filterMatches } from '../../store/filters.js';
import { tenantExists } from '../../store/tenants.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import {
  checkDestination,
  type DestinationInput,
  destinationFields,
  destinationView,
  destinationViewFields,
} from '../endpointDestination.js';
import {
  checkFilter,
  checkHeaders,
  checkProfile,
  checkProfileSigning,
  checkRetrySchedule,
  checkSecret,
  checkTypeFilter,
  checkUrl,
  chooseProfile,
  ENDPOINT_TIMEOUT_MAX_MS,
  ENDPOINT_TIMEOUT_MIN_MS,
  formatDelay,
} from '../endpointInput.js';
import { badRequest, notFound } from '../errors.js';
import { checkMetadata, requireEndpointRoom } from '../quotas.js';
import {
  EndpointParams,
  errors,
  Metadata,
  NullableTimestamp,
  PageQuery,
  pageOf,
  TenantParams,
  Timestamp,
  WireProfileName,
} from '../schemas.js';
import { DEFAULT_GRACE_S, Signing } from './endpointSecrets.js';

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'http:// or https:// URL that receives the POSTs',
});
const TypeFilter = Type.Union([Type.Array(Type.String({ maxLength: 130 }), { maxItems: 500 }), Type.Null()], {
  description:
    'Event types this endpoint receives: names, "topic.*" patterns or "*". Absent or null: every default-enabled type.',
});
const Channels = Type.Union(
  [Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 500 }), Type.Null()],
  {
    description: 'Only events tagged with at least one of these channels. Absent or null: any channel.',
  },
);
const Headers = Type.Record(Type.String(), Type.String(), {
  description: 'Static headers sent with every request (e.g. an API key); stored encrypted and shown masked',
  maxProperties: 20,
});
const Ordering = Type.Union([Type.Literal('none'), Type.Literal('key'), Type.Literal('endpoint')], {
  description:
    'key: events with the same ordering_key are delivered one at a time in publish order; endpoint: the whole endpoint is one key',
});

const Filter = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
  description:
    'Payload filter, MongoDB-style ($eq, $neq, $in, $nin, $gt, $gte, $lt, $lte, $exists, $and, $or, $not; dotted paths, any array element matches), e.g. {"amount_cents": {"$gte": 100000}, "currency": {"$in": ["EUR", "USD"]}}. Applied after types and channels: an event it refuses creates no delivery. Null or {}: no filter. See docs/filters.md.',
});
const TimeoutMs = Type.Union(
  [Type.Integer({ minimum: ENDPOINT_TIMEOUT_MIN_MS, maximum: ENDPOINT_TIMEOUT_MAX_MS }), Type.Null()],
  {
    description: `How long a request may take (ms, ${ENDPOINT_TIMEOUT_MIN_MS} to ${ENDPOINT_TIMEOUT_MAX_MS}); null: the deployment's TIDINGS_REQUEST_TIMEOUT_MS`,
  },
);
const RetrySchedule = Type.Union(
  [Type.Array(Type.String({ maxLength: 20 }), { maxItems: 50 }), Type.Null()],
  {
    description:
      'Delay before each retry ("5s", "10m", "2h"): at most as many as the deployment\'s TIDINGS_RETRY_SCHEDULE, none longer than its longest; [] for no retries; null: the deployment\'s schedule',
  },
);

const endpointFields = {
  url: Url,
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  event_types: Type.Optional(TypeFilter),
  channels: Type.Optional(Channels),
  profile: Type.Optional(
    Type.String({ maxLength: 32, description: 'Wire profile: standard, raw, highline, canopy, billie' }),
  ),
  headers: Type.Optional(Headers),
  disabled: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(Metadata),
  max_in_flight: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_IN_FLIGHT_MAX,
      description: 'Most requests in flight at once (default 10)',
    }),
  ),
  rate_limit_per_s: Type.Optional(
    Type.Union([Type.Number({ minimum: RATE_LIMIT_MIN_PER_S, maximum: RATE_LIMIT_MAX_PER_S }), Type.Null()], {
      description: `Most request starts per second, on average (bursts of one second's worth); ${RATE_LIMIT_MIN_PER_S} to ${RATE_LIMIT_MAX_PER_S}, null for no limit`,
    }),
  ),
  ordering: Type.Optional(Ordering),
  signing: Type.Optional(Signing),
  filter: Type.Optional(Filter),
  timeout_ms: Type.Optional(TimeoutMs),
  retry_schedule: Type.Optional(RetrySchedule),
  // mtls, oauth, broker (issue 17): src/api/endpointDestination.ts
  ...destinationFields,
};

const CreateEndpoint = Type.Object(
  {
    ...endpointFields,
    secret: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'whsec_… (hmac) or whsk_… (ed25519); generated when absent',
      }),
    ),
  },
  { additionalProperties: false },
);
const PatchEndpoint = Type.Object(
  { ...endpointFields, url: Type.Optional(Url) },
  { additionalProperties: false },
);

const Health = Type.Object({
  state: Type.Union([Type.Literal('healthy'), Type.Literal('failing'), Type.Literal('open')], {
    description: `healthy: the last attempt succeeded; failing: the last attempts failed; open: ${CIRCUIT_OPEN_AFTER} or more failed in a row, so the endpoint is probed with one request at a time (spaced out) while its other deliveries wait, until a success closes the circuit`,
  }),
  consecutive_failures: Type.Integer(),
  last_success_at: NullableTimestamp,
  last_failure_at: NullableTimestamp,
  failing_since: NullableTimestamp,
});

const EndpointView = Type.Object(
  {
    id: Type.String(),
    tenant_id: Type.String(),
    url: Type.String(),
    description: Type.String(),
    event_types: Type.Union([Type.Array(Type.String()), Type.Null()]),
    channels: Type.Union([Type.Array(Type.String()), Type.Null()]),
    profile: WireProfileName,
    headers: Type.Record(Type.String(), Type.String(), { description: 'Values masked' }),
    disabled: Type.Boolean(),
    disabled_reason: Type.Union([Type.String(), Type.Null()]),
    disabled_at: NullableTimestamp,
    metadata: Metadata,
    max_in_flight: Type.Integer(),
    rate_limit_per_s: Type.Union([Type.Number(), Type.Null()]),
    ordering: Ordering,
    signing: Signing,
    filter: Filter,
    timeout_ms: TimeoutMs,
    retry_schedule: RetrySchedule,
    public_key: Type.Union([Type.String(), Type.Null()], {
      description: 'whpk_ key receivers verify v1a signatures with (ed25519 endpoints)',
    }),
    health: Health,
    fault: Type.Union(
      [
        Type.Object({ at: Timestamp, error: Type.String({ description: 'What could not be computed' }) }),
        Type.Null(),
      ],
      {
        description:
          'Set while Tidings has the endpoint parked: a value of its configuration or data could not be computed with, so it receives nothing (every other endpoint keeps flowing). Any PATCH un-parks it.',
      },
    ),
    // destination, mtls, oauth, broker (issue 17): src/api/endpointDestination.ts
    ...destinationViewFields,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Endpoint' },
);
const EndpointWithSecret = Type.Object(
  {
    ...EndpointView.properties,
    secret: Type.String({
      description:
        'What receivers verify with: the whsec_ secret, or the whpk_ public key of an ed25519 endpoint',
    }),
  },
  { $id: 'EndpointWithSecret' },
);

export { EndpointView, EndpointWithSecret };

const FilterTest = Type.Object(
  {
    payload: Type.Unknown({ description: 'A sample payload, as it would be published' }),
    filter: Type.Optional(Filter),
  },
  { additionalProperties: false },
);
const FilterTestAnswer = Type.Object({
  matches: Type.Boolean({
    description: 'true: an event with this payload would be delivered to the endpoint',
  }),
  filter: Filter,
});

/** How an endpoint is shown: no secret, static header values masked, no key or password. */
export function endpointView(e: Endpoint) {
  const { secret, headers, health, mtls, oauth, broker, retry_schedule, ...rest } = e;
  const masked: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) masked[k] = maskSecret(v);
  const state: 'healthy' | 'failing' | 'open' = circuitOpen(health.consecutive_failures)
    ? 'open'
    : health.consecutive_failures > 0
      ? 'failing'
      : 'healthy';
  return {
    ...rest,
    retry_schedule: retry_schedule ? retry_schedule.map(formatDelay) : null,
    headers: masked,
    signing: schemeOf(secret),
    public_key: publicKeyOfSecret(secret),
    health: { state, ...health },
    ...destinationView(e, new Date()),
  };
}

/** The body without its destination fields, and those fields (checked separately, then stored as settings). */
function splitDestination<T extends DestinationInput>(
  b: T,
): [Omit<T, 'mtls' | 'oauth' | 'broker'>, DestinationInput] {
  const { mtls, oauth, broker, ...rest } = b;
  return [rest, { url: b.url, headers: b.headers, mtls, oauth, broker }];
}

/** The body with its filter compiled and its retry schedule in milliseconds (422 when either is wrong). */
function policyOf<T extends { filter?: Record<string, unknown> | null; retry_schedule?: string[] | null }>(
  b: T,
  ctx: ApiContext,
): Omit<T, 'filter' | 'retry_schedule'> & {
  filter?: { doc: Record<string, unknown>; path: string } | null;
  retry_schedule?: number[] | null;
} {
  const { filter, retry_schedule, ...rest } = b;
  const compiled = checkFilter(filter);
  const schedule = checkRetrySchedule(retry_schedule, ctx.config);
  return {
    ...rest,
    ...(compiled !== undefined ? { filter: compiled } : {}),
    ...(schedule !== undefined ? { retry_schedule: schedule } : {}),
  };
}

export async function ensureTenant(ctx: ApiContext, tid: string): Promise<void> {
  if (!(await tenantExists(ctx.db, tid))) throw notFound('tenant', tid);
}

export async function endpointRoutes(app: App, ctx: ApiContext): Promise<void> {
  const knownTypes = async () => new Set((await listEventTypes(ctx.db)).map((t) => t.name));

  app.post<{ Params: Static<typeof TenantParams>; Body: Static<typeof CreateEndpoint> }>(
    '/v1/tenants/:tid/endpoints',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Register an endpoint; the answer carries its signing secret',
        params: TenantParams,
        body: CreateEndpoint,
        response: { 201: Type.Ref('EndpointWithSecret'), ...errors(401, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const given = req.body;
      checkUrl(given.url, ctx.config);
      checkProfile(given.profile);
      // The catalog's endpoint defaults: the profile when none is given, and a lock.
      const profile = chooseProfile(req.principal, given.profile, await getEndpointDefaults(ctx.db));
      const b = profile === undefined ? given : { ...given, profile };
      checkHeaders(b.headers);
      const { signing, ...fields } = b;
      const scheme: SigningScheme = signing ?? (b.secret ? schemeOf(b.secret) : 'hmac');
      checkSecret(b.secret, scheme);
      checkProfileSigning(b.profile ?? 'standard', scheme);
      checkTypeFilter(b.event_types, await knownTypes());
      checkMetadata(b.metadata);
      const secret = b.secret ?? newSigningSecret(scheme);
      const [plain, destinationInput] = splitDestination(policyOf(fields, ctx));
      const destination = checkDestination(destinationInput, undefined, ctx.config, ctx.clock.now());
      const e = await ctx.db.tx(async (q) => {
        await requireEndpointRoom(q, ctx, req.params.tid);
        return createEndpoint(
          q,
          ctx.codec,
          newId('ep'),
          req.params.tid,
          { ...plain, ...destination, secret },
          ctx.clock.now(),
        );
      });
      return reply.code(201).send({ ...endpointView(e), secret: verificationKey(secret) });
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: PageQuery }>(
    '/v1/tenants/:tid/endpoints',
    {
      schema: {
        tags: ['endpoints'],
        summary: "List a tenant's endpoints",
        params: TenantParams,
        querystring: PageQuery,
        response: { 200: pageOf(Type.Ref('Endpoint')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const page = await listEndpoints(
        ctx.db,
        ctx.codec,
        req.params.tid,
        req.query.limit ?? 50,
        req.query.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return { data: page.data.map(endpointView), next_cursor: page.next_cursor };
    },
  );

  app.get<{ Params: EndpointParams }>(
    '/v1/tenants/:tid/endpoints/:eid',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Get an endpoint',
        params: EndpointParams,
        response: { 200: Type.Ref('Endpoint'), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const e = await getEndpoint(ctx.db, ctx.codec, req.params.tid, req.params.eid);
      if (!e) throw notFound('endpoint', req.params.eid);
      return endpointView(e);
    },
  );

  app.patch<{ Params: EndpointParams; Body: Static<typeof PatchEndpoint> }>(
    '/v1/tenants/:tid/endpoints/:eid',
    {
      schema: {
        tags: ['endpoints'],
        summary:
          'Change an endpoint (re-enabling or un-parking it delivers what waited while it was disabled or parked)',
        params: EndpointParams,
        body: PatchEndpoint,
        response: { 200: Type.Ref('Endpoint'), ...errors(401, 404, 422) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const b = req.body;
      checkUrl(b.url, ctx.config);
      checkProfile(b.profile);
      if (b.profile !== undefined) chooseProfile(req.principal, b.profile, await getEndpointDefaults(ctx.db));
      checkHeaders(b.headers);
      if (b.event_types) checkTypeFilter(b.event_types, await knownTypes());
      checkMetadata(b.metadata);
      const { signing, ...fields } = b;
      const [plain, destinationInput] = splitDestination(policyOf(fields, ctx));
      const { tid, eid } = req.params;
      let wasParked = false;
      const e = await ctx.db.tx(async (q) => {
        const now = ctx.clock.now();
        const before = await getEndpoint(q, ctx.codec, tid, eid);
        if (!before) return undefined;
        wasParked = before.fault !== null;
        const patch = { ...plain, ...checkDestination(destinationInput, before, ctx.config, now) };
        const scheme = signing ?? schemeOf(before.secret);
        checkProfileSigning(patch.profile ?? before.profile, scheme);
        if (scheme !== schemeOf(before.secret)) {
          const until = new Date(now.getTime() + DEFAULT_GRACE_S * 1000);
          await rotateSigningSecret(q, ctx.codec, tid, eid, newSigningSecret(scheme), until, now);
        }
        return updateEndpoint(q, ctx.codec, tid, eid, patch, now);
      });
      if (!e) throw notFound('endpoint', req.params.eid);
      if (b.disabled === false || wasParked) await ctx.publisher.wakeWorkers();
      return endpointView(e);
    },
  );

  app.post<{ Params: EndpointParams; Body: Static<typeof FilterTest> }>(
    '/v1/tenants/:tid/endpoints/:eid/filter/test',
    {
      schema: {
        tags: ['endpoints'],
        summary: "Whether a sample payload passes the endpoint's filter (or the filter given)",
        description:
          'Evaluated by the same SQL/JSON path predicate the fan-out uses. With `filter`, that filter is checked and tried instead of the stored one (to try an edit before saving it).',
        params: EndpointParams,
        body: FilterTest,
        response: { 200: FilterTestAnswer, ...errors(401, 404, 422) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const e = await getEndpoint(ctx.db, ctx.codec, req.params.tid, req.params.eid);
      if (!e) throw notFound('endpoint', req.params.eid);
      const given = req.body.filter;
      const compiled = checkFilter(given === undefined ? e.filter : given);
      const matches = compiled
        ? await filterMatches(ctx.db, compiled.path, JSON.stringify(req.body.payload))
        : true;
      return { matches, filter: compiled ? compiled.doc : null };
    },
  );

  app.delete<{ Params: EndpointParams }>(
    '/v1/tenants/:tid/endpoints/:eid',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'Delete an endpoint and its deliveries',
        params: EndpointParams,
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      if (!(await deleteEndpoint(ctx.db, req.params.tid, req.params.eid)))
        throw notFound('endpoint', req.params.eid);
      return reply.code(204).send();
    },
  );
}
