// canopy-event-types.txt served through the real API and worker: every example payload
// received as printed, hmac_signature recomputed by the receiver from the body alone,
// default events to every URL and configurable ones only where opted in, and change sets
// computed from `previous`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  at,
  CANOPY_EXAMPLES,
  canopyExample,
  catalogText,
  checkCanopySignature,
  createEndpoint,
  type Endpoint,
  keyOf,
  loadCatalog,
  PAYMENT_DUE_DATE_SAMPLE,
  publishRaw,
  settled,
  verifyStandardWebhooks,
} from './support.js';

// The default webhook events of the document (checked against it in test/catalog/).
const DEFAULT_TYPES = (
  JSON.parse(catalogText('canopy')) as { event_types: { name: string; default_enabled: boolean }[] }
).event_types
  .filter((t) => t.default_enabled)
  .map((t) => t.name);

/** The client's check of hmac_signature; returns the signed `data` text. */
function checkHmacSignature(got: Received, secret: string): string {
  return checkCanopySignature(got.body, keyOf(secret)).data;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `obj` with its keys (at every level) in the order `template` has them; the others after. */
function orderedLike(obj: Json, template: Json): Json {
  const keys = [
    ...Object.keys(template).filter((k) => k in obj),
    ...Object.keys(obj).filter((k) => !(k in template)),
  ];
  return Object.fromEntries(
    keys.map((k) => {
      const v = obj[k];
      const t = template[k];
      return [k, isObject(v) && isObject(t) ? orderedLike(v, t) : v];
    }),
  );
}

interface Change {
  field_name: string;
  previous_value: unknown;
  new_value: unknown;
}

describe.each(engines())('Canopy (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let defaults: Endpoint;
  let optedIn: Endpoint;
  const secretOf = (r: Received) => (r.path === '/defaults' ? defaults.secret : optedIn.secret);

  beforeAll(async () => {
    [app, rx] = await Promise.all([startApp(engine), startReceiver()]);
    await loadCatalog(app, 'canopy');
    expect((await app.api('POST', '/v1/tenants', { id: 'lendco', name: 'LendCo' })).status).toBe(201);
    // A registered URL: the default events.
    defaults = await createEndpoint(app, 'lendco', { url: `${rx.url}/defaults`, profile: 'canopy' });
    // One that configured two of the configurable webhooks as well.
    optedIn = await createEndpoint(app, 'lendco', {
      url: `${rx.url}/with-reminders`,
      profile: 'canopy',
      event_types: [...DEFAULT_TYPES, 'payment_due_date', 'account_delinquency'],
    });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('delivers every example of the document field for field, with an hmac_signature the client recomputes', async () => {
    const ids = new Map<string, string>();
    for (const name of CANOPY_EXAMPLES) {
      const ex = canopyExample(name);
      const pub = await publishRaw(app, 'lendco', `{"type":"${name}","payload":${ex.data}}`);
      // account_delinquency is configurable: only the endpoint that opted in.
      expect(pub.deliveries, name).toBe(name === 'account_delinquency' ? 1 : 2);
      ids.set(name, pub.id);
    }
    for (const id of ids.values()) await settled(app, 'lendco', id);
    expect(rx.requests).toHaveLength(11);

    for (const got of rx.requests) {
      const name = [...ids].find(([, id]) => id === got.headers['webhook-id'])![0];
      const ex = canopyExample(name);
      const body = JSON.parse(got.body) as { event: string; data: unknown; hmac_signature: string };
      expect(Object.keys(body)).toEqual(['event', 'data', 'hmac_signature']);
      expect(body.event).toBe(ex.doc.event);
      // data field for field, in the document's key order, and byte for byte as published.
      expect(body.data).toStrictEqual(ex.doc.data);
      expect(JSON.stringify(body.data)).toBe(JSON.stringify(ex.doc.data));
      expect(checkHmacSignature(got, secretOf(got))).toBe(ex.data);
      expect(verifyStandardWebhooks(got, secretOf(got))).toStrictEqual(body);
    }
    expect(at(rx.requests, '/defaults').map((r) => JSON.parse(r.body).event)).not.toContain(
      'account_delinquency',
    );
  });

  it('configurable events go only to endpoints that opted in', async () => {
    const before = rx.requests.length;
    const due = await publishRaw(
      app,
      'lendco',
      JSON.stringify({
        type: 'payment_due_date',
        payload: { ...PAYMENT_DUE_DATE_SAMPLE, statement_id: 'stmt_12' },
      }),
    );
    expect(due.deliveries).toBe(1);
    const missed = await publishRaw(
      app,
      'lendco',
      '{"type":"minimum_payment_missed","payload":{"account_id":"can_1","customer_id":"848","statement_id":"stmt_12","time_stamp":"2024-03-05T00:00:00+00:00"}}',
    );
    expect(missed.deliveries).toBe(0);
    await settled(app, 'lendco', due.id);
    const got = rx.requests.slice(before);
    expect(got.map((r) => r.path)).toEqual(['/with-reminders']);
    checkHmacSignature(got[0]!, optedIn.secret);
  });

  it("computes changes from previous: the document's account_update reproduced", async () => {
    const { doc } = canopyExample('account_update');
    const data = doc.data as { changes: Change[]; object: Json; object_type: string };
    // Canopy lists an account's fields in its own order (that of the account_create example);
    // its changes follow that order, so the producer sends the account in it.
    const account = orderedLike(data.object, canopyExample('account_create').doc.data['object'] as Json);
    const previous = structuredClone(account);
    for (const c of data.changes) {
      const parts = c.field_name.split('.');
      let node = previous;
      for (const p of parts.slice(0, -1)) node = node[p] as Json;
      node[parts.at(-1)!] = c.previous_value;
    }
    const envelope = JSON.stringify({
      type: 'account_update',
      id: 'acct-update-1',
      payload: { object: account, object_type: 'account' },
      previous,
    });
    const pub = await publishRaw(app, 'lendco', envelope);
    expect(pub.deliveries).toBe(2);
    await settled(app, 'lendco', pub.id);
    const event = await app.api<{ created_at: string }>('GET', `/v1/tenants/lendco/events/${pub.id}`);

    const got = rx.requests.filter((r) => r.headers['webhook-id'] === pub.id);
    expect(got).toHaveLength(2);
    for (const r of got) {
      const body = JSON.parse(r.body) as { data: { changed_at: string; changes: Change[]; object: Json } };
      // The document's data: changed_at, changes, object, object_type, in that order.
      expect(Object.keys(body.data)).toEqual(Object.keys(doc.data));
      expect(body.data.changed_at).toBe(event.body.created_at);
      // Every change of the document, in its order, and nothing else (is_active_scra is unchanged).
      expect(body.data.changes).toStrictEqual(data.changes);
      expect(body.data.changes[0]).toStrictEqual({
        field_name: 'account_overview.account_status',
        previous_value: 'ACTIVE',
        new_value: 'SUSPENDED',
      });
      expect(body.data.changes[1]).toStrictEqual({
        field_name: 'account_overview.account_status_subtype',
        previous_value: '',
        new_value: 'BANKRUPTCY',
      });
      expect(body.data.changes.map((c) => Object.keys(c))).toEqual(
        data.changes.map(() => ['field_name', 'previous_value', 'new_value']),
      );
      expect(body.data.object).toStrictEqual(data.object);
      checkHmacSignature(r, secretOf(r));
      verifyStandardWebhooks(r, secretOf(r));
    }

    // The same request again is a repeat (its changed_at would differ, its input does not) …
    const again = await app.api<{ id: string }>('POST', '/v1/tenants/lendco/events', undefined, {
      rawBody: envelope,
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(pub.id);
    // … and the same id with another previous is a different request.
    const other = await app.api('POST', '/v1/tenants/lendco/events', {
      type: 'account_update',
      id: 'acct-update-1',
      payload: { object: account, object_type: 'account' },
      previous: { ...previous, account_id: 'other' },
    });
    expect(other.status).toBe(409);
  });

  it('refuses a previous it cannot compare, saying why', async () => {
    const cases: [unknown, unknown, RegExp][] = [
      [{ object: { a: 1 } }, [1], /previous must be a JSON object/],
      [[1, 2], { a: 1 }, /payload must be a JSON object/],
      [{ object: { a: 1 }, changes: [] }, { a: 0 }, /either changes or previous/],
    ];
    for (const [payload, previous, message] of cases) {
      const res = await app.api<{ error: { code: string; message: string } }>(
        'POST',
        '/v1/tenants/lendco/events',
        {
          type: 'account_update',
          payload,
          previous,
        },
      );
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('invalid_previous');
      expect(res.body.error.message).toMatch(message);
    }
  });
});
