// Bad input on every route answers the JSON error shape with the right status, never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';

type Case = [
  method: string,
  path: string,
  body: unknown,
  status: number,
  code?: string,
  opts?: { rawBody?: string; token?: string | null; headers?: Record<string, string> },
];

describe.each(engines())('API errors (%s)', (engine) => {
  let app: TestApp;
  let epId: string;
  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_MAX_PAYLOAD_BYTES: '2048' });
    await app.api('PUT', '/v1/event-types/invoice_paid', {
      description: 'paid',
      schema: {
        type: 'object',
        required: ['invoice_uuid'],
        properties: { invoice_uuid: { type: 'string' }, amount: { type: 'string' } },
      },
    });
    await app.api('POST', '/v1/tenants', { id: 'm', name: 'Merchant' });
    const ep = await app.api<{ id: string }>('POST', '/v1/tenants/m/endpoints', {
      url: 'https://example.com/hook',
    });
    epId = ep.body.id;
  });
  afterAll(() => app?.stop());

  const cases: Case[] = [
    ['GET', '/v1/tenants', undefined, 401, 'unauthorized', { token: null }],
    ['GET', '/v1/tenants', undefined, 401, 'unauthorized', { token: 'not-a-real-token' }],
    ['POST', '/v1/tenants', undefined, 400, 'malformed_json', { rawBody: '{"name": ' }],
    ['POST', '/v1/tenants', { name: 42 }, 422, 'invalid_request'],
    ['POST', '/v1/tenants', { name: 'x', extra: true }, 422, 'invalid_request'],
    ['POST', '/v1/tenants', { id: 'bad id!', name: 'x' }, 422, 'invalid_request'],
    ['POST', '/v1/tenants', { id: 'm', name: 'again' }, 409, 'tenant_exists'],
    ['GET', '/v1/tenants?limit=0', undefined, 400, 'invalid_querystring'],
    ['GET', '/v1/tenants?cursor=garbage', undefined, 400, 'invalid_cursor'],
    ['GET', '/v1/tenants/nobody', undefined, 404, 'tenant_not_found'],
    ['PATCH', '/v1/tenants/nobody', { name: 'x' }, 404, 'tenant_not_found'],
    ['PATCH', '/v1/tenants/m', { name: '' }, 422, 'invalid_request'],
    ['DELETE', '/v1/tenants/nobody', undefined, 404, 'tenant_not_found'],
    ['PUT', '/v1/event-types/bad%20name', {}, 400, 'invalid_params'],
    ['PUT', '/v1/event-types/x', { schema: { type: 'nonsense' } }, 422, 'invalid_schema'],
    ['PUT', '/v1/event-types/x', { default_enabled: 'yes' }, 422, 'invalid_request'],
    ['POST', '/v1/tenants/nobody/endpoints', { url: 'https://example.com' }, 404, 'tenant_not_found'],
    ['POST', '/v1/tenants/m/endpoints', { url: 'ftp://example.com' }, 422, 'invalid_url'],
    ['POST', '/v1/tenants/m/endpoints', { url: 'not a url' }, 422, 'invalid_url'],
    ['POST', '/v1/tenants/m/endpoints', { url: 'http://10.1.2.3/hook' }, 422, 'invalid_url'],
    [
      'POST',
      '/v1/tenants/m/endpoints',
      { url: 'https://example.com', profile: 'soap' },
      422,
      'unknown_profile',
    ],
    [
      'POST',
      '/v1/tenants/m/endpoints',
      { url: 'https://example.com', event_types: ['nope'] },
      422,
      'unknown_event_type',
    ],
    [
      'POST',
      '/v1/tenants/m/endpoints',
      { url: 'https://example.com', headers: { 'webhook-id': 'x' } },
      422,
      'reserved_header',
    ],
    [
      'POST',
      '/v1/tenants/m/endpoints',
      { url: 'https://example.com', headers: { 'X-Key': 'a\r\nInjected: 1' } },
      422,
      'invalid_header',
    ],
    [
      'POST',
      '/v1/tenants/m/endpoints',
      { url: 'https://example.com', secret: 'hunter2' },
      422,
      'invalid_secret',
    ],
    [
      'POST',
      '/v1/tenants/m/endpoints',
      { url: 'https://example.com', max_in_flight: 0 },
      422,
      'invalid_request',
    ],
    ['GET', '/v1/tenants/m/endpoints/ep_missing', undefined, 404, 'endpoint_not_found'],
    ['PATCH', '/v1/tenants/m/endpoints/ep_missing', { description: 'x' }, 404, 'endpoint_not_found'],
    ['DELETE', '/v1/tenants/m/endpoints/ep_missing', undefined, 404, 'endpoint_not_found'],
    ['POST', '/v1/tenants/m/events', { type: 'nope', payload: {} }, 422, 'unknown_event_type'],
    [
      'POST',
      '/v1/tenants/m/events',
      { type: 'invoice_paid', payload: { amount: 5 } },
      422,
      'payload_invalid',
    ],
    ['POST', '/v1/tenants/m/events', { type: 'invoice_paid' }, 422, 'invalid_request'],
    [
      'POST',
      '/v1/tenants/m/events',
      { type: 'invoice_paid', payload: { invoice_uuid: 'x'.repeat(3000) } },
      413,
      'payload_too_large',
    ],
    [
      'POST',
      '/v1/tenants/m/events',
      undefined,
      413,
      'body_too_large',
      { rawBody: JSON.stringify({ type: 'invoice_paid', payload: { invoice_uuid: 'x'.repeat(200_000) } }) },
    ],
    [
      'POST',
      '/v1/tenants/nobody/events',
      { type: 'invoice_paid', payload: { invoice_uuid: 'u' } },
      404,
      'tenant_not_found',
    ],
    [
      'POST',
      '/v1/tenants/m/events',
      { type: 'invoice_paid', payload: { invoice_uuid: 'u' } },
      400,
      'json_too_deep',
      { rawBody: `{"type":"invoice_paid","payload":${'['.repeat(100)}${']'.repeat(100)}}` },
    ],
    ['GET', '/v1/tenants/m/events/msg_missing', undefined, 404, 'event_not_found'],
    ['GET', '/v1/tenants/m/events?created_after=yesterday', undefined, 400, 'invalid_querystring'],
    ['GET', '/v1/tenants/m/deliveries/dlv_999999', undefined, 404, 'delivery_not_found'],
    ['GET', '/v1/tenants/m/deliveries/garbage', undefined, 404, 'delivery_not_found'],
    ['POST', '/v1/tenants/m/deliveries/dlv_999999/resend', undefined, 404, 'delivery_not_found'],
    ['GET', '/v1/nothing-here', undefined, 404, 'route_not_found'],
  ];

  it.each(cases)('%s %s %j → %s %s', async (method, path, body, status, code, opts) => {
    const res = await app.api<{ error: { code: string; message: string; details: unknown } }>(
      method,
      path,
      body,
      opts,
    );
    expect(res.status).toBe(status);
    expect(res.body.error).toBeDefined();
    expect(typeof res.body.error.message).toBe('string');
    expect(res.body.error).toHaveProperty('details');
    if (code) expect(res.body.error.code).toBe(code);
  });

  it('names the failing paths when a payload breaks its schema', async () => {
    const res = await app.api<{ error: { details: { errors: { path: string }[] } } }>(
      'POST',
      '/v1/tenants/m/events',
      {
        type: 'invoice_paid',
        payload: { amount: 5 },
      },
    );
    const paths = res.body.error.details.errors.map((e) => e.path).sort();
    expect(paths).toEqual(['/amount', '/invoice_uuid']);
  });

  it('answers a repeat publish with 200 and the original, and a changed body with 409', async () => {
    const body = { type: 'invoice_paid', payload: { invoice_uuid: 'inv-1' }, id: 'evt-fixed-1' };
    const a = await app.api<{ id: string; deliveries: number }>('POST', '/v1/tenants/m/events', body);
    expect(a.status).toBe(202);
    const b = await app.api<{ id: string; deliveries: number }>('POST', '/v1/tenants/m/events', body);
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
    const c = await app.api('POST', '/v1/tenants/m/events', { ...body, payload: { invoice_uuid: 'inv-2' } });
    expect(c.status).toBe(409);
    const k1 = await app.api<{ id: string }>(
      'POST',
      '/v1/tenants/m/events',
      { type: 'invoice_paid', payload: { invoice_uuid: 'k' } },
      { headers: { 'idempotency-key': 'key-1' } },
    );
    const k2 = await app.api<{ id: string }>(
      'POST',
      '/v1/tenants/m/events',
      { type: 'invoice_paid', payload: { invoice_uuid: 'k' } },
      { headers: { 'idempotency-key': 'key-1' } },
    );
    expect([k1.status, k2.status]).toEqual([202, 200]);
    expect(k2.body.id).toBe(k1.body.id);
    const k3 = await app.api(
      'POST',
      '/v1/tenants/m/events',
      { type: 'invoice_paid', payload: { invoice_uuid: 'other' } },
      { headers: { 'idempotency-key': 'key-1' } },
    );
    expect(k3.status).toBe(409);
    const list = await app.api<{ data: unknown[] }>('GET', '/v1/tenants/m/events?limit=250');
    expect(list.body.data).toHaveLength(2);
  });

  it('pages lists with an opaque cursor', async () => {
    for (let i = 0; i < 5; i++) await app.api('POST', '/v1/tenants', { id: `page-${i}`, name: `P${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res: { body: { data: { id: string }[]; next_cursor: string | null } } = await app.api(
        'GET',
        `/v1/tenants?limit=2${q}`,
      );
      seen.push(...res.body.data.map((t) => t.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['m', 'page-0', 'page-4']));
  });

  it('shows static header values masked and never the secret', async () => {
    const ep = await app.api<{ id: string; secret: string; headers: Record<string, string> }>(
      'POST',
      '/v1/tenants/m/endpoints',
      {
        url: 'https://example.com/billie',
        headers: { 'X-Api-Key': 'sk_live_abcdefghijklmnop' },
      },
    );
    expect(ep.body.headers['X-Api-Key']).not.toContain('abcdefghijklmnop');
    const got = await app.api<Record<string, unknown>>('GET', `/v1/tenants/m/endpoints/${ep.body.id}`);
    expect(JSON.stringify(got.body)).not.toContain(ep.body.secret);
    expect(JSON.stringify(got.body)).not.toContain('abcdefghijklmnop');
    expect(epId).toMatch(/^ep_/);
  });

  it('serves its OpenAPI document', async () => {
    const res = await app.api<{ openapi: string; paths: Record<string, unknown> }>(
      'GET',
      '/openapi.json',
      undefined,
      { token: null },
    );
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/tenants/{tid}/events', '/v1/event-types/{name}']),
    );
  });
});
