// What Tidings tells the operator about endpoints and deliveries, as ordinary events: published to the
// operator's own tenant (TIDINGS_OPERATOR_TENANT, created on first use) and delivered to
// whatever endpoints the operator registers there, like any other event. Each is also logged.

import { deliveryRef } from '../ids.js';
import { publishInput } from '../publishing/publish.js';
import type { Queryable } from '../store/db.js';
import type { DeliveryFailure } from '../store/deliveryFailures.js';
import type { PublishInput } from '../store/events.js';
import { upsertEventType } from '../store/eventTypes.js';
import type { EndpointNotice } from '../store/health.js';
import { createTenant } from '../store/tenants.js';

export type OperatorEventType =
  | 'tidings.endpoint.failing'
  | 'tidings.endpoint.disabled'
  | 'tidings.endpoint.recovered'
  | 'tidings.endpoint.faulted'
  | 'tidings.audit.checkpoint'
  | 'tidings.delivery.failed';

const NOTICE_SCHEMA = {
  type: 'object',
  required: ['endpoint_id', 'tenant_id', 'url'],
  properties: {
    endpoint_id: { type: 'string' },
    tenant_id: { type: 'string' },
    url: { type: 'string', description: 'Scheme, host and path; the query string is left out' },
    consecutive_failures: { type: 'integer' },
    failing_since: { type: ['string', 'null'], format: 'date-time' },
    last_success_at: { type: ['string', 'null'], format: 'date-time' },
    last_failure_at: { type: ['string', 'null'], format: 'date-time' },
    disabled_at: { type: ['string', 'null'], format: 'date-time' },
    disabled_reason: { type: ['string', 'null'] },
    fault: {
      type: ['object', 'null'],
      description: 'tidings.endpoint.faulted: when the endpoint was parked and why',
      properties: { at: { type: 'string', format: 'date-time' }, error: { type: 'string' } },
    },
  },
};

const CHECKPOINT_SCHEMA = {
  type: 'object',
  required: ['tenant_id', 'seq', 'hash', 'created_at', 'public_key', 'signature'],
  properties: {
    tenant_id: { type: 'string', description: 'The tenant whose attempt chain this is' },
    seq: { type: 'integer', description: 'Records in the chain so far (the last one’s number)' },
    hash: { type: 'string', description: 'The last record’s hash, hex sha256' },
    created_at: { type: 'string', format: 'date-time' },
    public_key: { type: 'string', description: 'whpk_ key of the deployment that signed' },
    signature: {
      type: 'string',
      description:
        'v1a, + base64 Ed25519 over `tidings.audit.checkpoint.{unix seconds of created_at}.{tenant_id}.{seq}.{hash}`',
    },
  },
};

const FAILED_SCHEMA = {
  type: 'object',
  required: [
    'delivery_id',
    'event_id',
    'event_type',
    'endpoint_id',
    'tenant_id',
    'url',
    'attempts',
    'failed_at',
  ],
  properties: {
    delivery_id: { type: 'string', description: 'dlv_…: resend it with POST …/deliveries/{id}/resend' },
    event_id: { type: 'string' },
    event_type: { type: 'string' },
    endpoint_id: { type: 'string' },
    tenant_id: { type: 'string' },
    url: { type: 'string', description: 'Scheme, host and path; the query string is left out' },
    attempts: { type: 'integer' },
    last_status: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    failed_at: { type: 'string', format: 'date-time' },
  },
};

export const OPERATOR_EVENT_TYPES: {
  name: OperatorEventType;
  description: string;
  schema?: Record<string, unknown>;
}[] = [
  {
    name: 'tidings.endpoint.failing',
    description:
      'An endpoint has failed every attempt for a day (TIDINGS_FAILING_NOTICE_AFTER); it will be disabled if this goes on.',
  },
  {
    name: 'tidings.endpoint.disabled',
    description:
      'Tidings disabled an endpoint: no success for TIDINGS_DISABLE_AFTER, or it answered 410 Gone. Its events are kept and sent when it is enabled again.',
  },
  {
    name: 'tidings.endpoint.recovered',
    description:
      'An endpoint the operator was told about (failing or disabled) delivered successfully again.',
  },
  {
    name: 'tidings.endpoint.faulted',
    description:
      'Tidings parked an endpoint: a value of its configuration or data could not be computed with (fault.error says which). It receives nothing until it is changed (PATCH), which un-parks it; every other endpoint keeps flowing.',
  },
  {
    name: 'tidings.audit.checkpoint',
    description:
      'A signed checkpoint of a tenant’s attempt chain (every TIDINGS_AUDIT_CHECKPOINT_INTERVAL, for chains that grew): keep these outside Tidings; `tidings audit verify` proves the record still matches them.',
    schema: CHECKPOINT_SCHEMA,
  },
  {
    name: 'tidings.delivery.failed',
    description:
      "A delivery gave up: its last attempt failed and the retry schedule is spent. It stays failed until it is resent, recovered or reconciled with requeue (the operator tenant's own deliveries are not reported).",
    schema: FAILED_SCHEMA,
  },
];

