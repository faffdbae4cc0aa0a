// What a publish body becomes before it is stored: the payload's exact text (with Canopy's
// computed changes when `previous` is given), the size limit, the type and its schema, the
// channels, the id and the request fingerprint. One place for the single and the batch
// route, so that an item of a batch is checked exactly like a single publish.

import { createHash } from 'node:crypto';
import { type Static, Type } from 'typebox';
import { attachChanges } from '../catalog/changes.js';
import { CALLER_ID_PATTERN, newId } from '../ids.js';
import { holdsUnstorableNumber } from '../json/numberRange.js';
import type { PublishInput } from '../store/events.js';
import type { ApiContext } from './context.js';
import { ApiError, unprocessable } from './errors.js';

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

export interface PublishItem {
  body: PublishBody;
  /** The exact text of `payload` as the producer wrote it (undefined: re-serialise it). */
  payloadText: string | undefined;
  previousText: string | undefined;
  idempotencyKey: string | null;
  /** Where the item sits in the request, for error details: '' for a single publish, 'events[3]' in a batch. */
  path: string;
}

/** The fingerprint of a publish: a repeat with the same id and another fingerprint is a conflict. */
export function publishFingerprint(
  type: string,
  payloadText: string,
  channels: string[],
  orderingKey: string | null,
  previousText?: string,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        type,
        payloadText,
        [...channels].sort(),
        orderingKey,
        ...(previousText === undefined ? [] : [previousText]),
      ]),
    )
    .digest('base64');
}

function at(path: string, member: string): string {
  return path ? `${path}.${member}` : member;
}

/** A JSON pointer as a path suffix: `/amount` → `.amount`, `/items/0/sku` → `.items[0].sku`. */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .filter((p) => p !== '')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('');
}

/**
 * Checks publish items and turns them into store inputs, in order. The first problem throws
 * (413 or 422); in a batch its details name the item (`events[3].payload.amount`).
 */
export async function preparePublishes(
  ctx: ApiContext,
  tenantId: string,
  items: PublishItem[],
): Promise<PublishInput[]> {
  const types = await ctx.eventTypes.get(items.map((i) => i.body.type));
  const createdAt = ctx.clock.now();
  return items.map((item) => {
    const b = item.body;
    const where = item.path ? { path: item.path } : {};
    if (b.payload === undefined) {
      throw unprocessable('invalid_request', `The ${item.path || 'body'} needs a "payload".`, {
        ...where,
        ...(item.path ? { path: at(item.path, 'payload') } : {}),
      });
    }
    const producerJson = item.payloadText ?? JSON.stringify(b.payload);
    const previousJson =
      b.previous === undefined ? undefined : (item.previousText ?? JSON.stringify(b.previous));
    let payloadJson = producerJson;
    let payload = b.payload;
    if (b.previous !== undefined) {
      // Tidings lists the changes itself (Canopy's `changes` and `changed_at`).
      const withChanges = attachChanges(producerJson, b.previous, createdAt);
      if (!withChanges.ok) {
        throw unprocessable(
          'invalid_previous',
          `${withChanges.error}.`,
          item.path ? { path: at(item.path, 'previous') } : undefined,
        );
      }
      payloadJson = withChanges.payloadJson;
      payload = JSON.parse(payloadJson);
    }
    const size = Buffer.byteLength(payloadJson);
    const limit = ctx.config.maxPayloadBytes;
    if (size > limit) {
      throw new ApiError(
        413,
        'payload_too_large',
        `The ${item.path ? `payload of ${item.path}` : 'payload'} is ${size} bytes; the limit is ${limit} bytes (TIDINGS_MAX_PAYLOAD_BYTES).`,
        { size, limit, ...(item.path ? { path: at(item.path, 'payload') } : {}) },
      );
    }
    if (holdsUnstorableNumber(payloadJson)) {
      throw unprocessable(
        'payload_invalid',
        `The ${item.path ? `payload of ${item.path}` : 'payload'} holds a number too large or too precise to store (at most 131072 digits before the decimal point and 16383 after).`,
        item.path ? { path: at(item.path, 'payload') } : undefined,
      );
    }
    const compiled = types.get(b.type);
    if (!compiled) {
      throw unprocessable('unknown_event_type', `"${b.type}" is not in the catalog.`, {
        type: b.type,
        ...(item.path ? { path: at(item.path, 'type') } : {}),
      });
    }
    const problems = compiled.validate?.(payload) ?? [];
    if (problems.length > 0) {
      const shown = item.path
        ? problems.map((p) => ({ ...p, path: `${at(item.path, 'payload')}${dotted(p.path)}` }))
        : problems;
      throw unprocessable(
        'payload_invalid',
        `The ${item.path ? `payload of ${item.path}` : 'payload'} does not match the schema of "${b.type}": ${shown.map((p) => `${p.path} ${p.message}`).join('; ')}.`,
        { errors: shown, ...(item.path ? { path: shown[0]!.path } : {}) },
      );
    }
    const channels = [...new Set(b.channels ?? [])];
    return {
      tenantId,
      id: b.id ?? newId('msg'),
      type: b.type,
      payloadJson,
      channels,
      orderingKey: b.ordering_key ?? null,
      idempotencyKey: item.idempotencyKey,
      // What the producer sent (with `previous`, not the computed changes), so a repeat matches.
      requestHash: publishFingerprint(b.type, producerJson, channels, b.ordering_key ?? null, previousJson),
      source: 'api',
      createdAt,
    };
  });
}
