// The body of a publish, as the single and the batch route take it (a batch item is exactly a
// single publish). What it becomes before it is stored, the checks every producer's event
// passes, is publishing/publish.ts.
import { type Static, Type } from 'typebox';
import { CALLER_ID_PATTERN } from '../ids.js';
import { type PublishItem, preparePublishes as prepare } from '../publishing/publish.js';
import type { PublishInput } from '../store/events.js';
import type { ApiContext } from './context.js';

export const PublishBody = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 128, description: 'An event type of the catalog' }),
    payload: Type.Unknown({ description: 'Any JSON; kept and sent exactly as written' }),
    channels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
    id: Type.Optional(
      Type.String({
        pattern: CALLER_ID_PATTERN,
        description: 'Producer-chosen id; a repeat answers 200 with the original',
      }),
    ),
    ordering_key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    previous: Type.Optional(
      Type.Unknown({ description: 'The object before the change; Tidings computes the changes' }),
    ),
  },
  { additionalProperties: false },
);
export type PublishBody = Static<typeof PublishBody>;

export type { PublishItem };

/** The checks of publishing/publish.ts, with this API's catalog cache, clock and size limit. */
export function preparePublishes(
  ctx: ApiContext,
  tenantId: string,
  items: PublishItem[],
): Promise<PublishInput[]> {
  return prepare(
    { eventTypes: ctx.eventTypes, maxPayloadBytes: ctx.config.maxPayloadBytes, now: ctx.clock.now() },
    tenantId,
    items,
  );
}
