// A broker that goes away mid-run: deliveries made while it is down fail with the broker's
// error and are retried on their schedule; once it is back every event is delivered and none
// is missing from the broker. Redis and NATS are processes of this test (killed and started
// again on their port); RabbitMQ is the machine's, reached through a relay that is cut.
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../helpers/app.js';
import { type BrokerProcess, startNats, startRedis, startRelay } from '../../helpers/brokers.js';
import { engines } from '../../helpers/engines.js';
import { until } from '../../helpers/wait.js';

interface Detail {
  state: string;
  attempt_log: { error: string | null }[];
}

// One engine is enough here (the production one when available): what is tested is the
// destinations' behaviour, not the store's.
const engine = engines().at(-1)!;

describe(`a broker stopped mid-run (${engine})`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp(engine, {
      TIDINGS_DESTINATION_SCHEMES: 'https,http,nats,amqp,redis',
      TIDINGS_RETRY_SCHEDULE: '200ms,300ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s',
      TIDINGS_REQUEST_TIMEOUT_MS: '1500',
    });
    await app.api('PUT', '/v1/event-types/loan.updated', {});
    await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** Publishes `n` events on the channel; their delivery ids and event ids. */
  async function publish(channel: string, n: number): Promise<{ deliveries: string[]; events: string[] }> {
    const deliveries: string[] = [];
    const events: string[] = [];
    for (let i = 0; i < n; i++) {
      const pub = await app.api<{ id: string }>('POST', '/v1/tenants/t/events', {
        type: 'loan.updated',
        payload: { channel, i },
        channels: [channel],
      });
      const ev = await app.api<{ deliveries: { id: string }[] }>(
        'GET',
        `/v1/tenants/t/events/${pub.body.id}`,
      );
      events.push(pub.body.id);
      deliveries.push(ev.body.deliveries[0]!.id);
    }
    return { deliveries, events };
  }

  const detail = async (id: string) => (await app.api<Detail>('GET', `/v1/tenants/t/deliveries/${id}`)).body;

  async function allSucceeded(ids: string[], what: string): Promise<void> {
    await until(
      async () => (await Promise.all(ids.map(detail))).every((d) => d.state === 'succeeded'),
      what,
      60_000,
    );
  }

  /** The whole story for one broker: up, down (failed attempts), up again (everything delivered). */
  async function outage(
    channel: string,
    down: () => Promise<void>,
    up: () => Promise<void>,
    errorPattern: RegExp,
  ): Promise<string[]> {
    const before = await publish(channel, 5);
    await allSucceeded(before.deliveries, `${channel}: delivered while the broker is up`);
    await down();
    const during = await publish(channel, 5);
    const failed = await until(async () => {
      const ds = await Promise.all(during.deliveries.map(detail));
      return ds.every((d) => d.attempt_log.length > 0) ? ds : undefined;
    }, `${channel}: failed attempts while the broker is down`);
    for (const d of failed) {
      expect(d.state).not.toBe('succeeded');
      expect(d.attempt_log[0]!.error).toMatch(errorPattern);
    }
    await up();
    await allSucceeded(during.deliveries, `${channel}: delivered after the broker came back`);
    return [...before.events, ...during.events];
  }

  it('Redis: retries while it is down, then every event is in the stream', async () => {
    let redis: BrokerProcess | undefined;
    try {
      redis = await startRedis();
      const key = `outage:${randomBytes(3).toString('hex')}`;
      await app.api('POST', '/v1/tenants/t/endpoints', {
        url: redis.url,
        channels: ['redis'],
        broker: { stream: key },
      });
      const r = redis;
      const events = await outage(
        'redis',
        () => r.stop(),
        () => r.start(),
        /^redis: /,
      );
      const client = new Redis({ host: '127.0.0.1', port: redis.port });
      const entries = await client.xrange(key, '-', '+');
      await client.quit();
      const ids = new Set(entries.map(([, f]) => f[f.indexOf('webhook-id') + 1]));
      expect([...ids].sort()).toEqual([...events].sort());
    } finally {
      await redis?.dispose();
    }
  });

  it('NATS JetStream: retries while it is down, then every event is in the stream once', async () => {
    let nats: BrokerProcess | undefined;
    try {
      nats = await startNats();
      const nc = await connect({ servers: `127.0.0.1:${nats.port}` });
      await (await jetstreamManager(nc)).streams.add({ name: 'OUTAGE', subjects: ['outage.>'] });
      await nc.close();
      await app.api('POST', '/v1/tenants/t/endpoints', {
        url: nats.url,
        channels: ['nats'],
        broker: { subject: 'outage.{type}' },
      });
      const n = nats;
      const events = await outage(
        'nats',
        () => n.stop(),
        () => n.start(),
        /^nats: /,
      );
      const nc2 = await connect({ servers: `127.0.0.1:${nats.port}` });
      const jsm = await jetstreamManager(nc2);
      const info = await jsm.streams.info('OUTAGE');
      const ids: string[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage('OUTAGE', { seq });
        ids.push(m!.header!.get('webhook-id'));
      }
      await nc2.close();
      // Nats-Msg-Id de-duplicates a publish the client buffered while disconnected and the retry.
      expect(ids.sort()).toEqual([...events].sort());
    } finally {
      await nats?.dispose();
    }
  });

  it('RabbitMQ: retries while the connection is cut, then every event is in the queue', async () => {
    const relay = await startRelay(5672);
    const admin = new Connection('amqp://guest:guest@127.0.0.1:5672');
    const queue = `tidings.outage.${randomBytes(3).toString('hex')}`;
    try {
      await admin.queueDeclare({ queue, durable: true });
      await app.api('POST', '/v1/tenants/t/endpoints', {
        url: `amqp://127.0.0.1:${relay.port}`,
        channels: ['amqp'],
        broker: { exchange: '', routing_key: queue, username: 'guest', password: 'guest' },
      });
      const events = await outage('amqp', relay.cut, relay.restore, /^amqp: /);
      const ids = new Set<string>();
      for (;;) {
        const m = await admin.basicGet({ queue, noAck: true });
        if (!m) break;
        ids.add(String(m.messageId));
      }
      expect([...ids].sort()).toEqual([...events].sort());
    } finally {
      await admin.queueDelete({ queue }).catch(() => {});
      await admin.close();
      await relay.close();
    }
  });
});
