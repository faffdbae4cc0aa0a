// Operational events and controls: the operator hears of every delivery that gives up
// (tidings.delivery.failed, once each, not for the operator's own deliveries), recover takes a
// window (since and until), and the response body kept per attempt is a setting.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface FailedNotice {
  delivery_id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  tenant_id: string;
  url: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  failed_at: string;
}

describe.each(engines())('tidings.delivery.failed and recover (%s)', (engine) => {
  let app: TestApp;
  let down: Receiver;
  let operator: Receiver;
  let endpoint = '';
  let opsBroken = '';
  const published: { id: string; at: Date }[] = [];
  let middle = new Date();

  const notices = () =>
    operator.requests
      .map((r) => JSON.parse(r.body) as { type: string; data: FailedNotice })
      .filter((b) => b.type === 'tidings.delivery.failed');

  beforeAll(async () => {
    down = await startReceiver(() => ({ status: 503, body: 'down for maintenance, back at noon' }));
    operator = await startReceiver();
    app = await startApp(engine, { TIDINGS_RESPONSE_BODY_LIMIT: '16' });
    await app.api('PUT', '/v1/event-types/invoice.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    await app.api('POST', '/v1/tenants', { id: 'operator', name: 'Operator' });
    // The operator listens for Tidings' own events; its own endpoint fails too at first.
    await app.api('POST', '/v1/tenants/operator/endpoints', {
      url: `${operator.url}/ops`,
      event_types: ['tidings.delivery.failed'],
    });
    opsBroken = (
      await app.api<{ id: string }>('POST', '/v1/tenants/operator/endpoints', {
        url: `${down.url}/ops-broken`,
        event_types: ['tidings.delivery.failed'],
      })
    ).body.id;
    endpoint = (
      await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
        url: `${down.url}/acme?key=secret`,
      })
    ).body.id;
    for (const n of [1, 2]) {
      const r = await app.api<{ id: string; created_at: string }>('POST', '/v1/tenants/acme/events', {
        type: 'invoice.paid',
        payload: { n },
      });
      published.push({ id: r.body.id, at: new Date(r.body.created_at) });
      if (n === 1) {
        await new Promise((r) => setTimeout(r, 20));
        middle = new Date();
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  afterAll(async () => {
    await app?.stop();
    await down?.close();
    await operator?.close();
  });

  it('tells the operator once of each delivery that gave up, with what it needs to act', async () => {
    await vi.waitFor(() => expect(notices()).toHaveLength(2), { timeout: 30_000, interval: 100 });
    const byEvent = new Map(notices().map((n) => [n.data.event_id, n.data]));
    for (const p of published) {
      const n = byEvent.get(p.id)!;
      expect(n).toMatchObject({
        event_type: 'invoice.paid',
        endpoint_id: endpoint,
        tenant_id: 'acme',
        // The query string may carry a credential: left out.
        url: `${down.url}/acme`,
        attempts: 4,
        last_status: 503,
        last_error: 'HTTP 503',
      });
      const d = await app.api<{ state: string; attempts: number }>(
        'GET',
        `/v1/tenants/acme/deliveries/${n.delivery_id}`,
      );
      expect(d.body).toMatchObject({ state: 'failed', attempts: 4 });
    }
    // The operator's broken endpoint gave its notices up too, and no notice was made of that.
    await vi.waitFor(
      async () => {
        const broken = await app.api<{ data: unknown[] }>(
          'GET',
          `/v1/tenants/operator/endpoints/${opsBroken}/deliveries?state=failed`,
        );
        expect(broken.body.data).toHaveLength(2);
      },
      { timeout: 30_000, interval: 100 },
    );
    await app.tidings.worker!.sweepHealth();
    const ops = await app.api<{ data: { type: string }[] }>('GET', '/v1/tenants/operator/events?limit=100');
    expect(ops.body.data.filter((e) => e.type === 'tidings.delivery.failed')).toHaveLength(2);
    expect(notices()).toHaveLength(2);
  });

  it('keeps as much of each response body as TIDINGS_RESPONSE_BODY_LIMIT says', async () => {
    const n = notices()[0]!.data;
    const d = await app.api<{ attempt_log: { response_body: string }[] }>(
      'GET',
      `/v1/tenants/acme/deliveries/${n.delivery_id}`,
    );
    expect(d.body.attempt_log[0]!.response_body).toBe('down for mainten');
    expect(d.body.attempt_log[0]!.response_body).toHaveLength(16);
  });

  it('recovers the failed deliveries of a window: since, and until (exclusive)', async () => {
    const since = new Date(published[0]!.at.getTime() - 1000).toISOString();
    const bad = await app.api('POST', `/v1/tenants/acme/endpoints/${endpoint}/recover`, {
      since,
      until: since,
    });
    expect(bad.status).toBe(422);
    down.setResponder(() => ({ status: 200 }));
    const first = await app.api<{ requeued: number }>(
      'POST',
      `/v1/tenants/acme/endpoints/${endpoint}/recover`,
      {
        since,
        until: middle.toISOString(),
      },
    );
    expect(first.body).toEqual({ requeued: 1 });
    const state = async (id: string) =>
      (await app.api<{ deliveries: { state: string }[] }>('GET', `/v1/tenants/acme/events/${id}`)).body
        .deliveries[0]!.state;
    await vi.waitFor(async () => expect(await state(published[0]!.id)).toBe('succeeded'), {
      timeout: 30_000,
      interval: 100,
    });
    expect(await state(published[1]!.id)).toBe('failed');
    const rest = await app.api<{ requeued: number }>(
      'POST',
      `/v1/tenants/acme/endpoints/${endpoint}/recover`,
      {
        since,
      },
    );
    expect(rest.body).toEqual({ requeued: 1 });
  });
});

describe('TIDINGS_RESPONSE_BODY_LIMIT', () => {
  it('takes bytes or a unit, 4 KiB by default, and names itself when wrong', () => {
    expect(loadConfig({}).responseBodyLimitBytes).toBe(4096);
    expect(loadConfig({ TIDINGS_RESPONSE_BODY_LIMIT: '0' }).responseBodyLimitBytes).toBe(0);
    expect(loadConfig({ TIDINGS_RESPONSE_BODY_LIMIT: '64KiB' }).responseBodyLimitBytes).toBe(65_536);
    expect(loadConfig({ TIDINGS_RESPONSE_BODY_LIMIT: '1MiB' }).responseBodyLimitBytes).toBe(1_048_576);
    expect(() => loadConfig({ TIDINGS_RESPONSE_BODY_LIMIT: '2MiB' })).toThrow(/TIDINGS_RESPONSE_BODY_LIMIT/);
    expect(() => loadConfig({ TIDINGS_RESPONSE_BODY_LIMIT: 'lots' })).toThrow(/TIDINGS_RESPONSE_BODY_LIMIT/);
  });
});
