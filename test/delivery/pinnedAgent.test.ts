// The delivery dispatcher against real servers on 127.0.0.1: every refused form must leave the
// receiver's hit counter at 0, an allowed CIDR must reach it, and the address dialled must be
// the address checked. Tests cannot leave the machine, so "public" is played by 127.0.0.1 with
// 127.0.0.1/32 allowed, and "internal" by 127.0.0.2, which is not.
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, type Dispatcher, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BlockedAddressError,
  createPinnedAgent,
  createProxyAgent,
  type LookupFn,
  pinnedConnector,
} from '../../src/delivery/pinnedAgent.js';
import type { Cidr } from '../../src/delivery/ssrf.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const none: Cidr[] = [];
const loopback1: Cidr[] = [ipaddr.parseCIDR('127.0.0.1/32')];

function fixedLookup(...addresses: string[]): LookupFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (hostname: string) => {
    calls.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(fn, { calls });
}

async function post(dispatcher: Dispatcher, url: string) {
  const res = await request(url, { dispatcher, method: 'POST', body: '{"n":1}' });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

const agents: Dispatcher[] = [];
function track<T extends Dispatcher>(d: T): T {
  agents.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.destroy()));
});

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

describe('refused targets never reach the receiver', () => {
  const forms = (port: number) => [
    `http://127.0.0.1:${port}/`,
    `http://127.1:${port}/`,
    `http://0x7f000001:${port}/`,
    `http://2130706433:${port}/`,
    `http://0177.0.0.1:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://0:${port}/`,
    `http://[::1]:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[::]:${port}/`,
    `http://localhost:${port}/`,
  ];

  it('every spelling of this machine is refused with TARGET_BLOCKED', async () => {
    const agent = track(createPinnedAgent({ allow: none, connectTimeoutMs: 5000 }));
    for (const url of forms(receiver.port)) {
      const err = await post(agent, url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, url).toBeInstanceOf(BlockedAddressError);
      expect(err, url).toMatchObject({ code: 'TARGET_BLOCKED' });
      expect((err as Error).message, url).toMatch(/^refused: \S+ is (loopback|unspecified)/);
    }
    expect(receiver.requests).toHaveLength(0);
  });

  it.each([
    ['10.0.0.5', 'refused: 10.0.0.5 is private (resolved from hooks.example.test)'],
    [
      '169.254.169.254',
      'refused: 169.254.169.254 is a cloud metadata address (resolved from hooks.example.test)',
    ],
    [
      '100.64.0.1',
      'refused: 100.64.0.1 is carrier-grade NAT (100.64.0.0/10) (resolved from hooks.example.test)',
    ],
    ['fd00::1', 'refused: fd00::1 is unique-local (fc00::/7) (resolved from hooks.example.test)'],
    ['127.0.0.1', 'refused: 127.0.0.1 is loopback (resolved from hooks.example.test)'],
  ])('a hostname resolving to %s is refused, naming the address and range', async (address, message) => {
    const agent = track(
      createPinnedAgent({ allow: none, connectTimeoutMs: 5000, lookup: fixedLookup(address) }),
    );
    await expect(post(agent, `http://hooks.example.test:${receiver.port}/`)).rejects.toThrow(message);
    expect(receiver.requests).toHaveLength(0);
  });

  it('a name answering with a public and a private address is refused outright', async () => {
    const agent = track(
      createPinnedAgent({ allow: none, connectTimeoutMs: 5000, lookup: fixedLookup('8.8.8.8', '127.0.0.1') }),
    );
    await expect(post(agent, `http://hooks.example.test:${receiver.port}/`)).rejects.toMatchObject({
      code: 'TARGET_BLOCKED',
      address: '127.0.0.1',
      reason: 'loopback',
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it('a lookup answer that is not an IP literal is refused, never resolved again', async () => {
    const agent = track(
      createPinnedAgent({ allow: none, connectTimeoutMs: 5000, lookup: fixedLookup('localhost') }),
    );
    await expect(post(agent, `http://hooks.example.test:${receiver.port}/`)).rejects.toMatchObject({
      code: 'TARGET_BLOCKED',
      reason: 'invalid',
    });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('allowed targets', () => {
  it('an allowed CIDR reaches the receiver, by IP literal and by name', async () => {
    const lookup = fixedLookup('127.0.0.1');
    const agent = track(createPinnedAgent({ allow: loopback1, connectTimeoutMs: 5000, lookup }));
    const before = receiver.requests.length;
    expect((await post(agent, `${receiver.url}/direct`)).status).toBe(200);
    expect((await post(agent, `http://hooks.example.test:${receiver.port}/named`)).status).toBe(200);
    const got = receiver.requests.slice(before);
    expect(got.map((r) => r.path)).toEqual(['/direct', '/named']);
    // The Host header keeps the name; only the dial used the address.
    expect(got[1]?.headers.host).toBe(`hooks.example.test:${receiver.port}`);
    expect(lookup.calls).toEqual(['hooks.example.test']);
  });

  it('a lookup failure is passed through as the connection error', async () => {
    const lookup: LookupFn = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.test'), { code: 'ENOTFOUND' });
    };
    const agent = track(createPinnedAgent({ allow: loopback1, connectTimeoutMs: 5000, lookup }));
    await expect(post(agent, 'http://nowhere.example.test/')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('a lookup that never answers fails within the connect timeout', async () => {
    const lookup: LookupFn = () => new Promise(() => {});
    const agent = track(createPinnedAgent({ allow: loopback1, connectTimeoutMs: 100, lookup }));
    await expect(post(agent, 'http://slow.example.test/')).rejects.toThrow(
      /DNS lookup of slow.example.test timed out/,
    );
  });
});

// A plain server on another loopback address, on a chosen port.
async function listenOn(host: string, port: number): Promise<{ hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const server = http.createServer((_req, res) => {
    state.hits++;
    res.end('internal');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return Object.assign(state, {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

describe('DNS rebinding', () => {
  it('dials the address it checked, even when the next answer points elsewhere', async () => {
    // Same port on 127.0.0.2 ("internal"): a connector that resolved once to check and again to
    // dial would land there on the second answer.
    const internal = await listenOn('127.0.0.2', receiver.port);
    try {
      const calls: string[] = [];
      const answers = ['127.0.0.1', '127.0.0.2'];
      const lookup: LookupFn = async (hostname) => {
        calls.push(hostname);
        const address = answers[(calls.length - 1) % answers.length]!;
        return [{ address, family: 4 }];
      };
      const url = `http://rebind.example.test:${receiver.port}/rebind`;

      const first = track(createPinnedAgent({ allow: loopback1, connectTimeoutMs: 5000, lookup }));
      const before = receiver.requests.length;
      expect(await post(first, url)).toMatchObject({ status: 200, body: 'ok' });
      expect(calls).toHaveLength(1);
      expect(receiver.requests.length - before).toBe(1);
      expect(internal.hits).toBe(0);

      // A new connection resolves again, gets 127.0.0.2, checks it and refuses it.
      const second = track(createPinnedAgent({ allow: loopback1, connectTimeoutMs: 5000, lookup }));
      await expect(post(second, url)).rejects.toThrow(
        'refused: 127.0.0.2 is loopback (resolved from rebind.example.test)',
      );
      expect(calls).toHaveLength(2);
      expect(internal.hits).toBe(0);
    } finally {
      await internal.close();
    }
  });

  it('a kept-alive connection stays on the checked address', async () => {
    const lookup = fixedLookup('127.0.0.1');
    const agent = track(
      createPinnedAgent({ allow: loopback1, connectTimeoutMs: 5000, lookup, connections: 1 }),
    );
    const url = `http://keep.example.test:${receiver.port}/`;
    for (let i = 0; i < 3; i++) expect((await post(agent, url)).status).toBe(200);
    expect(lookup.calls).toHaveLength(1);
  });
});

describe('redirects', () => {
  it('a 302 to 127.0.0.1 is returned as a 302 and never followed', async () => {
    const target = await startReceiver();
    const redirector = await startReceiver(() => ({
      status: 302,
      headers: { location: `${target.url}/stolen` },
    }));
    try {
      // Loopback is allowed here, so only not-following keeps the target at 0 hits.
      const agent = track(createPinnedAgent({ allow: loopback1, connectTimeoutMs: 5000 }));
      const res = await post(agent, `${redirector.url}/hook`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`${target.url}/stolen`);
      expect(redirector.requests).toHaveLength(1);
      expect(target.requests).toHaveLength(0);
    } finally {
      await Promise.all([target.close(), redirector.close()]);
    }
  });
});

// A self-signed certificate for hooks.example.test (valid 2000–2100), used only here.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg70JfA9Z1YmDfFPGJ
g8UnoyZr/GgcHXM6GtFlOq7vUVKhRANCAAQjC45/4u8at6RmqYdS/AF6fElDcQFd
KXVbLwmQgU9YwN4oqwJ5bFCuQH9kA8obp37sujK6AIjdP0p8CcoLEKuB
-----END PRIVATE KEY-----
`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBejCCAR+gAwIBAgIBATAKBggqhkjOPQQDAjAdMRswGQYDVQQDDBJob29rcy5l
eGFtcGxlLnRlc3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMB0x
GzAZBgNVBAMMEmhvb2tzLmV4YW1wbGUudGVzdDBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABCMLjn/i7xq3pGaph1L8AXp8SUNxAV0pdVsvCZCBT1jA3iirAnlsUK5A
f2QDyhunfuy6MroAiN0/SnwJygsQq4GjTjBMMB0GA1UdEQQWMBSCEmhvb2tzLmV4
YW1wbGUudGVzdDAMBgNVHRMBAf8EAjAAMB0GA1UdDgQWBBTKbenr+uDuPWAQ3XQI
3h3lT5elXzAKBggqhkjOPQQDAgNJADBGAiEAzqxdadzP9S0Jj0hU8F2qQd9DeZxS
3v+W5gKXYuX75y8CIQDqLFJqWIHBZk2+XCl6zM0SLZtI8SOlSaNEfSsCcbZFog==
-----END CERTIFICATE-----
`;

describe('TLS', () => {
  it('dials the checked IP but sends the hostname as SNI and verifies the certificate against it', async () => {
    const seen: { servername: string | false | null; host: string | undefined }[] = [];
    const server = https.createServer({ key: TLS_KEY, cert: TLS_CERT }, (req, res) => {
      seen.push({
        servername: (req.socket as TLSSocket).servername,
        host: req.headers.host,
      });
      res.end('tls ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const opts = { allow: loopback1, connectTimeoutMs: 5000, lookup: fixedLookup('127.0.0.1') };
      const agent = track(new Agent({ connect: pinnedConnector(buildConnector({ ca: TLS_CERT }), opts) }));
      expect(await post(agent, `https://hooks.example.test:${port}/`)).toMatchObject({
        status: 200,
        body: 'tls ok',
      });
      expect(seen).toEqual([{ servername: 'hooks.example.test', host: `hooks.example.test:${port}` }]);

      // The same server reached under another name fails verification: the check was not skipped.
      const other = track(
        new Agent({
          connect: pinnedConnector(buildConnector({ ca: TLS_CERT }), {
            ...opts,
            lookup: fixedLookup('127.0.0.1'),
          }),
        }),
      );
      await expect(post(other, `https://other.example.test:${port}/`)).rejects.toMatchObject({
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
      expect(seen).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('egress through an HTTP proxy', () => {
  let proxy: http.Server;
  let proxyUrl: string;
  const connects: string[] = [];

  beforeAll(async () => {
    // A minimal CONNECT proxy that records what it is asked to reach.
    proxy = http.createServer((_req, res) => {
      res.writeHead(405).end();
    });
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      connects.push(req.url ?? '');
      const target = new URL(`http://${req.url}`);
      const upstream = net.connect(Number(target.port), target.hostname.replace(/^\[|\]$/g, ''), () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('tunnels to the checked IP, not to the name', async () => {
    connects.length = 0;
    const lookup = fixedLookup('127.0.0.1');
    const agent = track(createProxyAgent(proxyUrl, { allow: loopback1, connectTimeoutMs: 5000, lookup }));
    const before = receiver.requests.length;
    expect((await post(agent, `http://hooks.example.test:${receiver.port}/via-proxy`)).status).toBe(200);
    expect(connects).toEqual([`127.0.0.1:${receiver.port}`]);
    const got = receiver.requests.slice(before);
    expect(got.map((r) => [r.path, r.headers.host])).toEqual([
      ['/via-proxy', `hooks.example.test:${receiver.port}`],
    ]);
  });

  it('refuses a private target before asking the proxy', async () => {
    connects.length = 0;
    const agent = track(
      createProxyAgent(proxyUrl, { allow: none, connectTimeoutMs: 5000, lookup: fixedLookup('10.0.0.5') }),
    );
    const before = receiver.requests.length;
    await expect(post(agent, `http://hooks.example.test:${receiver.port}/`)).rejects.toThrow(
      'refused: 10.0.0.5 is private',
    );
    await expect(post(agent, `http://127.1:${receiver.port}/`)).rejects.toThrow(
      'refused: 127.0.0.1 is loopback',
    );
    expect(connects).toEqual([]);
    expect(receiver.requests.length).toBe(before);
  });

  it('accepts only http(s) proxy URLs', () => {
    expect(() =>
      createProxyAgent('socks5://127.0.0.1:1080', { allow: none, connectTimeoutMs: 1000 }),
    ).toThrow(/TIDINGS_HTTP_PROXY/);
  });
});
