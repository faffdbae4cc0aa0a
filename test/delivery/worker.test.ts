import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Detail {
  state: string;
  attempts: number;
  attempt_log: {
    status: number | null;
    error: string | null;
    response_body: string | null;
    started_at: string;
  }[];
}

describe.each(engines())('the worker (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  /** Per path: what the receiver answers to the nth request on that path. */
  const script = new Map<
    string,
    (n: number) => { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  >();
  const counts = new Map<string, number>();

  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_REQUEST_TIMEOUT_MS: '400' });
    rx = await startReceiver((req) => {
      const n = (counts.get(req.path) ?? 0) + 1;
      counts.set(req.path, n);
      return script.get(req.path)?.(n) ?? { status: 200 };
    });
    await app.api('PUT', '/v1/event-types/ping', {});
    await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  /** An endpoint at `path` that gets exactly one event; resolves with its delivery once it settles. */
  async function deliverOnce(path: string, until: (d: Detail) => boolean): Promise<Detail> {
    const ep = await app.api<{ id: string }>('POST', '/v1/tenants/t/endpoints', {
      url: `${rx.url}${path}`,
      channels: [path],
    });
    expect(ep.status).toBe(201);
    const pub = await app.api<{ id: string }>('POST', '/v1/tenants/t/events', {
      type: 'ping',
      payload: { path },
      channels: [path],
    });
    expect(pub.status).toBe(202);
    const ev = await app.api<{ deliveries: { id: string }[] }>('GET', `/v1/tenants/t/events/${pub.body.id}`);
    const did = ev.body.deliveries[0]!.id;
    return vi.waitFor(
      async () => {
        const d = await app.api<Detail>('GET', `/v1/tenants/t/deliveries/${did}`);
        if (!until(d.body)) throw new Error(`delivery ${did} is ${d.body.state}`);
        return d.body;
      },
      { timeout: 30_000, interval: 50 },
    );
  }

  it('retries a failing receiver and succeeds on the third attempt', async () => {
    script.set('/flaky', (n) => (n <= 2 ? { status: 500, body: 'not yet' } : { status: 204 }));
    const d = await deliverOnce('/flaky', (x) => x.state === 'succeeded');
    expect(d.attempts).toBe(3);
    expect(d.attempt_log.map((a) => a.status)).toEqual([500, 500, 204]);
    expect(d.attempt_log[0]!.response_body).toBe('not yet');
    expect(counts.get('/flaky')).toBe(3);
  });

  it('gives up after the last attempt of the schedule', async () => {
    script.set('/down', () => ({ status: 503 }));
    const d = await deliverOnce('/down', (x) => x.state === 'failed');
    expect(d.attempts).toBe(4);
    expect(counts.get('/down')).toBe(4);
  });

  it('disables the endpoint on 410 Gone and does not retry', async () => {
    script.set('/gone', () => ({ status: 410 }));
    const d = await deliverOnce('/gone', (x) => x.state === 'failed');
    expect(d.attempts).toBe(1);
    const eps = await app.api<{ data: { url: string; disabled: boolean; disabled_reason: string }[] }>(
      'GET',
      '/v1/tenants/t/endpoints',
    );
    const gone = eps.body.data.find((e) => e.url.endsWith('/gone'))!;
    expect(gone.disabled).toBe(true);
    expect(gone.disabled_reason).toMatch(/410/);
  });

  it('does not follow redirects', async () => {
    script.set('/moved', () => ({ status: 302, headers: { location: `${rx.url}/target` } }));
    const d = await deliverOnce('/moved', (x) => x.attempts >= 1);
    expect(d.attempt_log[0]!.status).toBe(302);
    expect(counts.get('/target')).toBeUndefined();
  });

  it('keeps the first 4 KiB of a response body', async () => {
    script.set('/chatty', () => ({ status: 200, body: 'x'.repeat(100_000) }));
    const d = await deliverOnce('/chatty', (x) => x.state === 'succeeded');
    expect(d.attempt_log[0]!.response_body).toHaveLength(4096);
  });

  it('records a timeout as a failed attempt', async () => {
    script.set('/slow', (n) => (n === 1 ? { status: 200, delayMs: 2_000 } : { status: 200 }));
    const d = await deliverOnce('/slow', (x) => x.state === 'succeeded');
    expect(d.attempt_log[0]!.status).toBeNull();
    expect(d.attempt_log[0]!.error).toMatch(/timeout/);
  });

  it('honours Retry-After on 429, clamped to the schedule', async () => {
    script.set('/busy', (n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 },
    );
    const d = await deliverOnce('/busy', (x) => x.state === 'succeeded');
    const gap = Date.parse(d.attempt_log[1]!.started_at) - Date.parse(d.attempt_log[0]!.started_at);
    // An hour was asked for; the schedule's longest delay (300 ms) is the bound.
    expect(gap).toBeGreaterThanOrEqual(250);
    expect(gap).toBeLessThan(3_600_000);
  });
});
