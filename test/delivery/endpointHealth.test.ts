// Endpoint health over days, with an injected clock: the operator hears of a failing endpoint
// after a day, Tidings disables it after five, events published meanwhile are kept and sent on
// re-enable, the operator hears it recovered, and recover requeues what had failed. Also the
// circuit breaker seen from outside: the endpoint shows "open" and is probed one request at a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { CIRCUIT_OPEN_AFTER } from '../../src/store/claimPlan.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { captureLog } from './appLog.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Endpoint {
  id: string;
  disabled: boolean;
  disabled_reason: string | null;
  health: {
    state: string;
    consecutive_failures: number;
    failing_since: string | null;
    last_success_at: string | null;
  };
}
interface Delivery {
  id: string;
  state: string;
  attempts: number;
}

describe.each(engines())('endpoint health over days (%s)', (engine) => {
  let app: TestApp;
  let shop: Receiver;
  let ops: Receiver;
  let shopUp = false;
  const clock = new ManualClock(new Date('2026-04-06T08:00:00Z'));
  const logs = captureLog();
  let epId = '';

  const sweep = () => app.tidings.worker!.sweepHealth();
  const endpoint = async () => (await app.api<Endpoint>('GET', `/v1/tenants/acme/endpoints/${epId}`)).body;
  const publish = async (n: number) => {
    const r = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
      type: 'invoice.late',
      payload: { n },
    });
    expect(r.status).toBe(202);
    return r.body.id;
  };
  const deliveryOf = async (eventId: string) =>
    (await app.api<{ deliveries: Delivery[] }>('GET', `/v1/tenants/acme/events/${eventId}`)).body
      .deliveries[0]!;
  const opsTypes = () => ops.requests.map((r: Received) => (JSON.parse(r.body) as { type: string }).type);

  beforeAll(async () => {
    shop = await startReceiver(() => ({ status: shopUp ? 200 : 500 }));
    ops = await startReceiver(() => ({ status: 200 }));
    app = await startApp(engine, { TIDINGS_RETRY_SCHEDULE: '1m,1m,1m' }, { clock, log: logs.log });
    await app.api('PUT', '/v1/event-types/invoice.late', {});
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    epId = (
      await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
        url: `${shop.url}/hooks?key=s3cret`,
      })
    ).body.id;
  });
  afterAll(async () => {
    await app?.stop();
    await shop?.close();
    await ops?.close();
  });

  let firstEvent = '';
  let failingSince = 0;

  it('lists the operator event types in the catalog', async () => {
    const types = await app.api<{ data: { name: string }[] } | { name: string }[]>('GET', '/v1/event-types');
    const names = JSON.stringify(types.body);
    for (const t of ['tidings.endpoint.failing', 'tidings.endpoint.disabled', 'tidings.endpoint.recovered']) {
      expect(names).toContain(t);
    }
  });

  it('tells the operator, in its own tenant created on demand, once failures have lasted a day', async () => {
    firstEvent = await publish(1);
    // Four attempts about a minute apart; the clock moves only when the test says so.
    for (let attempt = 1; attempt <= 4; attempt++) {
      await until(async () => (await deliveryOf(firstEvent)).attempts >= attempt, `attempt ${attempt}`);
      clock.advance(75_000); // past the retry delay and its jitter (±20 %)
    }
    await until(async () => (await deliveryOf(firstEvent)).state === 'failed', 'give-up');
    expect((await endpoint()).health).toMatchObject({ state: 'failing', consecutive_failures: 4 });

    failingSince = new Date((await endpoint()).health.failing_since!).getTime();
    const operatorEvents = async (type: string) => {
      const r = await app.api<{ data?: { type: string; payload: Record<string, unknown> }[] }>(
        'GET',
        `/v1/tenants/operator/events?type=${type}`,
      );
      return r.body.data ?? [];
    };
    clock.set(new Date(failingSince + 23 * HOUR));
    await sweep();
    expect(await operatorEvents('tidings.endpoint.failing')).toEqual([]);
    clock.set(new Date(failingSince + DAY));
    await sweep();
    await sweep(); // a second sweep tells nobody twice
    expect((await app.api('GET', '/v1/tenants/operator')).status).toBe(200);
    const events = { body: { data: await operatorEvents('tidings.endpoint.failing') } };
    expect(events.body.data.map((e) => e.type)).toEqual(['tidings.endpoint.failing']);
    // The delivery that gave up was told of too, once (tidings.delivery.failed).
    const gaveUp = await operatorEvents('tidings.delivery.failed');
    expect(gaveUp.map((e) => e.payload.event_id)).toEqual([firstEvent]);
    expect(events.body.data[0]!.payload).toMatchObject({
      endpoint_id: epId,
      tenant_id: 'acme',
      url: `${shop.url}/hooks`,
      consecutive_failures: 4,
    });
    expect(JSON.stringify(events.body.data[0]!.payload)).not.toContain('s3cret');
    expect(logs.lines.some((l) => l.level === 40 && l.endpoint === epId && /failing/.test(l.msg))).toBe(true);

    // From now on the operator listens, like any tenant, on an endpoint of its own.
    const opsEp = await app.api('POST', '/v1/tenants/operator/endpoints', { url: `${ops.url}/tidings` });
    expect(opsEp.status).toBe(201);
  });

  it('disables the endpoint after five days without a success, and says so', async () => {
    clock.set(new Date(failingSince + 5 * DAY - 60_000));
    await sweep();
    expect((await endpoint()).disabled).toBe(false);
    clock.set(new Date(failingSince + 5 * DAY));
    await sweep();
    const e = await endpoint();
    expect(e.disabled).toBe(true);
    expect(e.disabled_reason).toMatch(/no successful delivery for 5 days/);
    await ops.waitFor(1);
    expect(opsTypes()).toEqual(['tidings.endpoint.disabled']);
    const sent = JSON.parse(ops.requests[0]!.body) as { data: Record<string, unknown> };
    expect(sent.data).toMatchObject({ endpoint_id: epId, tenant_id: 'acme' });
    expect(sent.data.disabled_at).not.toBeNull();
    expect(logs.lines.some((l) => l.level === 40 && l.endpoint === epId && /disabled/.test(l.msg))).toBe(
      true,
    );
  });

  let whileDisabled: string[] = [];

  it('keeps events published while the endpoint is disabled', async () => {
    whileDisabled = [await publish(2), await publish(3)];
    clock.advance(HOUR);
    await new Promise((r) => setTimeout(r, 500)); // a few claim rounds: nothing may go out
    for (const id of whileDisabled)
      expect(await deliveryOf(id)).toMatchObject({ state: 'pending', attempts: 0 });
    const shopRequests = shop.requests.length;
    expect(shopRequests).toBe(4);
  });

  it('delivers them on re-enable, and tells the operator the endpoint recovered', async () => {
    shopUp = true;
    const patched = await app.api('PATCH', `/v1/tenants/acme/endpoints/${epId}`, { disabled: false });
    expect(patched.status).toBe(200);
    await until(async () => {
      for (const id of whileDisabled) if ((await deliveryOf(id)).state !== 'succeeded') return false;
      return true;
    }, 'the kept events');
    expect((await endpoint()).health).toMatchObject({ state: 'healthy', consecutive_failures: 0 });
    await sweep();
    await ops.waitFor(2);
    expect(opsTypes()).toEqual(['tidings.endpoint.disabled', 'tidings.endpoint.recovered']);
    await sweep();
    expect(opsTypes()).toHaveLength(2);
  });

  it('requeues every failed delivery since a time on recover', async () => {
    expect((await deliveryOf(firstEvent)).state).toBe('failed');
    const before = shop.requests.length;
    const r = await app.api<{ requeued: number }>('POST', `/v1/tenants/acme/endpoints/${epId}/recover`, {
      since: new Date(clock.now().getTime() - 7 * DAY).toISOString(),
    });
    expect(r.status).toBe(202);
    expect(r.body.requeued).toBe(1);
    await until(async () => (await deliveryOf(firstEvent)).state === 'succeeded', 'the recovered delivery');
    expect(shop.requests.slice(before).map((x) => x.headers['webhook-id'])).toEqual([firstEvent]);
    const again = await app.api<{ requeued: number }>('POST', `/v1/tenants/acme/endpoints/${epId}/recover`, {
      since: new Date(0).toISOString(),
    });
    expect(again.body.requeued).toBe(0);
  });

  it('opens the circuit after consecutive failures and probes with one request at a time', async () => {
    let inFlight = 0;
    let maxInFlightAfterOpen = 0;
    let opened = false;
    shop.setResponder(async () => {
      inFlight += 1;
      if (opened) maxInFlightAfterOpen = Math.max(maxInFlightAfterOpen, inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight -= 1;
      return { status: shopUp ? 200 : 500 };
    });
    shopUp = false;
    // Before the circuit opens, claims go on while fewer than CIRCUIT_OPEN_AFTER failures are
    // recorded, each up to the in-flight cap: a first wave of at most (threshold - 1) + cap
    // requests, however the acks fall. A cap of 3 keeps that (7) below the 12 events.
    const cap = 3;
    expect(
      (await app.api('PATCH', `/v1/tenants/acme/endpoints/${epId}`, { max_in_flight: cap })).status,
    ).toBe(200);
    const before = shop.requests.length;
    const ids: string[] = [];
    for (let n = 0; n < 12; n++) ids.push(await publish(100 + n));
    await until(async () => (await endpoint()).health.state === 'open', 'circuit open');
    // Every attempt of the first wave is recorded (the clock must not move under an ack).
    const recorded = async () => (await endpoint()).health.consecutive_failures;
    await until(
      async () => inFlight === 0 && (await recorded()) === shop.requests.length - before,
      'first wave recorded',
    );
    opened = true;
    const firstWave = shop.requests.length - before;
    expect(firstWave).toBeGreaterThanOrEqual(CIRCUIT_OPEN_AFTER);
    expect(firstWave).toBeLessThanOrEqual(CIRCUIT_OPEN_AFTER - 1 + cap);
    // While open, each step of the clock lets exactly one probe through.
    for (let step = 0; step < 4; step++) {
      const n = shop.requests.length;
      const failures = await recorded();
      clock.advance(5 * 60_000);
      await until(() => shop.requests.length > n, 'a probe');
      await until(async () => (await recorded()) === failures + 1, 'the probe recorded');
      expect(shop.requests.length - n).toBe(1);
    }
    expect(maxInFlightAfterOpen).toBe(1);
    // The endpoint comes back: the next probe succeeds, closes the circuit, and the rest flows.
    shopUp = true;
    clock.advance(5 * 60_000);
    await until(async () => {
      for (const id of ids) if ((await deliveryOf(id)).state !== 'succeeded') return false;
      return true;
    }, 'every delivery after the circuit closed');
    expect((await endpoint()).health.state).toBe('healthy');
  });
});
