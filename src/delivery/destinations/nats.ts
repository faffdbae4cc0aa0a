// nats:// endpoints: a JetStream publish, successful when the stream acknowledges it (PubAck).
// The message carries the delivery's body and its headers (webhook-id, webhook-timestamp,
// webhook-signature, …) as NATS headers, and webhook-id as Nats-Msg-Id, so a retry after a lost
// acknowledgement is dropped by the stream's duplicate window instead of stored twice.
//
// The client is given the checked IP (pool.ts), keeps reconnecting to it while the server is
// away, and ignores the cluster's gossiped addresses, which no SSRF check has seen.
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import type { BrokerSettings } from '../../store/endpointTargets.js';
import {
  type BrokerConnection,
  BrokerDestination,
  type BrokerDestinationOptions,
  hostPort,
  resolveBroker,
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
} from './types.js';

export const NATS_DEFAULT_PORT = 4222;

class NatsBroker implements BrokerConnection {
  private done = false;
  readonly js: JetStreamClient;

  constructor(readonly nc: NatsConnection) {
    this.js = jetstream(nc);
    void nc.closed().then(() => {
      this.done = true;
    });
  }

  usable(): boolean {
    return !this.done && !this.nc.isClosed();
  }

  async close(): Promise<void> {
    this.done = true;
    await this.nc.close();
  }
}

export class NatsDestination extends BrokerDestination<NatsBroker> {
  constructor(o: BrokerDestinationOptions) {
    super('nats', o);
  }

  protected async publish(
    broker: NatsBroker,
    b: BrokerSettings,
    req: OutboundRequest,
    deadline: Deadline,
  ): Promise<SendResult> {
    if (!b.subject) return failure('nats: the endpoint has no subject', deadline);
    const subject = expandName(b.subject, req.eventType);
    const h = natsHeaders();
    for (const [name, value] of Object.entries(messageHeaders(req.headers))) h.set(name, value);
    const id = req.headers['webhook-id'];
    try {
      const ack = await broker.js.publish(subject, bodyBuffer(req.body), {
        headers: h,
        ...(id ? { msgID: id } : {}),
        timeout: Math.max(1, deadline.remaining()),
      });
      return acknowledged(
        JSON.stringify({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate }),
        deadline,
      );
    } catch (err) {
      const text = describeError(err);
      const hint = /no responders|503/i.test(text) ? ` (no JetStream stream takes subject "${subject}")` : '';
      return failure(`nats: publish to "${subject}" failed: ${text}${hint}`, deadline);
    }
  }

  protected async open(url: URL, b: BrokerSettings): Promise<NatsBroker> {
    const address = await resolveBroker(url, NATS_DEFAULT_PORT, this.o);
    const nc = await connect({
      servers: hostPort(address),
      name: 'tidings',
      resolve: false,
      ignoreClusterUpdates: true,
      noRandomize: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      timeout: this.o.connectTimeoutMs,
      // TLS to NATS would be checked against the IP we dial, not the hostname: refused for now.
      tls: null,
      ...(b.username ? { user: b.username } : {}),
      ...(b.password ? { pass: b.password } : {}),
    });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') {
          this.o.log.warn({ broker: url.host, event: s.type }, 'nats destination connection');
        }
      }
    })().catch(() => {});
    return new NatsBroker(nc);
  }
}
