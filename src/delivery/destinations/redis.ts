// redis:// and rediss:// endpoints: XADD to a stream, successful when Redis answers with the
// new entry's id. The entry's fields are the delivery's headers (webhook-id, webhook-timestamp,
// webhook-signature, content-type, …) and `body`. The URL's path picks the database (redis://host/2).
//
// Commands are never queued while the connection is down (enableOfflineQueue off): a send then
// fails at once and is retried on the delivery's schedule, while ioredis reconnects behind it.
// XADD has no idempotency key: a retry after a lost answer may add the entry twice, and
// consumers de-duplicate by webhook-id, as every receiver does.
import { Redis } from 'ioredis';
import type { BrokerSettings } from '../../store/endpointTargets.js';
import {
  type BrokerConnection,
  BrokerDestination,
  type BrokerDestinationOptions,
  resolveBroker,
  tlsName,
} from './pool.js';
import {
  acknowledged,
  bodyBuffer,
  type Deadline,
  describeError,
  expandName,
  failure,
  messageHeaders,
  type OutboundRequest,
  type SendResult,
  withinDeadline,
} from './types.js';

export const REDIS_DEFAULT_PORT = 6379;

/** The database of a Redis URL (redis://host:6379/2 → 2); 0 when the path is empty. */
export function redisDb(url: URL): number | undefined {
  const path = url.pathname.replace(/^\//, '');
  if (path === '') return 0;
  return /^\d{1,2}$/.test(path) ? Number(path) : undefined;
}

class RedisBroker implements BrokerConnection {
  private done = false;

  constructor(readonly client: Redis) {
    client.on('end', () => {
      this.done = true;
    });
  }

  usable(): boolean {
    return !this.done;
  }

  async close(): Promise<void> {
    this.done = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

export class RedisDestination extends BrokerDestination<RedisBroker> {
  constructor(o: BrokerDestinationOptions) {
    super('redis', o);
  }

  protected async publish(
    broker: RedisBroker,
    b: BrokerSettings,
    req: OutboundRequest,
    deadline: Deadline,
    url: URL,
  ): Promise<SendResult> {
    if (!b.stream) return failure('redis: the endpoint has no stream', deadline);
    const stream = expandName(b.stream, req.eventType);
    const fields: (string | Buffer)[] = [];
    for (const [name, value] of Object.entries(messageHeaders(req.headers))) fields.push(name, value);
    fields.push('body', bodyBuffer(req.body));
    const trim: (string | number)[] = b.max_len !== null ? ['MAXLEN', '~', b.max_len] : [];
    try {
      const id = await withinDeadline(
        broker.client.xadd(stream, ...trim, '*', ...fields),
        deadline,
        `no answer from ${url.host}`,
      );
      return acknowledged(JSON.stringify({ stream, id }), deadline);
    } catch (err) {
      return failure(`redis: XADD to "${stream}" failed: ${describeError(err)}`, deadline);
    }
  }

  protected async open(url: URL, b: BrokerSettings): Promise<RedisBroker> {
    const tls = url.protocol === 'rediss:';
    const address = await resolveBroker(url, REDIS_DEFAULT_PORT, this.o);
    const client = new Redis({
      host: address.address,
      port: address.port,
      db: redisDb(url) ?? 0,
      ...(b.username !== null ? { username: b.username } : {}),
      ...(b.password !== null ? { password: b.password } : {}),
      ...(tls ? { tls: tlsName(address) } : {}),
      connectionName: 'tidings',
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 0,
      connectTimeout: this.o.connectTimeoutMs,
      // Keep reconnecting while the server is away, at most every 5 s.
      retryStrategy: (times) => Math.min(times * 200, 5000),
    });
    // An unhandled 'error' event would end the process: a server going away is only logged.
    let warned = false;
    client.on('error', (err) => {
      if (warned) return;
      warned = true;
      this.o.log.warn({ broker: url.host, err: describeError(err) }, 'redis destination connection');
    });
    client.on('ready', () => {
      warned = false;
    });
    try {
      await client.connect();
    } catch (err) {
      client.disconnect();
      throw err;
    }
    return new RedisBroker(client);
  }
}
