// Destinations end to end through the API and the worker: an endpoint with a client
// certificate (mTLS receiver requiring a test CA's certificate; rotation with overlap through
// the API), one behind OAuth2 (a counting token server), and broker endpoints on this machine's
// NATS JetStream, RabbitMQ and Redis. Receivers verify signatures with the standardwebhooks
// package; no answer ever shows a key, a client secret or a broker password.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { Connection } from 'rabbitmq-client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type MtlsReceiver, startMtlsReceiver } from '../helpers/mtlsReceiver.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type KeyPair, makeCa, type TestCa } from '../helpers/testCa.js';
import { until } from '../helpers/wait.js';

interface Attempt {
  status: number | null;
  error: string | null;
  response_body: string | null;
}
interface Detail {
  state: string;
  attempts: number;
  attempt_log: Attempt[];
}

const tag = randomBytes(4).toString('hex');

describe.each(engines())('destinations through the API and worker (%s)', (engine) => {
  let app: TestApp;
  let serverCa: TestCa;
  let caA: TestCa;
  let caB: TestCa;
  let certA: KeyPair;
  let certB: KeyPair;
  let mtlsRx: MtlsReceiver;
  const answers: unknown[] = [];

  /** Calls the API and keeps every answer, to check afterwards that no secret was ever shown. */
  async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
    const r = await app.api<T>(method, path, body);
    answers.push(r.body);
    return r;
  }

  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_DESTINATION_SCHEMES: 'https,http,nats,amqp,redis' });
    serverCa = makeCa('Receiver server CA');
    caA = makeCa('Bank client CA A');
    caB = makeCa('Bank client CA B');
    certA = caA.issue('tidings-a');
    certB = caB.issue('tidings-b');
    mtlsRx = await startMtlsReceiver(serverCa.issue('127.0.0.1', { server: true }), [caA.cert]);
    await app.api('PUT', '/v1/event-types/loan.updated', {});
    await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
  });
  afterAll(async () => {
    await app?.stop();
    await mtlsRx?.close();
    const text = JSON.stringify(answers);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('token-server-secret');
    expect(text).not.toContain('broker-password');
  });

  async function endpoint(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const r = await api<{ id: string; secret: string }>('POST', '/v1/tenants/t/endpoints', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  /** Publishes one event to the endpoint (through its own channel) and waits until its delivery settles. */
  async function deliver(channel: string, settled = (d: Detail) => d.state === 'succeeded'): Promise<Detail> {
    const pub = await api<{ id: string }>('POST', '/v1/tenants/t/events', {
      type: 'loan.updated',
      payload: { channel, n: Math.random() },
      channels: [channel],
    });
    expect(pub.status).toBe(202);
    const ev = await app.api<{ deliveries: { id: string }[] }>('GET', `/v1/tenants/t/events/${pub.body.id}`);
    const did = ev.body.deliveries[0]!.id;
    return until(async () => {
      const d = await api<Detail>('GET', `/v1/tenants/t/deliveries/${did}`);
      return settled(d.body) ? d.body : undefined;
    }, `delivery on ${channel}`);
  }

  describe('mutual TLS', () => {
    it('refuses what cannot work: bad PEM, a key of another certificate, mtls on http://', async () => {
      const base = { url: `${mtlsRx.url}/x`, channels: ['never'] };
      const bad = await api('POST', '/v1/tenants/t/endpoints', {
        ...base,
        mtls: { certificate: 'nope', key: certA.key },
      });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ error: { code: 'invalid_certificate' } });
      const mismatch = await api('POST', '/v1/tenants/t/endpoints', {
        ...base,
        mtls: { certificate: certA.cert, key: certB.key },
      });
      expect(mismatch.body).toMatchObject({ error: { code: 'key_mismatch' } });
      const plain = await api('POST', '/v1/tenants/t/endpoints', {
        ...base,
        url: 'http://127.0.0.1:9/x',
        mtls: { certificate: certA.cert, key: certA.key },
      });
      expect(plain.body).toMatchObject({ error: { code: 'destination_mismatch' } });
    });

    it('delivers with the client certificate, shows it without its key, and rotates with overlap', async () => {
      const ep = await endpoint({
        url: `${mtlsRx.url}/hooks`,
        channels: ['mtls'],
        mtls: { certificate: certA.cert, key: certA.key, ca: serverCa.cert },
      });
      const view = await api<{ destination: string; mtls: { certificate: { subject: string } } }>(
        'GET',
        `/v1/tenants/t/endpoints/${ep.id}`,
      );
      expect(view.body.destination).toBe('http');
      expect(view.body.mtls.certificate.subject).toBe('CN=tidings-a');

      expect((await deliver('mtls')).attempts).toBe(1);
      const got = mtlsRx.requests.at(-1)!;
      expect(got.commonName).toBe('tidings-a');
      new Webhook(ep.secret).verify(got.body, got.headers as Record<string, string>);

      // Rotate to B; the receiver trusts only A for now: A is still offered and accepted.
      const rotated = await api<{
        certificate: { subject: string };
        previous: { subject: string; offered_until: string }[];
      }>('POST', `/v1/tenants/t/endpoints/${ep.id}/mtls/rotate`, {
        certificate: certB.cert,
        key: certB.key,
        grace_period_s: 3600,
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body.certificate.subject).toBe('CN=tidings-b');
      expect(rotated.body.previous.map((p) => p.subject)).toEqual(['CN=tidings-a']);
      expect((await deliver('mtls')).state).toBe('succeeded');
      expect(mtlsRx.requests.at(-1)!.commonName).toBe('tidings-a');

      // The receiver switches to trusting B only: B is taken, nothing is lost.
      mtlsRx.trust([caB.cert]);
      expect((await deliver('mtls')).state).toBe('succeeded');
      expect(mtlsRx.requests.at(-1)!.commonName).toBe('tidings-b');

      // A rotation without grace: the replaced certificate is not offered any more.
      const noGrace = await api('POST', `/v1/tenants/t/endpoints/${ep.id}/mtls/rotate`, {
        certificate: certA.cert,
        key: certA.key,
        grace_period_s: 0,
      });
      expect(noGrace.body).toMatchObject({ previous: [] });
      const refused = await deliver('mtls', (d) => d.attempts >= 1);
      expect(refused.attempt_log[0]!.status).toBeNull();
      expect(refused.attempt_log[0]!.error).toBeTruthy();
      mtlsRx.trust([caA.cert, caB.cert]);
      expect((await deliver('mtls')).state).toBe('succeeded');
    });

    it('rotating an endpoint without a certificate is a conflict', async () => {
      const ep = await endpoint({ url: 'https://127.0.0.1:9/none', channels: ['never'] });
      const r = await api('POST', `/v1/tenants/t/endpoints/${ep.id}/mtls/rotate`, {
        certificate: certA.cert,
        key: certA.key,
      });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ error: { code: 'no_client_certificate' } });
    });
  });

  describe('OAuth2', () => {
    let tokenServer: http.Server;
    let tokenUrl: string;
    let tokenRequests = 0;
    let failTokens = false;
    let rx: Receiver;
    beforeAll(async () => {
      tokenServer = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          tokenRequests += 1;
          const basic = Buffer.from(String(req.headers.authorization).slice(6), 'base64').toString();
          const ok = !failTokens && basic === 'bank-client:token-server-secret';
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify(
              ok
                ? { access_token: `tok-${tokenRequests}`, token_type: 'bearer', expires_in: 3600 }
                : { error: 'invalid_client' },
            ),
          );
        });
      });
      await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
      tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
      rx = await startReceiver((req) => ({
        status: String(req.headers.authorization).startsWith('Bearer tok-') ? 200 : 401,
      }));
    });
    afterAll(async () => {
      await rx.close();
      await new Promise((r) => tokenServer.close(r));
    });

    it('sends a cached bearer token; a failing token server gives attempts with its error', async () => {
      const ep = await endpoint({
        url: `${rx.url}/oauth`,
        channels: ['oauth'],
        oauth: {
          token_url: tokenUrl,
          client_id: 'bank-client',
          client_secret: 'token-server-secret',
          scope: 'webhooks',
        },
      });
      const view = await api<{ oauth: Record<string, unknown> }>('GET', `/v1/tenants/t/endpoints/${ep.id}`);
      expect(view.body.oauth).toEqual({
        token_url: tokenUrl,
        client_id: 'bank-client',
        scope: 'webhooks',
        audience: null,
        auth_method: 'client_secret_basic',
      });
      for (let i = 0; i < 3; i++) expect((await deliver('oauth')).attempts).toBe(1);
      expect(tokenRequests).toBe(1);
      expect(rx.requests.at(-1)!.headers.authorization).toBe('Bearer tok-1');

      // A PATCH that leaves the client secret out keeps it; the new settings fetch a new token.
      const patched = await api('PATCH', `/v1/tenants/t/endpoints/${ep.id}`, {
        oauth: { token_url: tokenUrl, client_id: 'bank-client', scope: 'webhooks other' },
      });
      expect(patched.status).toBe(200);
      failTokens = true;
      const failed = await deliver('oauth', (d) => d.attempts >= 1);
      expect(failed.attempt_log[0]!.error).toBe(
        `oauth: token endpoint ${tokenUrl} answered HTTP 401 (invalid_client)`,
      );
      failTokens = false;
      await until(async () => {
        const d = await api<Detail>(
          'GET',
          `/v1/tenants/t/deliveries/${(failed as unknown as { id: string }).id}`,
        );
        return d.body.state === 'succeeded';
      }, 'the retry after the token server recovered');
    });

    it('refuses a token URL the SSRF rules do not allow, and a static Authorization header beside oauth', async () => {
      const blocked = await api('POST', '/v1/tenants/t/endpoints', {
        url: `${rx.url}/x`,
        oauth: { token_url: 'http://10.1.2.3/token', client_id: 'c', client_secret: 's' },
      });
      expect(blocked.status).toBe(422);
      expect(blocked.body).toMatchObject({ error: { code: 'invalid_token_url' } });
      const both = await api('POST', '/v1/tenants/t/endpoints', {
        url: `${rx.url}/x`,
        headers: { Authorization: 'Basic abc' },
        oauth: { token_url: tokenUrl, client_id: 'c', client_secret: 's' },
      });
      expect(both.body).toMatchObject({ error: { code: 'oauth_conflicts_with_header' } });
    });
  });

  describe('brokers', () => {
    let nc: NatsConnection;
    let rabbit: Connection;
    let redis: Redis;
    const stream = `TIDINGS_E2E_${engine}_${tag}`;
    const exchange = `tidings.e2e.${engine}.${tag}`;
    const queue = `${exchange}.q`;
    const redisKey = `tidings:e2e:${engine}:${tag}`;
    beforeAll(async () => {
      nc = await connect({ servers: '127.0.0.1:4222' });
      await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`e2e.${engine}.${tag}.>`] });
      rabbit = new Connection('amqp://guest:guest@127.0.0.1:5672');
      await rabbit.exchangeDeclare({ exchange, type: 'topic' });
      await rabbit.queueDeclare({ queue });
      await rabbit.queueBind({ queue, exchange, routingKey: '#' });
      redis = new Redis({ host: '127.0.0.1', port: 6379 });
    });
    afterAll(async () => {
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {});
      await nc.close();
      await rabbit.queueDelete({ queue }).catch(() => {});
      await rabbit.exchangeDelete({ exchange }).catch(() => {});
      await rabbit.close();
      await redis.del(redisKey);
      await redis.quit();
    });

    it('NATS JetStream: the stream holds the signed message; the attempt log keeps the ack', async () => {
      const ep = await endpoint({
        url: 'nats://127.0.0.1:4222',
        channels: ['nats'],
        broker: { subject: `e2e.${engine}.${tag}.{type}` },
      });
      const d = await deliver('nats');
      const ack = JSON.parse(d.attempt_log[0]!.response_body!) as { seq: number };
      const msg = await (await jetstreamManager(nc)).streams.getMessage(stream, { seq: ack.seq });
      const headers = Object.fromEntries([...msg!.header!].map(([k, v]) => [k.toLowerCase(), v[0]!]));
      new Webhook(ep.secret).verify(new TextDecoder().decode(msg!.data), headers);
      expect(msg!.subject).toBe(`e2e.${engine}.${tag}.loan.updated`);
    });

    it('RabbitMQ: the queue holds the confirmed, signed message', async () => {
      const ep = await endpoint({
        url: 'amqp://127.0.0.1:5672/',
        channels: ['amqp'],
        broker: { exchange, routing_key: 'loans.{type}', username: 'guest', password: 'guest' },
      });
      const view = await api<{ broker: Record<string, unknown>; destination: string }>(
        'GET',
        `/v1/tenants/t/endpoints/${ep.id}`,
      );
      expect(view.body.destination).toBe('amqp');
      expect(view.body.broker).toMatchObject({ exchange, username: 'guest', has_password: true });
      expect(view.body.broker).not.toHaveProperty('password');
      await deliver('amqp');
      const msg = await rabbit.basicGet({ queue, noAck: true });
      expect(msg!.routingKey).toBe('loans.loan.updated');
      const headers = Object.fromEntries(Object.entries(msg!.headers!).map(([k, v]) => [k, String(v)]));
      expect(msg!.messageId).toBe(headers['webhook-id']);
      // rabbitmq-client hands an application/json body over parsed; the standard profile's body
      // of a payload published as compact JSON is the same text again when serialised.
      const body = Buffer.isBuffer(msg!.body) ? msg!.body.toString('utf8') : JSON.stringify(msg!.body);
      new Webhook(ep.secret).verify(body, headers);
    });

    it('Redis: the stream entry carries the signed body', async () => {
      const ep = await endpoint({
        url: 'redis://127.0.0.1:6379/0',
        channels: ['redis'],
        broker: { stream: redisKey, max_len: 100, password: 'broker-password-unused' },
      });
      const view = await api<{ broker: Record<string, unknown> }>('GET', `/v1/tenants/t/endpoints/${ep.id}`);
      expect(view.body.broker).toMatchObject({ stream: redisKey, max_len: 100, has_password: true });
      // (The local Redis has no password; Redis answers AUTH with a warning only, and ioredis goes on.)
      await deliver('redis');
      const entries = await redis.xrange(redisKey, '-', '+');
      const f = entries.at(-1)![1];
      const fields: Record<string, string> = {};
      for (let i = 0; i < f.length; i += 2) fields[f[i]!] = f[i + 1]!;
      const { body, ...headers } = fields;
      new Webhook(ep.secret).verify(body!, headers);
    });

    it('checks broker endpoints: settings per scheme, the SSRF rules, credentials not in the URL', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ url: 'nats://127.0.0.1:4222' }, 'broker_setting_missing'],
        [{ url: 'nats://127.0.0.1:4222', broker: { subject: 'a.*' } }, 'invalid_subject'],
        [{ url: 'nats://127.0.0.1:4222', broker: { subject: 'a', stream: 'x' } }, 'broker_setting_unused'],
        [{ url: 'amqp://127.0.0.1', broker: { exchange: 'x' } }, 'broker_setting_missing'],
        [{ url: 'redis://127.0.0.1/abc', broker: { stream: 's' } }, 'invalid_url'],
        [{ url: 'redis://10.0.0.8:6379', broker: { stream: 's' } }, 'invalid_url'],
        [{ url: 'amqp://guest:guest@127.0.0.1', broker: { exchange: '', routing_key: 'q' } }, 'invalid_url'],
        [{ url: 'https://127.0.0.1/x', broker: { stream: 's' } }, 'destination_mismatch'],
        [
          {
            url: 'nats://127.0.0.1',
            broker: { subject: 'a' },
            oauth: { token_url: 'https://a.example/t', client_id: 'c', client_secret: 's' },
          },
          'destination_mismatch',
        ],
      ];
      for (const [body, code] of cases) {
        const r = await api('POST', '/v1/tenants/t/endpoints', body);
        expect([r.status, r.body], JSON.stringify(body)).toEqual([
          422,
          expect.objectContaining({ error: expect.objectContaining({ code }) }),
        ]);
      }
    });
  });
});

describe('TIDINGS_DESTINATION_SCHEMES', () => {
  it('defaults to https and http: a broker URL is refused', async () => {
    const app = await startApp('pglite');
    try {
      await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
      const r = await app.api('POST', '/v1/tenants/t/endpoints', {
        url: 'nats://127.0.0.1:4222',
        broker: { subject: 'x' },
      });
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({
        error: { code: 'invalid_url', message: 'URL scheme must be http or https' },
      });
    } finally {
      await app.stop();
    }
  });
});
