// The broker destinations against the real servers on this machine: NATS with JetStream
// (4222), RabbitMQ (5672) and Redis (6379). Each message arrives with the body and the
// Standard Webhooks headers, verifiable with the standardwebhooks package; success is the
// broker's acknowledgement, and what the broker refuses is a failed attempt with its reason.
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationSet } from '../../../src/delivery/destinations/index.js';
import { brokerSettings, destinations, signedRequest, target, verify } from './support.js';

const tag = randomBytes(4).toString('hex');

function headersOf(entries: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...entries].map(([k, v]) => [k.toLowerCase(), v]));
}

describe('broker destinations', () => {
  let d: DestinationSet;
  beforeAll(() => {
    d = destinations();
  });
  afterAll(async () => {
    await d.close();
  });

  describe('NATS JetStream', () => {
    let nc: NatsConnection;
    const stream = `TIDINGS_TEST_${tag}`;
    beforeAll(async () => {
      nc = await connect({ servers: '127.0.0.1:4222' });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [`tidings.${tag}.>`] });
    });
    afterAll(async () => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    });

    it('publishes with the Standard Webhooks headers; the stream acknowledges; a repeat is a duplicate', async () => {
      const { req, secret, eventId } = signedRequest({ loan: 'L-1' }, { type: 'loan.updated' });
      const t = target('nats://127.0.0.1:4222', {
        broker: brokerSettings({ subject: `tidings.${tag}.{type}` }),
      });
      const res = await d.send(t, req);
      expect(res.error).toBeNull();
      expect(res.ok).toBe(true);
      const ack = JSON.parse(res.body!) as { stream: string; seq: number; duplicate: boolean };
      expect(ack).toMatchObject({ stream, duplicate: false });

      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(stream, { seq: ack.seq });
      expect(stored!.subject).toBe(`tidings.${tag}.loan.updated`);
      const h = headersOf([...stored!.header!].map(([k, v]) => [k, v[0]!] as [string, string]));
      expect(h['webhook-id']).toBe(eventId);
      expect(h['nats-msg-id']).toBe(eventId);
      expect(h['user-agent']).toBeUndefined();
      const body = new TextDecoder().decode(stored!.data);
      expect(body).toBe(req.body);
      expect(verify(secret, body, h)).toMatchObject({ data: { loan: 'L-1' } });

      // The same webhook-id again (a retry after a lost ack): the stream keeps one copy.
      const again = await d.send(t, req);
      expect(again.ok).toBe(true);
      expect(JSON.parse(again.body!)).toMatchObject({ seq: ack.seq, duplicate: true });
    });

    it('fails the attempt when no stream takes the subject', async () => {
      const { req } = signedRequest();
      const t = target('nats://127.0.0.1:4222', {
        broker: brokerSettings({ subject: `nobody.${tag}` }),
      });
      const res = await d.send(t, req);
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(/^nats: publish to "nobody\.[0-9a-f]+" failed: .*no JetStream stream/);
    });
  });

  describe('RabbitMQ', () => {
    let admin: Connection;
    const exchange = `tidings.test.${tag}`;
    const queue = `tidings.test.${tag}.loans`;
    beforeAll(async () => {
      admin = new Connection('amqp://guest:guest@127.0.0.1:5672');
      await admin.exchangeDeclare({ exchange, type: 'topic', autoDelete: false });
      await admin.queueDeclare({ queue, durable: false });
      await admin.queueBind({ queue, exchange, routingKey: 'loan.*' });
    });
    afterAll(async () => {
      await admin.queueDelete({ queue }).catch(() => {});
      await admin.exchangeDelete({ exchange }).catch(() => {});
      await admin.close();
    });

    const broker = (routing_key: string) =>
      brokerSettings({ exchange, routing_key, username: 'guest', password: 'guest' });

    it('publishes a persistent message the broker confirms, headers and properties set', async () => {
      const { req, secret, eventId } = signedRequest({ loan: 'L-2' }, { type: 'loan.updated' });
      const res = await d.send(target('amqp://127.0.0.1:5672', { broker: broker('{type}') }), req);
      expect(res.error).toBeNull();
      expect(res.ok).toBe(true);
      const msg = await admin.basicGet({ queue, noAck: true });
      expect(msg).toBeDefined();
      expect(msg!.routingKey).toBe('loan.updated');
      expect(msg!.messageId).toBe(eventId);
      expect(msg!.contentType).toBe('application/json');
      expect(msg!.durable).toBe(true);
      expect(msg!.timestamp).toBe(Number(req.headers['webhook-timestamp']));
      const h = headersOf(
        Object.entries(msg!.headers ?? {}).map(([k, v]) => [k, String(v)] as [string, string]),
      );
      const body = Buffer.isBuffer(msg!.body) ? msg!.body.toString('utf8') : JSON.stringify(msg!.body);
      expect(body).toBe(req.body);
      expect(verify(secret, body, h)).toMatchObject({ data: { loan: 'L-2' } });
    });

    it('fails the attempt when no queue is bound for the routing key (mandatory)', async () => {
      const { req } = signedRequest();
      const res = await d.send(target('amqp://127.0.0.1:5672', { broker: broker('nobody.listens') }), req);
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(
        /returned the message: no queue is bound to exchange ".*" with key "nobody.listens"/,
      );
    });

    it('fails the attempt when the exchange does not exist, and the next send still works', async () => {
      const { req } = signedRequest();
      const missing = { ...broker('x'), exchange: `missing.${tag}` };
      const res = await d.send(target('amqp://127.0.0.1:5672', { broker: missing }), req);
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(/^amqp: publish to exchange "missing\.[0-9a-f]+".*NOT_FOUND|no exchange/i);
      const ok = await d.send(
        target('amqp://127.0.0.1:5672', { broker: broker('loan.paid') }),
        signedRequest().req,
      );
      expect(ok.error).toBeNull();
      expect(await admin.basicGet({ queue, noAck: true })).toBeDefined();
    });

    it('fails the attempt with wrong credentials', async () => {
      const { req } = signedRequest();
      const res = await d.send(
        target('amqp://127.0.0.1:5672', { broker: { ...broker('loan.x'), password: 'wrong' } }),
        req,
      );
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(/^amqp: .*ACCESS_REFUSED/);
    });
  });

  describe('Redis streams', () => {
    let redis: Redis;
    const key = `tidings:test:${tag}`;
    beforeAll(() => {
      redis = new Redis({ host: '127.0.0.1', port: 6379 });
    });
    afterAll(async () => {
      await redis.del(key, `${key}:loan.updated`);
      await redis.quit();
    });

    it('adds an entry with the headers and the body as fields; the answer is its id', async () => {
      const { req, secret, eventId } = signedRequest({ loan: 'L-3' });
      const t = target('redis://127.0.0.1:6379/0', {
        broker: brokerSettings({ stream: `${key}:{type}`, max_len: 1000 }),
      });
      const res = await d.send(t, req);
      expect(res.error).toBeNull();
      const ack = JSON.parse(res.body!) as { stream: string; id: string };
      expect(ack.stream).toBe(`${key}:loan.updated`);
      const entries = await redis.xrange(ack.stream, '-', '+');
      expect(entries.map(([id]) => id)).toEqual([ack.id]);
      const flat = entries[0]![1];
      const fields: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      expect(fields['webhook-id']).toBe(eventId);
      expect(fields.body).toBe(req.body);
      const { body, ...headers } = fields;
      expect(verify(secret, body!, headers)).toMatchObject({ data: { loan: 'L-3' } });
    });

    it('fails the attempt when the key holds something else than a stream', async () => {
      await redis.set(key, 'not a stream');
      const t = target('redis://127.0.0.1:6379', {
        broker: brokerSettings({ stream: key }),
      });
      const res = await d.send(t, signedRequest().req);
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(/^redis: XADD to ".*" failed: WRONGTYPE/);
    });
  });

  it('refuses a broker on an address the SSRF rules do not allow, without connecting', async () => {
    const t = target('redis://127.0.0.2:6379', {
      broker: brokerSettings({ stream: 'x' }),
    });
    const res = await d.send(t, signedRequest().req);
    expect(res.ok).toBe(false);
    expect(res.error).toBe('redis: TARGET_BLOCKED: refused: 127.0.0.2 is loopback');
  });
});
