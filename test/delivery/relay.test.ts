// Relay endpoints (`tidings listen`, issue 16), driven through the API as the CLI drives them:
// create a relay, hold its event stream open, report what the "local URL" answered. The
// deliveries that come down the stream are the ones an HTTP endpoint gets (same body bytes,
// same headers, a valid signature); a reported status is the attempt's; a 500 is retried; with
// no stream open an attempt fails like a refused connection; a worker in another process than
// the stream's holder hands requests over through the store; relays whose stream is gone
// expire.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditAction } from '../../src/api/audit.js';
import { startTidings } from '../../src/app.js';
import { serverSentEvents } from '../../src/commands/listen.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from './wait.js';

interface Relay {
  id: string;
  secret: string;
  stream: string;
}
interface Message {
  request_id: string;
  event_type: string | null;
  headers: Record<string, string>;
  body: string;
}
interface Delivery {
  id: string;
  state: string;
  attempts: number;
  attempt_log: { status: number | null; response_body: string | null; error: string | null }[];
}

/** A stream held open as the CLI holds it, collecting the deliveries that come down it. */
async function openStream(baseUrl: string, path: string, token: string) {
  const stop = new AbortController();
  const res = await fetch(baseUrl + path, {
    headers: { authorization: `Bearer ${token}` },
    signal: stop.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const messages: Message[] = [];
  let ready = false;
  const reading = (async () => {
    try {
      for await (const ev of serverSentEvents(res.body!)) {
        if (ev.event === 'ready') ready = true;
        if (ev.event === 'delivery') messages.push(JSON.parse(ev.data) as Message);
      }
    } catch {
      // aborted
    }
  })();
  await until(() => ready, 'the ready event');
  return {
    messages,
    /** The n-th delivery (1-based), once it arrived. */
    nth: (n: number) => until(() => messages[n - 1], `delivery ${n} on the stream`),
    async close() {
      stop.abort();
      await reading;
    },
  };
}

describe.each(engines())('relay endpoints (%s)', (engine) => {
  let app: TestApp;
  let receiver: Receiver;
  let token: string;

  const api = <T>(method: string, path: string, body?: unknown, t: string | undefined = token) =>
    app.api<T>(method, path, body, { token: t });
  const createRelay = async (body: unknown = { event_types: ['loan.paid'] }) => {
    const r = await api<Relay>('POST', '/v1/tenants/acme/relays', body);
    expect(r.status).toBe(201);
    return r.body;
  };
  const publish = async (payload: unknown) =>
    (await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', { type: 'loan.paid', payload })).body
      .id;
  const deliveryOf = async (eventId: string, endpointId: string) => {
    const e = await app.api<{ deliveries: { id: string; endpoint_id: string }[] }>(
      'GET',
      `/v1/tenants/acme/events/${eventId}`,
    );
    const d = e.body.deliveries.find((x) => x.endpoint_id === endpointId)!;
    return (await app.api<Delivery>('GET', `/v1/tenants/acme/deliveries/${d.id}`)).body;
  };
  const report = (relay: Relay, m: Message, body: unknown) =>
    api('POST', `/v1/tenants/acme/relays/${relay.id}/reports/${m.request_id}`, body);

  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startApp(engine);
    await app.api('PUT', '/v1/event-types/loan.paid', { description: 'A loan payment' });
    await app.api('PUT', '/v1/event-types/loan.late', { description: 'A late loan' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', {})).body.token;
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('audits creating and removing a relay, not the reports (the attempts are their record)', () => {
    expect(auditAction('POST', '/v1/tenants/:tid/relays')).toBeDefined();
    expect(auditAction('DELETE', '/v1/tenants/:tid/relays/:eid')).toBeDefined();
    expect(auditAction('POST', '/v1/tenants/:tid/relays/:eid/reports/:rid')).toBeUndefined();
  });

  it('a tenant token knows its tenant (GET /v1/whoami)', async () => {
    expect((await api('GET', '/v1/whoami')).body).toEqual({ kind: 'tenant', tenant_id: 'acme' });
    expect((await app.api('GET', '/v1/whoami')).body).toEqual({ kind: 'admin', tenant_id: null });
  });

  it('sends what an HTTP endpoint gets down the stream, and records the reported answer as the attempt', async () => {
    const http = await api<{ id: string; secret: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${receiver.url}/hooks`,
      event_types: ['loan.paid'],
    });
    const relay = await createRelay();
    expect(relay.secret).toMatch(/^whsec_/);
    const endpoint = await api<{ destination: string; url: string }>(
      'GET',
      `/v1/tenants/acme/endpoints/${relay.id}`,
    );
    expect(endpoint.body).toMatchObject({ destination: 'relay', url: `relay://${relay.id}` });
    const stream = await openStream(app.url, relay.stream, token);
    try {
      const id = await publish({ loan_id: 'L-1', amount: 12.5, note: 'café' });
      const m = await stream.nth(1);
      const [posted] = await receiver.waitFor(1);
      // The same body bytes and the same headers as over HTTP; each signed with its own secret.
      expect(m.body).toBe(posted!.body);
      expect(m.event_type).toBe('loan.paid');
      expect(Object.keys(m.headers).sort()).toEqual(
        Object.keys(posted!.headers)
          .filter((h) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(h))
          .sort(),
      );
      expect(m.headers['webhook-id']).toBe(id);
      expect(m.headers['webhook-endpoint-sequence']).toBe('1');
      expect(new Webhook(relay.secret).verify(m.body, m.headers)).toMatchObject({ data: { loan_id: 'L-1' } });
      expect(() => new Webhook(http.body.secret).verify(m.body, m.headers)).toThrow();

      expect(
        (await report(relay, m, { status: 202, body: 'queued locally', headers: { 'x-local': '1' } })).status,
      ).toBe(204);
      const d = await until(async () => {
        const x = await deliveryOf(id, relay.id);
        return x.state === 'succeeded' && x;
      }, 'the relayed delivery to succeed');
      expect(d.attempt_log).toHaveLength(1);
      expect(d.attempt_log[0]).toMatchObject({ status: 202, response_body: 'queued locally', error: null });
      // A report is taken once.
      expect((await report(relay, m, { status: 200 })).status).toBe(404);
    } finally {
      await stream.close();
      await app.api('DELETE', `/v1/tenants/acme/endpoints/${http.body.id}`);
      await api('DELETE', `/v1/tenants/acme/relays/${relay.id}`);
    }
  });

  it('retries a reported 500 like any endpoint, and an unreachable local URL too', async () => {
    const relay = await createRelay();
    const stream = await openStream(app.url, relay.stream, token);
    try {
      const id = await publish({ n: 2 });
      await report(relay, await stream.nth(1), { status: 500, body: 'boom' });
      await report(relay, await stream.nth(2), {
        status: null,
        error: 'local: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:3000',
      });
      const third = await stream.nth(3);
      expect(third.headers['webhook-id']).toBe(id);
      await report(relay, third, { status: 200, body: 'ok' });
      const d = await until(async () => {
        const x = await deliveryOf(id, relay.id);
        return x.state === 'succeeded' && x;
      }, 'success on the third attempt');
      expect(d.attempt_log.map((a) => a.status)).toEqual([500, null, 200]);
      expect(d.attempt_log[0]!.error).toBe('HTTP 500');
      expect(d.attempt_log[1]!.error).toContain('ECONNREFUSED');
    } finally {
      await stream.close();
      await api('DELETE', `/v1/tenants/acme/relays/${relay.id}`);
    }
  });

  it('fails an attempt while no stream is open like a refused connection, and delivers on a retry once one is', async () => {
    const relay = await createRelay();
    const id = await publish({ n: 3 });
    await until(async () => (await deliveryOf(id, relay.id)).attempts >= 1, 'a first attempt');
    const first = await deliveryOf(id, relay.id);
    expect(first.attempt_log[0]!.status).toBeNull();
    expect(first.attempt_log[0]!.error).toMatch(/ECONNREFUSED: no `tidings listen` is connected/);
    const stream = await openStream(app.url, relay.stream, token);
    try {
      // The retries may all have passed before the stream opened: then it is resent.
      const m = await until(async () => {
        if (stream.messages[0]) return stream.messages[0];
        const d = await deliveryOf(id, relay.id);
        if (d.state === 'failed') await api('POST', `/v1/tenants/acme/deliveries/${d.id}/resend`);
        return undefined;
      }, 'the delivery down the stream');
      expect(m.headers['webhook-id']).toBe(id);
      await report(relay, m, { status: 200 });
      await until(
        async () => (await deliveryOf(id, relay.id)).state === 'succeeded',
        'success through the stream',
      );
    } finally {
      await stream.close();
      await api('DELETE', `/v1/tenants/acme/relays/${relay.id}`);
    }
  });

  it('DELETE removes the relay endpoint with its deliveries; a plain endpoint is not a relay', async () => {
    const relay = await createRelay();
    const id = await publish({ n: 4 });
    await until(async () => (await deliveryOf(id, relay.id)).attempts >= 1, 'an attempt');
    expect((await api('DELETE', `/v1/tenants/acme/relays/${relay.id}`)).status).toBe(204);
    expect((await api('GET', `/v1/tenants/acme/endpoints/${relay.id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/tenants/acme/relays/${relay.id}`)).status).toBe(404);
    const plain = await api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${receiver.url}/x`,
    });
    expect((await api('GET', `/v1/tenants/acme/relays/${plain.body.id}/stream`)).status).toBe(404);
    expect((await api('DELETE', `/v1/tenants/acme/relays/${plain.body.id}`)).status).toBe(404);
    // Nobody can point an endpoint at relay:// themselves, nor patch one into a broker.
    const made = await api('POST', '/v1/tenants/acme/endpoints', { url: `relay://${plain.body.id}` });
    expect(made.status).toBe(422);
    await app.api('DELETE', `/v1/tenants/acme/endpoints/${plain.body.id}`);
  });

  it('keeps the settings of a relay endpoint patchable, but not into a broker', async () => {
    const relay = await createRelay();
    const patched = await api<{ event_types: string[] }>('PATCH', `/v1/tenants/acme/endpoints/${relay.id}`, {
      event_types: ['loan.paid', 'loan.late'],
    });
    expect(patched.status).toBe(200);
    expect(patched.body.event_types).toEqual(['loan.paid', 'loan.late']);
    const broker = await api<{ error: { code: string } }>('PATCH', `/v1/tenants/acme/endpoints/${relay.id}`, {
      broker: { stream: 's' },
    });
    expect(broker.status).toBe(422);
    expect(broker.body.error.code).toBe('destination_mismatch');
    await api('DELETE', `/v1/tenants/acme/relays/${relay.id}`);
  });
});

describe.each(engines())('relay endpoints across processes (%s)', (engine) => {
  let holder: TestApp;
  let worker: Awaited<ReturnType<typeof startTidings>>;

  beforeAll(async () => {
    // The api process holds the streams; the worker runs in another Tidings on the same store.
    holder = await startApp(engine, { TIDINGS_RELAY_EXPIRY: '2s' }, { roles: 'api' });
    const config = loadConfig(
      {
        TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
        TIDINGS_RETRY_SCHEDULE: '100ms,200ms,300ms',
        TIDINGS_POLL_INTERVAL_MS: '100',
        TIDINGS_RELAY_EXPIRY: '2s',
        TIDINGS_LOG_LEVEL: 'silent',
      },
      { roles: 'worker' },
    );
    worker = await startTidings(config, { log: createLogger('silent'), db: holder.testDb.db });
    await holder.api('PUT', '/v1/event-types/loan.paid', { description: 'A loan payment' });
    await holder.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
  });
  afterAll(async () => {
    await worker?.stop();
    await holder?.stop();
  });

  it('hands each request to the process holding the stream through the store, and the report back', async () => {
    const relay = (await holder.api<Relay>('POST', '/v1/tenants/acme/relays', { event_types: ['loan.paid'] }))
      .body;
    const stream = await openStream(holder.url, relay.stream, ADMIN_TOKEN);
    try {
      const e = await holder.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
        type: 'loan.paid',
        payload: { n: 1 },
      });
      const m = await stream.nth(1);
      expect(m.headers['webhook-id']).toBe(e.body.id);
      expect(new Webhook(relay.secret).verify(m.body, m.headers)).toMatchObject({ data: { n: 1 } });
      await holder.api('POST', `/v1/tenants/acme/relays/${relay.id}/reports/${m.request_id}`, {
        status: 201,
        body: 'made',
      });
      const d = await until(async () => {
        const detail = await holder.api<{ deliveries: { id: string; state: string }[] }>(
          'GET',
          `/v1/tenants/acme/events/${e.body.id}`,
        );
        const one = detail.body.deliveries[0]!;
        return one.state === 'succeeded' && one;
      }, 'the delivery to succeed through the hand-off');
      const detail = await holder.api<Delivery>('GET', `/v1/tenants/acme/deliveries/${d.id}`);
      expect(detail.body.attempt_log).toMatchObject([{ status: 201, response_body: 'made' }]);
      // Nothing is left in the hand-off table.
      const left = await holder.testDb.db.query('SELECT id FROM relay_requests');
      expect(left).toEqual([]);
    } finally {
      await stream.close();
    }
  });

  it('removes relays whose stream has been gone past the expiry, and keeps those still held', async () => {
    const held = (await holder.api<Relay>('POST', '/v1/tenants/acme/relays', {})).body;
    const gone = (await holder.api<Relay>('POST', '/v1/tenants/acme/relays', {})).body;
    const stream = await openStream(holder.url, held.stream, ADMIN_TOKEN);
    try {
      await until(
        async () => (await holder.api('GET', `/v1/tenants/acme/endpoints/${gone.id}`)).status === 404,
        'the relay without a stream to expire',
      );
      // Past the expiry for the unheld one; the held one's heartbeat kept it, in both processes.
      expect((await holder.api('GET', `/v1/tenants/acme/endpoints/${held.id}`)).status).toBe(200);
    } finally {
      await stream.close();
    }
    await until(
      async () => (await holder.api('GET', `/v1/tenants/acme/endpoints/${held.id}`)).status === 404,
      'the relay whose stream closed to expire',
    );
  });
});
