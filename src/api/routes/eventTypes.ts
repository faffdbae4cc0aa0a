import { type Static, Type } from 'typebox';
import { REDACT_POINTER } from '../../catalog/redact.js';
import { checkSchema } from '../../publishing/eventTypeCache.js';
import { examplesProblem } from '../../publishing/payloadSchema.js';
import { validateReminderSettings } from '../../scheduler/rules.js';
import { readReminderSettings } from '../../scheduler/settings.js';
import { deleteEventType, listEventTypes, upsertEventType } from '../../store/eventTypes.js';
import { requireAdmin } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { ApiError, notFound, unprocessable } from '../errors.js';
import { errors, Timestamp } from '../schemas.js';

export const EVENT_TYPE_NAME = '^[A-Za-z][A-Za-z0-9_.-]{0,127}$';

/** Personal data: JSON pointers into the payload shown to tenants as "[redacted]". */
const RedactPointers = Type.Array(Type.String({ pattern: REDACT_POINTER, maxLength: 500 }), {
  maxItems: 100,
  description:
    'JSON pointers into the payload (e.g. "/ssn", "/bank_account/number") whose values tenant tokens and the portal see as "[redacted]"; the wire body is unchanged',
});
const Deprecated = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  {
    additionalProperties: false,
    description: 'Set when the type is deprecated: still delivered, listed with the reason',
  },
);

const EventTypeBody = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    group: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    schema: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    default_enabled: Type.Optional(Type.Boolean({ default: true })),
    reminder: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
    redact: Type.Optional(Type.Union([RedactPointers, Type.Null()])),
    examples: Type.Optional(
      Type.Array(Type.Unknown(), {
        maxItems: 10,
        description:
          'Example payloads (each must satisfy the schema), shown in the portal catalog; the first is what "send test event" sends',
      }),
    ),
    deprecated: Type.Optional(Type.Union([Deprecated, Type.Null()])),
  },
  { additionalProperties: false },
);

export const EventTypeView = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    group: Type.Union([Type.String(), Type.Null()]),
    schema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    default_enabled: Type.Boolean(),
    reminder: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    redact: Type.Union([RedactPointers, Type.Null()]),
    examples: Type.Array(Type.Unknown()),
    deprecated: Type.Union([Deprecated, Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'EventType' },
);

export async function eventTypeRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.put<{ Params: { name: string }; Body: Static<typeof EventTypeBody> }>(
    '/v1/event-types/:name',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Create or replace an event type',
        params: Type.Object({ name: Type.String({ pattern: EVENT_TYPE_NAME }) }),
        body: EventTypeBody,
        response: { 200: Type.Ref('EventType'), 201: Type.Ref('EventType'), ...errors(401, 403, 422) },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      if (req.body.schema) {
        const problem = checkSchema(req.body.schema);
        if (problem) throw unprocessable('invalid_schema', `The JSON Schema does not compile: ${problem}`);
      }
      const badExample = req.body.examples && examplesProblem(req.body.schema, req.body.examples);
      if (badExample) throw unprocessable('invalid_example', badExample);
      const settings = readReminderSettings(req.body.reminder);
      const bounds = settings && validateReminderSettings(settings);
      if (bounds && !bounds.ok) throw unprocessable('invalid_reminder', bounds.message);
      const { deprecated, ...body } = req.body;
      const { type, created } = await upsertEventType(
        ctx.db,
        { name: req.params.name, ...body, deprecated_reason: deprecated?.reason ?? null },
        ctx.clock.now(),
      );
      ctx.eventTypes.invalidate(type.name);
      return reply.code(created ? 201 : 200).send(type);
    },
  );

  app.get(
    '/v1/event-types',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The catalog',
        response: { 200: Type.Object({ data: Type.Array(Type.Ref('EventType')) }), ...errors(401) },
      },
    },
    async (req) => {
      if (!req.principal) throw new ApiError(401, 'unauthorized', 'A token is needed.');
      return { data: await listEventTypes(ctx.db) };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/v1/event-types/:name',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Remove an event type (events already published keep it)',
        params: Type.Object({ name: Type.String({ maxLength: 128 }) }),
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      if (!(await deleteEventType(ctx.db, req.params.name))) throw notFound('event type', req.params.name);
      ctx.eventTypes.invalidate(req.params.name);
      return reply.code(204).send();
    },
  );
}
