// The one way into the record for every producer: the API's single and batch publish, the
// scheduler's reminders, the operator's own events and the portal's test events all turn
// their event into a store input here. One fingerprint formula (a repeat of an id with
// another fingerprint is a conflict), one payload size limit, one schema check. The fan-out
// itself is one statement in the store (store/publish.ts; a test event: endpointDeliveries.ts).
import { createHash } from 'node:crypto';
import { newId } from '../ids.js';
import { holdsUnstorableNumber } from '../json/numberRange.js';
import type { PublishInput } from '../store/events.js';
import { attachChanges } from './changes.js';
import type { CompiledType, EventTypeCache } from './eventTypeCache.js';
import type { SchemaProblem } from './payloadSchema.js';

/**
 * A publish refused for what it holds (413 too large, 422 invalid): the API answers it with
 * its status, code, message and details, as any of its own errors.
 */
export class PublishRefused extends Error {
  constructor(
    readonly status: 413 | 422,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'PublishRefused';
  }
}

/** The fingerprint of a publish: what the producer sent, so that a repeat matches its original. */
export function publishFingerprint(
  type: string,
  payloadText: string,
  channels: readonly string[],
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

/** An event as a producer states it; `publishInput` makes it a store input. */
export interface EventDraft {
  tenantId: string;
  /** Unset: a new `msg_` id. */
  id?: string;
  type: string;
  payloadJson: string;
  channels: readonly string[];
  orderingKey: string | null;
  idempotencyKey: string | null;
  /** Who published it: api, reminder, tidings (operator events), test. */
  source: string;
  createdAt: Date;
  /**
   * The text the fingerprint covers when it is not payloadJson: the producer's own payload
   * (before Tidings added computed changes) and its `previous`.
   */
  fingerprintOf?: { payloadText: string; previousText?: string };
}

/** The store input of an event, with the fingerprint every producer computes the same way. */
export function publishInput(d: EventDraft): PublishInput {
  const channels = [...new Set(d.channels)];
  const sent = d.fingerprintOf ?? { payloadText: d.payloadJson };
  return {
    tenantId: d.tenantId,
    id: d.id ?? newId('msg'),
    type: d.type,
    payloadJson: d.payloadJson,
    channels,
    orderingKey: d.orderingKey,
    idempotencyKey: d.idempotencyKey,
    requestHash: publishFingerprint(d.type, sent.payloadText, channels, d.orderingKey, sent.previousText),
    source: d.source,
    createdAt: d.createdAt,
  };
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
 * What the payload's text must be to be stored, for every producer that takes a payload from
 * outside: within the size limit (TIDINGS_MAX_PAYLOAD_BYTES, 413), and without a number
 * PostgreSQL's numeric cannot hold (422: the publish statement parses payloads for filters).
 * `path` names the item in a batch (`events[3]`); '' for a single one.
 */
export function checkPayloadText(payloadJson: string, limit: number, path = ''): void {
  const size = Buffer.byteLength(payloadJson);
  if (size > limit) {
    throw new PublishRefused(
      413,
      'payload_too_large',
      `The ${path ? `payload of ${path}` : 'payload'} is ${size} bytes; the limit is ${limit} bytes (TIDINGS_MAX_PAYLOAD_BYTES).`,
      { size, limit, ...(path ? { path: at(path, 'payload') } : {}) },
    );
  }
  if (holdsUnstorableNumber(payloadJson)) {
    throw new PublishRefused(
      422,
      'payload_invalid',
      `The ${path ? `payload of ${path}` : 'payload'} holds a number too large or too precise to store (at most 131072 digits before the decimal point and 16383 after).`,
      path ? { path: at(path, 'payload') } : undefined,
    );
  }
}

/** The event type, which must be in the catalog. */
export function knownType(types: Map<string, CompiledType>, type: string, path = ''): CompiledType {
  const compiled = types.get(type);
  if (!compiled) {
    throw new PublishRefused(422, 'unknown_event_type', `"${type}" is not in the catalog.`, {
      type,
      ...(path ? { path: at(path, 'type') } : {}),
    });
  }
  return compiled;
}

/**
 * The payload against its type's JSON Schema (none: anything goes). `note` adds to the message
 * what the producer should know (a reminder's computed fields).
 */
export function checkPayloadSchema(
  compiled: CompiledType,
  payload: unknown,
  o: { path?: string; note?: string } = {},
): void {
  const problems = compiled.validate?.(payload) ?? [];
  if (problems.length === 0) return;
  const path = o.path ?? '';
  const shown: SchemaProblem[] = path
    ? problems.map((p) => ({ ...p, path: `${at(path, 'payload')}${dotted(p.path)}` }))
    : problems;
  const name = compiled.type.name;
  throw new PublishRefused(
    422,
    'payload_invalid',
    `The ${path ? `payload of ${path}` : 'payload'} does not match the schema of "${name}"${o.note ? ` (${o.note})` : ''}: ${shown.map((p) => `${p.path} ${p.message}`).join('; ')}.`,
    { errors: shown, ...(path ? { path: shown[0]!.path } : {}) },
  );
}

/** A publish as the API takes it (the body of POST …/events, or one item of a batch). */
export interface PublishRequest {
  type: string;
  payload?: unknown;
  channels?: string[];
  id?: string;
  ordering_key?: string;
  previous?: unknown;
}

export interface PublishItem {
  body: PublishRequest;
  /** The exact text of `payload` as the producer wrote it (undefined: re-serialise it). */
  payloadText: string | undefined;
  previousText: string | undefined;
  idempotencyKey: string | null;
  /** Where the item sits in the request, for error details: '' for a single publish, 'events[3]' in a batch. */
  path: string;
}

export interface PublishChecks {
  eventTypes: EventTypeCache;
  maxPayloadBytes: number;
  now: Date;
}

/**
 * Checks publish items and turns them into store inputs, in order. The first problem throws
 * PublishRefused (413 or 422); in a batch its details name the item (`events[3].payload.amount`).
 */
export async function preparePublishes(
  checks: PublishChecks,
  tenantId: string,
  items: PublishItem[],
): Promise<PublishInput[]> {
  const types = await checks.eventTypes.get(items.map((i) => i.body.type));
  const createdAt = checks.now;
  return items.map((item) => {
    const b = item.body;
    if (b.payload === undefined) {
      throw new PublishRefused(422, 'invalid_request', `The ${item.path || 'body'} needs a "payload".`, {
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
        throw new PublishRefused(
          422,
          'invalid_previous',
          `${withChanges.error}.`,
          item.path ? { path: at(item.path, 'previous') } : null,
        );
      }
      payloadJson = withChanges.payloadJson;
      payload = JSON.parse(payloadJson);
    }
    checkPayloadText(payloadJson, checks.maxPayloadBytes, item.path);
    checkPayloadSchema(knownType(types, b.type, item.path), payload, { path: item.path });
    return publishInput({
      tenantId,
      ...(b.id === undefined ? {} : { id: b.id }),
      type: b.type,
      payloadJson,
      channels: b.channels ?? [],
      orderingKey: b.ordering_key ?? null,
      idempotencyKey: item.idempotencyKey,
      source: 'api',
      createdAt,
      // What the producer sent (with `previous`, not the computed changes), so a repeat matches.
      fingerprintOf: {
        payloadText: producerJson,
        ...(previousJson === undefined ? {} : { previousText: previousJson }),
      },
    });
  });
}
