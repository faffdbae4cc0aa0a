// /metrics after real deliveries, read with a real Prometheus text-format parser: one event to
// three endpoints (one succeeds at once, one after a retry, one is given up on), a skipped
// delivery, a reminder fired late. The counters move by exactly what happened, the histograms
// have the observations, the pending gauge falls to 0; then a worker-only process, with no
// API, is scraped on its ops port (TIDINGS_OPS_PORT) after it delivered.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Scrape, scrape } from '../helpers/metrics.js';
import { type Child, spawnTidings } from '../helpers/processes.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

const CATALOG = fileURLToPath(new URL('../../catalogs/canopy.json', import.meta.url));

/** What moved between two scrapes. */
function delta(before: Scrape, after: Scrape) {
  return {
    value: (name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels),
    count: (name: string, labels: Record<string, string> = {}) =>
      after.histogram(name, labels).count - before.histogram(name, labels).count,
    sum: (name: string, labels: Record<string, string> = {}) =>
      after.histogram(name, labels).sum - before.histogram(name, labels).sum,
  };
}

describe.each(engines())('metrics after real deliveries (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const seen = new Map<string, number>();

  beforeAll(async () => {
    rx = await startReceiver((req) => {
      const n = (seen.get(req.path) ?? 0) + 1;
      seen.set(req.path, n);
      if (req.path === '/retry') return { status: n === 1 ? 500 : 200 };
      if (req.path === '/down') return { status: 500 };
      return { status: 200 };
    });
    app = await startApp(engine, { TIDINGS_OPS_PORT: '0' });
    await app.api('PUT', '/v1/event-types/bill.paid', {});
    await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('counts a success, a retry and a give-up by the right amounts; the pending gauge falls to 0', async () => {
    const before = await scrape(app.url);
    for (const path of ['/ok', '/retry', '/down']) {
      const ep = await app.api('POST', '/v1/tenants/t/endpoints', { url: `${rx.url}${path}` });
      expect(ep.status).toBe(201);
    }
    const pub = await app.api<{ id: string; deliveries: number }>('POST', '/v1/tenants/t/events', {
      type: 'bill.paid',
      payload: { amount: 1 },
    });
    expect([pub.status, pub.body.deliveries]).toEqual([202, 3]);
    // A repeat of the same id is not a new event.
    const again = await app.api('POST', '/v1/tenants/t/events', {
      id: pub.body.id,
      type: 'bill.paid',
      payload: { amount: 1 },
    });
    expect(again.status).toBe(200);

    // ok: 1 attempt; retry: 500 then 200; down: 4 attempts (TIDINGS_RETRY_SCHEDULE of the tests), given up.
    await until(async () => {
      const ev = await app.api<{ deliveries: { state: string }[] }>(
        'GET',
        `/v1/tenants/t/events/${pub.body.id}`,
      );
      return ev.body.deliveries.every((d) => d.state === 'succeeded' || d.state === 'failed');
    }, 'every delivery settled');
    const after = await until(async () => {
      const s = await scrape(app.url);
      // The acks are written a moment after the last answer.
      return s.value('tidings_deliveries_pending') === 0 && s.value('tidings_deliveries_in_flight') === 0
        ? s
        : undefined;
    }, 'the pending gauge at 0');
    const d = delta(before, after);

    expect(d.value('tidings_events_published_total', { type: 'bill.paid' })).toBe(1);
    expect(d.value('tidings_deliveries_created_total')).toBe(3);
    expect(d.value('tidings_attempts_total', { result: 'success' })).toBe(2);
    expect(d.value('tidings_attempts_total', { result: 'failure' })).toBe(5);
    expect(d.count('tidings_attempt_duration_seconds')).toBe(7);
    expect(d.count('tidings_attempt_duration_seconds', { result: 'failure' })).toBe(5);
    expect(d.value('tidings_deliveries_completed_total', { state: 'succeeded' })).toBe(2);
    expect(d.value('tidings_deliveries_completed_total', { state: 'failed' })).toBe(1);
    expect(d.count('tidings_publish_to_delivery_seconds')).toBe(2);
    expect(d.sum('tidings_publish_to_delivery_seconds')).toBeGreaterThan(0);
    // Every attempt went through an ack batch; claims were counted (polls that found nothing too).
    expect(d.sum('tidings_ack_batch_size')).toBe(7);
    expect(d.sum('tidings_claim_batch_size')).toBe(7);
    expect(d.count('tidings_claim_batch_size')).toBeGreaterThanOrEqual(4);
    expect(after.value('tidings_oldest_pending_age_seconds')).toBe(0);
    expect(after.value('tidings_store_up')).toBe(1);

    // The given-up endpoint failed 4 times in a row: failing (the circuit opens at 5).
    expect(after.value('tidings_endpoints', { health: 'failing' })).toBe(1);
    expect(after.value('tidings_endpoints', { health: 'open' })).toBe(0);
    expect(after.value('tidings_endpoints', { health: 'healthy' })).toBe(2);
    expect(after.value('tidings_endpoints', { health: 'disabled' })).toBe(0);

    // Store statements by name: the named ones, and "unnamed" for the rest; no unbounded label.
    const statements = after.labelValues('tidings_store_statement_duration_seconds', 'statement');
    expect(statements).toContain('unnamed');
    expect(statements).toContain('metrics/pending');
    expect(after.histogram('tidings_store_transaction_duration_seconds').count).toBeGreaterThan(0);
    // No tenant label by default; prom-client's process and event-loop metrics are there.
    expect(after.text).not.toMatch(/tenant="/);
    expect(after.family('nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(after.family('process_resident_memory_bytes')).toBeDefined();

    // Skipping the given-up delivery counts it as cancelled.
    const ev = await app.api<{ deliveries: { id: string; state: string }[] }>(
      'GET',
      `/v1/tenants/t/events/${pub.body.id}`,
    );
    const failed = ev.body.deliveries.find((x) => x.state === 'failed')!;
    expect((await app.api('POST', `/v1/tenants/t/deliveries/${failed.id}/skip`)).status).toBe(202);
    const skipped = await scrape(app.url);
    expect(delta(after, skipped).value('tidings_deliveries_completed_total', { state: 'cancelled' })).toBe(1);
  });

  it('serves the same metrics, /healthz and /readyz on the ops listener', async () => {
    const ops = app.tidings.opsUrl!;
    expect(ops).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = await scrape(app.url);
    const side = await scrape(ops);
    expect(side.value('tidings_attempts_total')).toBe(api.value('tidings_attempts_total'));
    const health = await fetch(`${ops}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${ops}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', store: engine });
    const other = await fetch(`${ops}/v1/tenants`);
    expect(other.status).toBe(404);
  });

  it('keeps /metrics out of the API document', async () => {
    const doc = await app.api<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
    expect(Object.keys(doc.body.paths)).not.toContain('/metrics');
  });
});

describe.each(engines())('reminder metrics (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const clock = new ManualClock(new Date('2024-01-01T00:00:00Z'));

  beforeAll(async () => {
    rx = await startReceiver();
    // A long poll: the scheduler's own loop stays asleep, so drain() below fires the reminder.
    app = await startApp(
      engine,
      { TIDINGS_CATALOG: CATALOG, TIDINGS_POLL_INTERVAL_MS: '60000' },
      { clock, roles: 'api,scheduler' },
    );
    await app.api('POST', '/v1/tenants', { id: 'bank', name: 'Bank' });
    await app.api('POST', '/v1/tenants/bank/endpoints', {
      url: `${rx.url}/hook`,
      event_types: ['account_delinquency'],
    });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('shows due reminders, then the fire lag of each one fired', async () => {
    await app.api('PUT', '/v1/tenants/bank/reminder-rules', {
      event_type: 'account_delinquency',
      subject: 'lag',
      offsets: ['1 day'],
    });
    const put = await app.api('PUT', '/v1/tenants/bank/anchors/lag', {
      event_type: 'account_delinquency',
      subject: 'lag',
      at: '2024-01-10T00:00:00Z',
      time_zone: 'UTC',
      payload: {
        account_id: 'a',
        cure_amount: '10',
        customer_id: 'c',
        delinquent_as_of_date: '2024-01-01T00:00:00Z',
      },
    });
    expect(put.status).toBe(201);
    const before = await scrape(app.url);
    expect(before.value('tidings_reminders_due')).toBe(0);
    // Due at 2024-01-11T00:00:00Z; the clock is 90 s past it and the scheduler has not run.
    clock.set(new Date('2024-01-11T00:01:30Z'));
    const due = await scrape(app.url);
    expect(due.value('tidings_reminders_due')).toBe(1);
    expect(await app.tidings.scheduler!.drain()).toBe(1);
    const after = await scrape(app.url);
    const d = delta(before, after);
    expect(after.value('tidings_reminders_due')).toBe(0);
    expect(d.value('tidings_reminders_fired_total')).toBe(1);
    expect(d.count('tidings_reminder_fire_lag_seconds')).toBe(1);
    expect(d.sum('tidings_reminder_fire_lag_seconds')).toBe(90);
    expect(d.value('tidings_events_published_total', { type: 'account_delinquency' })).toBe(1);
    expect(d.value('tidings_deliveries_created_total')).toBe(1);
  });
});

describe.skipIf(!engines().includes('pg'))('a worker-only process on its ops port (pg)', () => {
  let api: TestApp;
  let worker: Child | undefined;
  let rx: Receiver;

  beforeAll(async () => {
    rx = await startReceiver((_req, i) => ({ status: i === 0 ? 500 : 200 }));
    api = await startApp('pg', {}, { roles: 'api' });
  });
  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await api?.stop();
    await rx?.close();
  });

  it('is probed and scraped with no API, and counts what it delivered', async () => {
    const { testDb } = api;
    worker = spawnTidings(['serve', '--roles', 'worker'], {
      DATABASE_URL: testDb.url!,
      TIDINGS_DB_SCHEMA: testDb.schema!,
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_RETRY_SCHEDULE: '100ms',
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_OPS_PORT: '0',
      TIDINGS_LOG_FORMAT: 'json',
    });
    await worker.waitForOutput(/"msg":"tidings started"/);
    const started = worker
      .output()
      .split('\n')
      .find((l) => l.includes('"tidings started"'))!;
    const ops = (JSON.parse(started) as { ops: string; url?: string }).ops;
    expect(ops).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const before = await scrape(ops);

    await api.api('PUT', '/v1/event-types/ping', {});
    await api.api('POST', '/v1/tenants', { id: 'w', name: 'W' });
    await api.api('POST', '/v1/tenants/w/endpoints', { url: `${rx.url}/w` });
    const pub = await api.api<{ deliveries: number }>('POST', '/v1/tenants/w/events', {
      type: 'ping',
      payload: {},
    });
    expect(pub.body.deliveries).toBe(1);
    const after = await until(async () => {
      const s = await scrape(ops);
      return s.value('tidings_deliveries_completed_total', { state: 'succeeded' }) === 1 &&
        s.value('tidings_deliveries_pending') === 0 &&
        s.value('tidings_deliveries_in_flight') === 0
        ? s
        : undefined;
    }, 'the worker delivered');
    const d = delta(before, after);
    expect(d.value('tidings_attempts_total', { result: 'failure' })).toBe(1);
    expect(d.value('tidings_attempts_total', { result: 'success' })).toBe(1);
    expect(d.count('tidings_publish_to_delivery_seconds')).toBe(1);
    expect(d.sum('tidings_ack_batch_size')).toBe(2);
    // Published by the api process: its counter is there, not here.
    expect(after.value('tidings_events_published_total')).toBe(0);
    expect((await scrape(api.url)).value('tidings_events_published_total', { type: 'ping' })).toBe(1);
  });
});
