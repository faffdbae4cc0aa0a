// Every kind of destination behind one call: `send(target, request)` picks HTTP(S) (with mTLS
// and OAuth2 when the endpoint has them), NATS JetStream, RabbitMQ or a Redis stream by the
// target URL's scheme, and answers with a SendResult. Nothing here throws into the worker: a
// broker that is away, a token server that fails, a certificate that is refused all become an
// attempt's error, retried on the delivery's schedule like an HTTP 503.
import type { Dispatcher } from 'undici';
import type { Logger } from '../../log.js';
import type { PinnedAgentOptions } from '../pinnedAgent.js';
import type { RelayHub } from '../relay/hub.js';
import { AmqpDestination } from './amqp.js';
import { HttpDestination } from './http.js';
import { NatsDestination } from './nats.js';
import { OAuthTokens } from './oauth.js';
import { RedisDestination } from './redis.js';
import { RelayDestination } from './relay.js';
import {
  type Destination,
  type DestinationKind,
  type Destinations,
  describeError,
  type EndpointTarget,
  failure,
  kindOfUrl,
  type OutboundRequest,
  type SendResult,
  startDeadline,
} from './types.js';

export type { Destinations, EndpointTarget, OutboundRequest, SendResult } from './types.js';

export interface DestinationsOptions {
  /** The shared pinned dispatcher (SSRF rules): HTTP endpoints without a certificate, token requests. */
  dispatcher: Dispatcher;
  /** How agents with a client certificate are built, and the address rules and connect budget for brokers. */
  agent: PinnedAgentOptions & { proxyUrl?: string };
  log: Logger;
  /** How long a token request may take (the request timeout). */
  tokenTimeoutMs: number;
  /** Agents and broker connections unused this long are closed (default 10 min). */
  idleMs?: number;
  /** Where relay:// endpoints' requests go (`tidings listen`); without it they fail. */
  relay?: RelayHub;
}

export interface DestinationSet extends Destinations {
  /** The OAuth2 token cache (its request counter is read by metrics and tests). */
  readonly tokens: OAuthTokens;
}

export function createDestinations(o: DestinationsOptions): DestinationSet {
  const tokens = new OAuthTokens({ dispatcher: o.dispatcher, timeoutMs: o.tokenTimeoutMs });
  const broker = {
    allow: o.agent.allow,
    connectTimeoutMs: o.agent.connectTimeoutMs,
    ...(o.agent.lookup ? { lookup: o.agent.lookup } : {}),
    log: o.log,
    ...(o.idleMs !== undefined ? { idleMs: o.idleMs } : {}),
  };
  // Broker clients are made on first use: a deployment of HTTP endpoints opens none.
  const made = new Map<DestinationKind, Destination>();
  const make: Record<DestinationKind, () => Destination> = {
    http: () =>
      new HttpDestination({
        dispatcher: o.dispatcher,
        agent: o.agent,
        tokens,
        ...(o.idleMs !== undefined ? { idleMs: o.idleMs } : {}),
      }),
    nats: () => new NatsDestination(broker),
    amqp: () => new AmqpDestination(broker),
    redis: () => new RedisDestination(broker),
    relay: () => new RelayDestination(o.relay),
  };
  const destination = (kind: DestinationKind): Destination => {
    let d = made.get(kind);
    if (!d) {
      d = make[kind]();
      made.set(kind, d);
    }
    return d;
  };
  let closed = false;

  return {
    tokens,
    async send(target: EndpointTarget, req: OutboundRequest): Promise<SendResult> {
      const deadline = startDeadline(req.timeoutMs);
      if (target.problem) return failure(target.problem, deadline);
      if (closed) return failure('the worker is stopping', deadline);
      const kind = kindOfUrl(target.url);
      if (!kind) return failure(`no destination handles ${target.url.split(':')[0]}: URLs`, deadline);
      try {
        return await destination(kind).send(target, req, deadline);
      } catch (err) {
        // A bug or a library's surprise: still an attempt that failed, never a crashed worker.
        o.log.error({ endpoint: target.id, err: describeError(err) }, 'destination send threw');
        return failure(`${kind}: ${describeError(err)}`, deadline);
      }
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.allSettled([...made.values()].map((d) => d.close()));
      made.clear();
    },
  };
}