/** Puts the operator event types in the catalog (idempotent: an unchanged type is left as it is). */
export async function registerOperatorEventTypes(q: Queryable, now: Date): Promise<void> {
  for (const t of OPERATOR_EVENT_TYPES) {
    await upsertEventType(
      q,
      {
        name: t.name,
        description: t.description,
        group: 'tidings',
        schema: t.schema ?? NOTICE_SCHEMA,
        default_enabled: true,
      },
      now,
    );
  }
}

/** The endpoint's URL without its query string, which may carry a credential. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '';
  }
}

function payloadOf(n: EndpointNotice): string {
  return JSON.stringify({
    endpoint_id: n.endpoint_id,
    tenant_id: n.tenant_id,
    url: safeUrl(n.url),
    consecutive_failures: n.consecutive_failures,
    failing_since: n.failing_since,
    last_success_at: n.last_success_at,
    last_failure_at: n.last_failure_at,
    disabled_at: n.disabled ? n.disabled_at : null,
    disabled_reason: n.disabled ? n.disabled_reason : null,
    ...(n.faulted_at ? { fault: { at: n.faulted_at, error: n.fault ?? '' } } : {}),
  });
}

/**
 * Publish inputs for notices, in the caller's transaction (the one that took the notices),
 * after making sure the operator's tenant exists. Keyed by endpoint, so an operator endpoint
 * with ordering "key" gets one endpoint's failing, disabled and recovered in that order.
 */
export async function operatorEvents(
  q: Queryable,
  operatorTenant: string,
  type: OperatorEventType,
  notices: EndpointNotice[],
  now: Date,
): Promise<PublishInput[]> {
  if (notices.length === 0) return [];
  await ensureOperatorTenant(q, operatorTenant, now);
  return notices.map((n) => aboutEndpoint(operatorTenant, type, payloadOf(n), n, now));
}

/** One operator event about an endpoint of a tenant, keyed (ordering) by the endpoint. */
function aboutEndpoint(
  operatorTenant: string,
  type: OperatorEventType,
  payloadJson: string,
  about: { endpoint_id: string; tenant_id: string },
  now: Date,
): PublishInput {
  return publishInput({
    tenantId: operatorTenant,
    type,
    payloadJson,
    channels: [`endpoint:${about.endpoint_id}`, `tenant:${about.tenant_id}`],
    orderingKey: about.endpoint_id,
    idempotencyKey: null,
    source: 'tidings',
    createdAt: now,
  });
}

/** A publish input for one checkpoint, to the operator's tenant (created by the caller). */
export function checkpointEvent(
  operatorTenant: string,
  cp: {
    tenant_id: string;
    seq: number;
    hash: string;
    created_at: Date;
    public_key: string;
    signature: string;
  },
): PublishInput {
  const payloadJson = JSON.stringify({
    tenant_id: cp.tenant_id,
    seq: cp.seq,
    hash: cp.hash,
    created_at: cp.created_at.toISOString(),
    public_key: cp.public_key,
    signature: cp.signature,
  });
  const type: OperatorEventType = 'tidings.audit.checkpoint';
  return publishInput({
    tenantId: operatorTenant,
    type,
    payloadJson,
    channels: [`tenant:${cp.tenant_id}`],
    orderingKey: null,
    idempotencyKey: null,
    source: 'tidings',
    createdAt: cp.created_at,
  });
}

/** Publish inputs for deliveries that gave up (tidings.delivery.failed), like operatorEvents. */
export async function deliveryFailedEvents(
  q: Queryable,
  operatorTenant: string,
  failures: DeliveryFailure[],
  now: Date,
): Promise<PublishInput[]> {
  if (failures.length === 0) return [];
  await ensureOperatorTenant(q, operatorTenant, now);
  const type: OperatorEventType = 'tidings.delivery.failed';
  return failures.map((f) =>
    aboutEndpoint(
      operatorTenant,
      type,
      JSON.stringify({
        delivery_id: deliveryRef(f.delivery_id),
        event_id: f.event_id,
        event_type: f.event_type,
        endpoint_id: f.endpoint_id,
        tenant_id: f.tenant_id,
        url: safeUrl(f.url),
        attempts: f.attempts,
        last_status: f.last_status,
        last_error: f.last_error,
        failed_at: f.failed_at,
      }),
      f,
      now,
    ),
  );
}

/** Makes sure the operator's tenant exists (Tidings' own events go there). */
export async function ensureOperatorTenant(q: Queryable, operatorTenant: string, now: Date): Promise<void> {
  await createTenant(q, { id: operatorTenant, name: 'Operator', metadata: { created_by: 'tidings' } }, now);
}
