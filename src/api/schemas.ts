// Shapes shared by several routes. Route-specific schemas live next to their routes.
import { type Static, Type } from 'typebox';
import { PROFILE_NAMES } from '../delivery/profiles/index.js';
import { MAX_METADATA_BYTES, MAX_METADATA_KEYS } from '../limits.js';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable; switch on it' }),
      message: Type.String({ description: 'For people; the wording may change' }),
      details: Type.Unknown({ description: 'More about the error (e.g. each invalid field), or null' }),
    }),
  },
  { $id: 'Error' },
);

export const Timestamp = Type.String({ format: 'date-time' });

/** A delivery's states, in the order a delivery goes through them. */
export const DELIVERY_STATES = ['pending', 'delivering', 'succeeded', 'failed', 'cancelled'] as const;

export const DeliveryState = Type.Union(
  DELIVERY_STATES.map((s) => Type.Literal(s)),
  {
    description:
      'pending: waiting for its next attempt; delivering: an attempt is in flight; succeeded: a 2xx was received; failed: given up (resend or recover it); cancelled: skipped for good',
  },
);

export const WireProfileName = Type.Union(
  PROFILE_NAMES.map((s) => Type.Literal(s)),
  { description: 'How deliveries are put on the wire (see the webhooks section)' },
);
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type PageQuery = Static<typeof PageQuery>;

export const TenantParams = Type.Object({ tid: Type.String({ maxLength: 128 }) });

export const EndpointParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  eid: Type.String({ maxLength: 128 }),
});
export type EndpointParams = Static<typeof EndpointParams>;

export const Metadata = Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
  description: `Free-form JSON kept with the object: at most ${MAX_METADATA_KEYS} keys and ${MAX_METADATA_BYTES} bytes of JSON`,
  maxProperties: MAX_METADATA_KEYS,
});

/** Standard error answers, for the OpenAPI document. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));
}

export function pageOf<T extends import('typebox').TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}
