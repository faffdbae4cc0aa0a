// Per-endpoint delivery policy (issue 15): timeout_ms and retry_schedule on an endpoint,
// bounded by the deployment, defaults from it; the claim hands them to the worker, which
// sends and decides with them; a longer timeout gets a longer lease.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { claimDeliveries } from '../../src/store/deliveries/claim.js';
import { createEndpoint } from '../../src/store/endpoints.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Ep {
  id: string;
  timeout_ms: number | null;
  retry_schedule: string[] | null;
}
interface EventDetail {
  deliveries: { id: string; endpoint_id: string; state: string; attempts: number }[];
}
interface DeliveryDetail {
  state: string;
  attempt_log: { status: number | null; error: string | null }[];
}

describe.each(engines())('per-endpoint policy through the API and worker (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const T = '/v1/tenants/acme';

  beforeAll(async () => {
    // The deployment: 3 retries, 100 to 300 ms apart; a 5 s request timeout (test/helpers/app.ts).
    [app, rx] = await Promise.all([
      startApp(engine),
      startReceiver((r) =>
        r.path.startsWith('/slow')
          ? { status: 200, delayMs: 2500 }
          : r.path.startsWith('/down')
            ? { status: 500 }
            : {},
      ),
    ]);
    expect((await app.api('PUT', '/v1/event-types/job.done', {})).status).toBe(201);
    expect((await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  const create = (path: string, extra: Record<string, unknown>) =>
    app.api<Ep & { error: { code: string; message: string } }>('POST', `${T}/endpoints`, {
      url: `${rx.url}${path}`,
      ...extra,
    });

  it('is bounded by the deployment and defaults to it', async () => {
    const plain = await create('/plain', {});
    expect(plain.body.timeout_ms).toBeNull();
    expect(plain.body.retry_schedule).toBeNull();
    for (const timeout_ms of [999, 30_001]) {
      expect((await create('/x', { timeout_ms })).status).toBe(422);
    }
    const tooMany = await create('/x', { retry_schedule: ['100ms', '100ms', '100ms', '100ms'] });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.error.code).toBe('invalid_retry_schedule');
    expect(tooMany.body.error.message).toContain('at most 3 retries');
    const tooLong = await create('/x', { retry_schedule: ['1s'] });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body.error.message).toContain('retry_schedule[0]');
    expect((await create('/x', { retry_schedule: ['soon'] })).status).toBe(422);
    const set = await create('/set', { timeout_ms: 30_000, retry_schedule: ['100ms', '0.3s'] });
    expect(set.status).toBe(201);
    expect(set.body.timeout_ms).toBe(30_000);
    expect(set.body.retry_schedule).toEqual(['100ms', '300ms']);
    const patched = await app.api<Ep>('PATCH', `${T}/endpoints/${set.body.id}`, {
      timeout_ms: null,
      retry_schedule: null,
    });
    expect(patched.body.timeout_ms).toBeNull();
    expect(patched.body.retry_schedule).toBeNull();
  });

  it('each endpoint is retried on its own schedule, and timed out after its own timeout', async () => {
    const none = await create('/down-none', { event_types: ['job.done'], retry_schedule: [] });
    const one = await create('/down-one', { event_types: ['job.done'], retry_schedule: ['100ms'] });
    const deflt = await create('/down-default', { event_types: ['job.done'] });
    const quick = await create('/slow-quick', {
      event_types: ['job.done'],
      timeout_ms: 1000,
      retry_schedule: [],
    });
    const patient = await create('/slow-patient', { event_types: ['job.done'], retry_schedule: [] });
    const ev = await app.api<{ id: string }>('POST', `${T}/events`, { type: 'job.done', payload: { n: 1 } });
    expect(ev.status).toBe(202);
    const byEndpoint = await vi.waitFor(
      async () => {
        const d = await app.api<EventDetail>('GET', `${T}/events/${ev.body.id}`);
        const ours = [none, one, deflt, quick, patient].map((e) => e.body.id);
        const done = d.body.deliveries.filter(
          (x) => ours.includes(x.endpoint_id) && (x.state === 'failed' || x.state === 'succeeded'),
        );
        expect(done).toHaveLength(5);
        return new Map(d.body.deliveries.map((x) => [x.endpoint_id, x]));
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(byEndpoint.get(none.body.id)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(byEndpoint.get(one.body.id)).toMatchObject({ state: 'failed', attempts: 2 });
    expect(byEndpoint.get(deflt.body.id)).toMatchObject({ state: 'failed', attempts: 4 });
    expect(rx.requests.filter((r) => r.path === '/down-none')).toHaveLength(1);
    expect(rx.requests.filter((r) => r.path === '/down-one')).toHaveLength(2);
    expect(rx.requests.filter((r) => r.path === '/down-default')).toHaveLength(4);
    // The receiver takes 2.5 s: past the 1 s timeout of one endpoint, within the deployment's 5 s.
    expect(byEndpoint.get(patient.body.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    const q = byEndpoint.get(quick.body.id)!;
    expect(q).toMatchObject({ state: 'failed', attempts: 1 });
    const detail = await app.api<DeliveryDetail>('GET', `${T}/deliveries/${q.id}`);
    expect(detail.body.attempt_log[0]!.status).toBeNull();
    expect(detail.body.attempt_log[0]!.error).toMatch(/time/i);
  });
});

describe.each(engines())('per-endpoint policy in the claim (%s)', (engine) => {
  let t: TestDb;
  const now = new Date('2026-06-01T12:00:00Z');
  beforeAll(async () => {
    t = await freshDb(engine);
    await upsertEventType(t.db, { name: 'job.done' }, now);
    await createTenant(t.db, { id: 'a', name: 'A' }, now);
    const mk = (id: string, over: Record<string, unknown>) =>
      createEndpoint(
        t.db,
        plainCodec,
        id,
        'a',
        { url: 'https://example.com', secret: 'whsec_x', ...over },
        now,
      );
    await mk('ep_long', { timeout_ms: 20_000, retry_schedule: [1000, 60_000] });
    await mk('ep_plain', {});
    await t.db.tx((q) =>
      publishEvents(q, [
        {
          tenantId: 'a',
          id: 'e1',
          type: 'job.done',
          payloadJson: '{}',
          channels: [],
          orderingKey: null,
          idempotencyKey: null,
          requestHash: 'h',
          source: 'api',
          createdAt: now,
        },
      ]),
    );
  });
  afterAll(() => t?.drop());

  it('returns the policy, and leases an endpoint with a longer timeout for longer', async () => {
    const leaseUntil = new Date(now.getTime() + 5000 + 30_000);
    const claimed = await claimDeliveries(t.db, {
      now,
      leaseUntil,
      requestTimeoutMs: 5000,
      workerId: 'w',
      limit: 10,
      perEndpoint: 10,
      endpoints: 10,
    });
    const by = new Map(claimed.map((d) => [d.endpoint_id, d]));
    expect(by.get('ep_long')).toMatchObject({
      timeout_ms: 20_000,
      retry_schedule: [1000, 60_000],
      test: false,
    });
    expect(by.get('ep_plain')).toMatchObject({ timeout_ms: null, retry_schedule: null, test: false });
    const leases = await t.db.query<{ endpoint_id: string; due_at: Date }>(
      'SELECT endpoint_id, due_at FROM delivery_queue',
    );
    const lease = new Map(leases.map((r) => [r.endpoint_id, new Date(r.due_at).getTime()]));
    expect(lease.get('ep_plain')).toBe(leaseUntil.getTime());
    expect(lease.get('ep_long')).toBe(leaseUntil.getTime() + 15_000);
  });
});
