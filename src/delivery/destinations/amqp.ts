// amqp:// and amqps:// endpoints (RabbitMQ): a publish to an exchange with a routing key, on a
// channel in confirm mode, successful when the broker confirms it. Messages are persistent and
// published `mandatory`: one that no queue is bound to receive comes back (basic.return) and
// the attempt fails, rather than being confirmed and dropped.
//
// The message carries the body, content-type, message-id (= webhook-id), timestamp (=
// webhook-timestamp) and every header (webhook-id, webhook-timestamp, webhook-signature, …) as
// AMQP headers. rabbitmq-client reconnects by itself with backoff while the broker is away.
import { Connection, type Publisher } from 'rabbitmq-client';
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

export const AMQP_DEFAULT_PORT = 5672;
export const AMQPS_DEFAULT_PORT = 5671;

/** The vhost of an AMQP URL: the path without its slash, percent-decoded; "/" when absent. */
export function amqpVhost(url: URL): string {
  const path = url.pathname.slice(1);
  return path === '' ? '/' : decodeURIComponent(path);
}

class AmqpBroker implements BrokerConnection {
  private done = false;
  /** Returned (unroutable) messages by id/exchange/key, until their confirm arrives. */
  private readonly returned = new Map<string, number>();
  readonly publisher: Publisher;

  constructor(readonly conn: Connection) {
    this.publisher = conn.createPublisher({ confirm: true, maxAttempts: 1 });
    // basic.return comes before the confirm of the same message on the same channel.
    this.publisher.on('basic.return', (msg) => {
      const key = returnKey(msg.messageId, msg.exchange, msg.routingKey);
      this.returned.set(key, (this.returned.get(key) ?? 0) + 1);
    });
  }

  /** Whether the broker returned this message instead of routing it (counted once). */
  takeReturned(id: string | undefined, exchange: string, routingKey: string): boolean {
    const key = returnKey(id, exchange, routingKey);
    const n = this.returned.get(key) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.returned.delete(key);
    else this.returned.set(key, n - 1);
    return true;
  }

  usable(): boolean {
    return !this.done;
  }

  async close(): Promise<void> {
    this.done = true;
    await this.publisher.close().catch(() => {});
    await this.conn.close();
  }
}

function returnKey(id: string | undefined, exchange: string, routingKey: string): string {
  return `${id ?? ''}\n${exchange}\n${routingKey}`;
}

export class AmqpDestination extends BrokerDestination<AmqpBroker> {
  constructor(o: BrokerDestinationOptions) {
    super('amqp', o);
  }

  protected async publish(
    broker: AmqpBroker,
    b: BrokerSettings,
    req: OutboundRequest,
    deadline: Deadline,
    url: URL,
  ): Promise<SendResult> {
    if (b.exchange === null || b.routing_key === null) {
      return failure('amqp: the endpoint has no exchange and routing key', deadline);
    }
    const exchange = b.exchange;
    const routingKey = expandName(b.routing_key, req.eventType);
    const headers = messageHeaders(req.headers);
    const id = headers['webhook-id'];
    const timestamp = Number(headers['webhook-timestamp']);
    const where =
      exchange === '' ? `queue "${routingKey}"` : `exchange "${exchange}" with key "${routingKey}"`;
    try {
      await withinDeadline(
        broker.publisher.send(
          {
            exchange,
            routingKey,
            mandatory: true,
            durable: true,
            contentType: headers['content-type'] ?? 'application/json',
            ...(id ? { messageId: id } : {}),
            ...(Number.isFinite(timestamp) ? { timestamp } : {}),
            headers,
          },
          bodyBuffer(req.body),
        ),
        deadline,
        `no confirm from ${url.host}`,
      );
    } catch (err) {
      return failure(`amqp: publish to ${where} failed: ${describeError(err)}`, deadline);
    }
    // rabbitmq-client emits basic.return from a setImmediate queued when the frame arrived,
    // before the confirm that follows it: one more turn and it has been counted.
    await new Promise((resolve) => setImmediate(resolve));
    if (broker.takeReturned(id, exchange, routingKey)) {
      return failure(`amqp: the broker returned the message: no queue is bound to ${where}`, deadline);
    }
    return acknowledged(`confirmed by ${url.host} (${where})`, deadline);
  }

  protected async open(url: URL, b: BrokerSettings): Promise<AmqpBroker> {
    const tls = url.protocol === 'amqps:';
    const address = await resolveBroker(url, tls ? AMQPS_DEFAULT_PORT : AMQP_DEFAULT_PORT, this.o);
    const conn = new Connection({
      hostname: address.address,
      port: address.port,
      vhost: amqpVhost(url),
      ...(b.username !== null ? { username: b.username } : {}),
      ...(b.password !== null ? { password: b.password } : {}),
      // The certificate is checked against the URL's hostname, not the IP we dial.
      tls: tls ? tlsName(address) : false,
      connectionName: 'tidings',
      connectionTimeout: this.o.connectTimeoutMs,
      acquireTimeout: this.o.connectTimeoutMs,
      retryLow: 500,
      retryHigh: 10_000,
    });
    // An unhandled 'error' event would end the process: a broker going away is only logged.
    // Before the first connection, an error (refused, wrong credentials, no such vhost) fails
    // the open at once instead of waiting out the client's own retries.
    let failOpen: ((err: unknown) => void) | undefined;
    conn.on('error', (err) => {
      if (failOpen) failOpen(err);
      else this.o.log.warn({ broker: url.host, err: describeError(err) }, 'amqp destination connection');
    });
    try {
      await Promise.race([
        conn.onConnect(this.o.connectTimeoutMs),
        new Promise<never>((_, reject) => {
          failOpen = reject;
        }),
      ]);
      failOpen = undefined;
    } catch (err) {
      failOpen = undefined;
      await conn.close().catch(() => {});
      throw err;
    }
    return new AmqpBroker(conn);
  }
}
