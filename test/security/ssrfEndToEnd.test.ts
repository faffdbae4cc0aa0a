// SSRF through the whole app: every spelling of an internal address is refused when an
// endpoint is created (422), a name that resolves inside is refused when a delivery dials it
// (the attempt says why, the receiver is never reached), and an allowed CIDR lets it through.
import dns from 'node:dns';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTidings, type Tidings } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Attempt {
  error: string | null;
  status: number | null;
}

async function attemptsOf(call: TestApp['api'], tid: string, eventId: string): Promise<Attempt[]> {
  for (let i = 0; i < 300; i++) {
    const ev = await call<{ deliveries: { id: string; attempts: number }[] }>(
      'GET',
      `/v1/tenants/${tid}/events/${eventId}`,
    );
    const d = ev.body.deliveries[0];
    if (d && d.attempts > 0) {
      const detail = await call<{ attempt_log: Attempt[] }>('GET', `/v1/tenants/${tid}/deliveries/${d.id}`);
      return detail.body.attempt_log;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no attempt was recorded');
}

/** A client for an app started with startTidings (no test helper around it). */
function client(t: Tidings): TestApp['api'] {
  return async (method, path, body) => {
    const res = await fetch(t.url + path, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as never, headers: res.headers };
  };
}

describe('endpoint creation refuses internal targets (no private range allowed)', () => {
  let app: TestApp;
  let rx: Receiver;
  beforeAll(async () => {
    app = await startApp('pglite', { TIDINGS_ALLOW_PRIVATE_TARGETS: '' }, { roles: 'api' });
    rx = await startReceiver();
    await app.api('POST', '/v1/tenants', { id: 's', name: 'S' });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  const forms = (port: number): [string, string][] => [
    [`http://127.0.0.1:${port}/`, 'loopback'],
    [`http://127.1:${port}/`, 'loopback'],
    [`http://0x7f000001:${port}/`, 'loopback'],
    [`http://2130706433:${port}/`, 'loopback'],
    [`http://0177.0.0.1:${port}/`, 'loopback'],
    [`http://[::1]:${port}/`, 'loopback'],
    [`http://[::ffff:127.0.0.1]:${port}/`, 'loopback'],
    [`http://[::ffff:7f00:1]:${port}/`, 'loopback'],
    [`http://localhost:${port}/`, 'loopback'],
    [`http://localhost.:${port}/`, 'loopback'],
    [`http://hooks.localhost:${port}/`, 'loopback'],
    [`http://0.0.0.0:${port}/`, 'unspecified'],
    [`http://[::]:${port}/`, 'unspecified'],
    ['http://169.254.169.254/latest/meta-data/', 'cloud metadata'],
    ['http://[fd00:ec2::254]/', 'cloud metadata'],
    ['http://metadata.google.internal/', 'private name'],
    ['http://10.0.0.8/', 'private'],
    ['http://172.16.5.4/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://[fd12:3456:789a::1]/', 'unique-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://169.254.10.10/', 'link-local'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://255.255.255.255/', 'broadcast'],
    ['http://[64:ff9b::a00:1]/', 'private'],
    ['http://[2002:7f00:1::]/', 'loopback'],
  ];

  it('answers 422 for each form, on create and on patch, and the receiver is never reached', async () => {
    const ok = await app.api<{ id: string }>('POST', '/v1/tenants/s/endpoints', {
      url: 'https://example.com/hook',
    });
    expect(ok.status).toBe(201);
    for (const [url, why] of forms(rx.port)) {
      const created = await app.api<{ error: { code: string; message: string } }>(
        'POST',
        '/v1/tenants/s/endpoints',
        { url },
      );
      expect(created.status, url).toBe(422);
      expect(created.body.error.code, url).toBe('invalid_url');
      expect(created.body.error.message, url).toContain('refused');
      expect(created.body.error.message, url).toContain(why);
      const patched = await app.api('PATCH', `/v1/tenants/s/endpoints/${ok.body.id}`, { url });
      expect(patched.status, url).toBe(422);
    }
    expect(rx.requests).toHaveLength(0);
    const list = await app.api<{ data: unknown[] }>('GET', '/v1/tenants/s/endpoints');
    expect(list.body.data).toHaveLength(1);
  });

  it('checks scheme, credentials and length', async () => {
    for (const url of [
      'ftp://example.com/x',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'gopher://example.com/',
      'https://user:pass@example.com/',
      `https://example.com/${'a'.repeat(2100)}`,
    ]) {
      const r = await app.api('POST', '/v1/tenants/s/endpoints', { url });
      expect(r.status, url).toBe(422);
    }
  });

  it('TIDINGS_REQUIRE_HTTPS refuses plain http', async () => {
    const strict = await startApp('pglite', { TIDINGS_REQUIRE_HTTPS: 'true' }, { roles: 'api' });
    try {
      await strict.api('POST', '/v1/tenants', { id: 'h', name: 'H' });
      const plain = await strict.api<{ error: { message: string } }>('POST', '/v1/tenants/h/endpoints', {
        url: 'http://example.com/x',
      });
      expect(plain.status).toBe(422);
      expect(plain.body.error.message).toContain('https');
      expect(
        (await strict.api('POST', '/v1/tenants/h/endpoints', { url: 'https://example.com/x' })).status,
      ).toBe(201);
    } finally {
      await strict.stop();
    }
  });
});

describe.each(engines())('delivery time checks the resolved address again (%s)', (engine) => {
  let testDb: TestDb;
  let rx: Receiver;
  const env = (allow: string, extra: Record<string, string> = {}) =>
    loadConfig(
      {
        TIDINGS_PORT: '0',
        TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
        TIDINGS_ALLOW_PRIVATE_TARGETS: allow,
        TIDINGS_RETRY_SCHEDULE: '100ms',
        TIDINGS_POLL_INTERVAL_MS: '100',
        TIDINGS_LOG_LEVEL: 'silent',
        TIDINGS_ENCRYPTION_KEY: 'k:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        ...extra,
      },
      { roles: 'api,worker' },
    );
  beforeAll(async () => {
    testDb = await freshDb(engine);
    rx = await startReceiver();
  });
  afterAll(async () => {
    await rx?.close();
    await testDb?.drop();
  });

  it('endpoints made while 127.0.0.1 was allowed are refused after a restart without the allowance', async () => {
    let t = await startTidings(env('127.0.0.1/32'), { db: testDb.db });
    let api = client(t);
    await api('PUT', '/v1/event-types/ping', {});
    await api('POST', '/v1/tenants', { id: 'r', name: 'R' });
    expect(
      (await api('POST', '/v1/tenants/r/endpoints', { url: `http://127.0.0.1:${rx.port}/ip` })).status,
    ).toBe(201);
    expect(
      (await api('POST', '/v1/tenants/r/endpoints', { url: `http://localhost:${rx.port}/name` })).status,
    ).toBe(201);
    await t.stop();

    t = await startTidings(env(''), { db: testDb.db });
    api = client(t);
    try {
      const pub = await api<{ id: string; deliveries: number }>('POST', '/v1/tenants/r/events', {
        type: 'ping',
        payload: {},
      });
      expect(pub.body.deliveries).toBe(2);
      const ev = await api<{ deliveries: { id: string; endpoint_id: string }[] }>(
        'GET',
        `/v1/tenants/r/events/${pub.body.id}`,
      );
      // Wait until each delivery has used up its attempts: retries must be refused too.
      const errors: string[] = [];
      for (const d of ev.body.deliveries) {
        let detail: { state: string; attempt_log: Attempt[] } | undefined;
        for (let i = 0; i < 300; i++) {
          detail = (
            await api<{ state: string; attempt_log: Attempt[] }>('GET', `/v1/tenants/r/deliveries/${d.id}`)
          ).body;
          if (detail.state === 'failed') break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(detail!.state).toBe('failed');
        expect(detail!.attempt_log).toHaveLength(2);
        for (const a of detail!.attempt_log) {
          expect(a.status).toBeNull();
          errors.push(a.error ?? '');
        }
      }
      const byIp = errors.filter((e) => !e.includes('resolved from'));
      const byName = errors.filter((e) => e.includes('resolved from'));
      expect(byIp).toEqual([
        expect.stringContaining('refused: 127.0.0.1 is loopback'),
        expect.stringContaining('refused: 127.0.0.1 is loopback'),
      ]);
      expect(byName).toEqual([
        expect.stringMatching(/refused: (127\.0\.0\.1|::1) is loopback \(resolved from localhost\)/),
        expect.stringMatching(/refused: (127\.0\.0\.1|::1) is loopback \(resolved from localhost\)/),
      ]);
      expect(rx.requests).toHaveLength(0);
    } finally {
      await t.stop();
    }
  });

  it('an allowed CIDR lets the same delivery through', async () => {
    const t = await startTidings(env('127.0.0.0/8,::1/128'), { db: testDb.db });
    const api = client(t);
    try {
      await api('POST', '/v1/tenants', { id: 'ok', name: 'OK' });
      await api('POST', '/v1/tenants/ok/endpoints', { url: `http://localhost:${rx.port}/allowed` });
      const pub = await api<{ id: string }>('POST', '/v1/tenants/ok/events', { type: 'ping', payload: {} });
      const got = await rx.waitFor(1);
      expect(got[0]!.path).toBe('/allowed');
      const attempts = await attemptsOf(api, 'ok', pub.body.id);
      expect(attempts[0]).toMatchObject({ status: 200, error: null });
    } finally {
      await t.stop();
    }
  });
});

// This machine's own name passes the creation check (it is not a local-looking name) but
// resolves to loopback on most hosts; the dial-time check must catch it.
const ownName = hostname();
const resolvesToLoopback = await dns.promises
  .lookup(ownName, { all: true })
  .then((as) => as.length > 0 && as.every((a) => a.address.startsWith('127.') || a.address === '::1'))
  .catch(() => false);

describe('a name that looks public but resolves to loopback', () => {
  it.skipIf(!resolvesToLoopback)(`is refused when dialled (${ownName})`, async () => {
    const rx = await startReceiver();
    const app = await startApp('pglite', {
      TIDINGS_ALLOW_PRIVATE_TARGETS: '',
      TIDINGS_RETRY_SCHEDULE: '100ms',
    });
    try {
      await app.api('PUT', '/v1/event-types/ping', {});
      await app.api('POST', '/v1/tenants', { id: 'n', name: 'N' });
      const ep = await app.api('POST', '/v1/tenants/n/endpoints', { url: `http://${ownName}:${rx.port}/` });
      expect(ep.status).toBe(201);
      const pub = await app.api<{ id: string }>('POST', '/v1/tenants/n/events', {
        type: 'ping',
        payload: {},
      });
      const attempts = await attemptsOf(app.api, 'n', pub.body.id);
      expect(attempts[0]!.error).toMatch(
        new RegExp(`refused: .* is loopback \\(resolved from ${ownName}\\)`),
      );
      expect(rx.requests).toHaveLength(0);
    } finally {
      await app.stop();
      await rx.close();
    }
  });
});

describe('egress through TIDINGS_HTTP_PROXY', () => {
  let proxy: http.Server;
  let proxyUrl: string;
  const connects: string[] = [];
  beforeAll(async () => {
    // A minimal CONNECT proxy that records what it is asked to reach.
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      connects.push(req.url ?? '');
      const target = new URL(`http://${req.url}`);
      const upstream = net.connect(Number(target.port), target.hostname.replace(/^\[|\]$/g, ''), () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('deliveries go through the proxy, tunnelled to the checked address, not the name', async () => {
    const rx = await startReceiver();
    const app = await startApp('pglite', {
      TIDINGS_HTTP_PROXY: proxyUrl,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32,::1/128',
    });
    try {
      await app.api('PUT', '/v1/event-types/ping', {});
      await app.api('POST', '/v1/tenants', { id: 'p', name: 'P' });
      await app.api('POST', '/v1/tenants/p/endpoints', { url: `http://localhost:${rx.port}/via-proxy` });
      await app.api('POST', '/v1/tenants/p/events', { type: 'ping', payload: {} });
      const [got] = await rx.waitFor(1);
      expect(got!.path).toBe('/via-proxy');
      expect(connects.length).toBeGreaterThanOrEqual(1);
      expect(connects.at(-1)).toBe(`127.0.0.1:${rx.port}`);
      expect(connects.join(' ')).not.toContain('localhost');
    } finally {
      await app.stop();
      await rx.close();
    }
  });
});
