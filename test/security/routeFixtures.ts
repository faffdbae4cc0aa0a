// What the security tests need to call every route: a valid body per write route (so a
// refusal cannot hide behind a 422), and which routes use up what they act on.

import type { TestApp } from '../helpers/app.js';
import { type KeyPair, makeCa } from '../helpers/testCa.js';

let clientCertificate: KeyPair | undefined;
/** A valid client certificate, made once (openssl) when a test first needs one. */
function aClientCertificate(): KeyPair {
  clientCertificate ??= makeCa('Route fixtures CA').issue('route-fixtures');
  return clientCertificate;
}

export interface Route {
  method: string;
  /** OpenAPI form, e.g. /v1/tenants/{tid}/endpoints/{eid} */
  path: string;
}

export const REMINDER_TYPE = 'loan.due';

/** A valid body (and query) per write route, so a refusal cannot hide behind a 422. */
export function request(route: Route): { body?: unknown; query?: string } {
  switch (`${route.method} ${route.path}`) {
    case 'PATCH /v1/tenants/{tid}':
      return { body: { name: 'Renamed' } };
    case 'POST /v1/tenants/{tid}/endpoints':
      return { body: { url: 'https://example.com/new' } };
    case 'PATCH /v1/tenants/{tid}/endpoints/{eid}':
      return { body: { description: 'patched' } };
    case 'POST /v1/tenants/{tid}/endpoints/{eid}/secret/rotate':
      return { body: { grace_period_s: 60 } };
    case 'POST /v1/tenants/{tid}/endpoints/{eid}/mtls/rotate': {
      const c = aClientCertificate();
      return { body: { certificate: c.cert, key: c.key } };
    }
    case 'POST /v1/tenants/{tid}/endpoints/{eid}/filter/test':
      return { body: { payload: { amount_cents: 1 }, filter: { amount_cents: { $gte: 1 } } } };
    case 'POST /v1/tenants/{tid}/endpoints/{eid}/recover':
      return { body: { since: '2000-01-01T00:00:00Z' } };
    case 'POST /v1/tenants/{tid}/deliveries/replay':
      return { body: { since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' } };
    case 'POST /v1/tenants/{tid}/events':
      return { body: { type: 'loan.paid', payload: { n: 1 } } };
    case 'POST /v1/tenants/{tid}/reconcile':
      return { body: { since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z', received: [] } };
    case 'GET /v1/tenants/{tid}/events/export':
      return { query: 'since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z' };
    case 'POST /v1/tenants/{tid}/tokens':
      return { body: { name: 'made in the matrix' } };
    case 'PUT /v1/tenants/{tid}/reminder-rules':
      return { body: { event_type: REMINDER_TYPE, offsets: ['-2 days'] } };
    case 'DELETE /v1/tenants/{tid}/reminder-rules':
      return { query: `event_type=${REMINDER_TYPE}` };
    case 'PUT /v1/tenants/{tid}/anchors/{anchor_id}':
      return {
        body: {
          event_type: REMINDER_TYPE,
          subject: 'acct-1',
          at: '2031-01-10T12:00:00Z',
          payload: { due: true },
        },
      };
    case 'PUT /v1/tenants/{tid}/calendar':
      return { body: { weekend_days: [6, 7], holidays: ['2031-12-25'] } };
    case 'PUT /v1/tenants/{tid}/accounts/{account_id}/notification_config':
      return { body: { notification_type: 'payment_due_date', time_offset: '-2 days' } };
    case 'DELETE /v1/tenants/{tid}/accounts/{account_id}/notification_config':
      return { query: 'notification_type=payment_due_date' };
    default:
      return route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} };
  }
}

/** Routes that use up what they act on get their own fixtures for each call. */
export function consumes(route: Route): boolean {
  return route.method === 'DELETE' || /\/(skip|resolve)$/.test(route.path);
}

/** The routes of an OpenAPI document, optionally only those whose path matches. */
export async function routesOf(url: string, keep: (r: Route) => boolean = () => true): Promise<Route[]> {
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path })))
    .filter((r) => ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))
    .filter(keep);
}

type Api = TestApp['api'];

/** Calls the API as the operator; a fixture that fails stops the test with the answer. */
export async function ok<T>(api: Api, method: string, path: string, body?: unknown): Promise<T> {
  const r = await api<T>(method, path, body);
  if (r.status >= 300) throw new Error(`fixture ${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The event types the fixtures use: a plain one and two reminder types. */
export async function setUpCatalog(api: Api): Promise<void> {
  await ok(api, 'PUT', '/v1/event-types/loan.paid', { description: 'paid' });
  await ok(api, 'PUT', `/v1/event-types/${REMINDER_TYPE}`, {
    description: 'due',
    reminder: { anchor: 'the due date', negative_offsets: true, periodic: true },
  });
  await ok(api, 'PUT', '/v1/event-types/payment_due_date', {
    description: 'canopy',
    reminder: { anchor: 'the due date', negative_offsets: true, periodic: false },
  });
}

export interface TenantWorld {
  tid: string;
  /** A token of this tenant. */
  token: string;
  /** A value for each route parameter. */
  params: Record<string, string>;
  /** Ids of this tenant's objects, which must never show up in an answer to another tenant. */
  secrets: string[];
}

/**
 * A tenant with a token, an endpoint, an event and its delivery, a rule, an anchor, a
 * notification config. `url`: where its endpoint points (a local receiver when a worker runs).
 */
export async function makeTenantWorld(
  api: Api,
  tid: string,
  opts: { url?: string } = {},
): Promise<TenantWorld> {
  await ok(api, 'POST', '/v1/tenants', { id: tid, name: tid });
  const token = (await ok<{ token: string }>(api, 'POST', `/v1/tenants/${tid}/tokens`, {})).token;
  const target = (await ok<{ id: string }>(api, 'POST', `/v1/tenants/${tid}/tokens`, {})).id;
  const ep = await ok<{ id: string }>(api, 'POST', `/v1/tenants/${tid}/endpoints`, {
    url: opts.url ?? 'https://example.com/hook',
    ordering: 'key',
  });
  const ev = await ok<{ id: string }>(api, 'POST', `/v1/tenants/${tid}/events`, {
    type: 'loan.paid',
    payload: { n: 1 },
    ordering_key: 'k',
  });
  const detail = await ok<{ deliveries: { id: string }[] }>(api, 'GET', `/v1/tenants/${tid}/events/${ev.id}`);
  const anchor = `anc-${tid}`;
  await ok(api, 'PUT', `/v1/tenants/${tid}/reminder-rules`, {
    event_type: REMINDER_TYPE,
    offsets: ['-1 day'],
  });
  await ok(api, 'PUT', `/v1/tenants/${tid}/anchors/${anchor}`, {
    event_type: REMINDER_TYPE,
    subject: 'acct-1',
    at: '2031-01-10T12:00:00Z',
    payload: {},
  });
  await ok(api, 'PUT', `/v1/tenants/${tid}/accounts/acct-1/notification_config`, {
    notification_type: 'payment_due_date',
    time_offset: '-3 days',
  });
  const did = detail.deliveries[0]!.id;
  return {
    tid,
    token,
    params: {
      tid,
      eid: ep.id,
      id: ev.id,
      did,
      anchor_id: anchor,
      token_id: target,
      account_id: 'acct-1',
      sid: 'ps_missing',
      name: 'loan.paid',
    },
    secrets: [ep.id, ev.id, did, anchor, target],
  };
}

/** The route's path with the world's values (percent-encoded) in its parameters. */
export function fill(route: Route, params: Record<string, string>): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodePart(params[name] ?? `missing-${name}`));
}

/** encodeURIComponent, with lone surrogates (which it refuses) replaced. */
export function encodePart(text: string): string {
  return encodeURIComponent(
    text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
  );
}
