// Shared pieces of the destination tests: the destinations object as the worker gets it (the
// pinned agent allowing 127.0.0.1 only), a request built by the worker's own request builder,
// and a target for an endpoint.
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';
import { createDestinations, type DestinationSet } from '../../../src/delivery/destinations/index.js';
import type { OutboundRequest } from '../../../src/delivery/destinations/types.js';
import { createPinnedAgent, type PinnedAgentOptions } from '../../../src/delivery/pinnedAgent.js';
import { buildRequest } from '../../../src/delivery/request.js';
import type { Cidr } from '../../../src/delivery/ssrf.js';
import { createLogger } from '../../../src/log.js';
import { newSecret } from '../../../src/signing/hmac.js';
import type { BrokerSettings, EndpointTarget } from '../../../src/store/endpointTargets.js';
import { plainCodec } from '../../../src/store/secrets.js';

export const LOOPBACK: Cidr[] = [ipaddr.parseCIDR('127.0.0.1/32')];

export function destinations(extra: Partial<PinnedAgentOptions> = {}): DestinationSet {
  const agent: PinnedAgentOptions = { allow: LOOPBACK, connectTimeoutMs: 2000, ...extra };
  return createDestinations({
    dispatcher: createPinnedAgent(agent),
    agent,
    log: createLogger('silent'),
    tokenTimeoutMs: 3000,
  });
}

export function target(url: string, more: Partial<EndpointTarget> = {}): EndpointTarget {
  return {
    id: `ep_${Math.random().toString(36).slice(2)}`,
    url,
    version: 1,
    mtls: null,
    oauth: null,
    broker: null,
    ...more,
  };
}

let counter = 0;

/** A signed request as the worker builds it (standard profile), and the secret to verify it with. */
export function signedRequest(
  payload: Record<string, unknown> = { n: ++counter },
  opts: { type?: string; timeoutMs?: number; eventId?: string } = {},
): { req: OutboundRequest; secret: string; eventId: string } {
  const secret = newSecret();
  const eventId = opts.eventId ?? `msg_${Date.now().toString(36)}_${++counter}`;
  const type = opts.type ?? 'loan.updated';
  const built = buildRequest(
    {
      id: counter,
      attempts: 0,
      tenant_id: 't',
      endpoint_id: 'ep',
      url: 'unused',
      profile: 'standard',
      secret,
      headers: null,
      event_id: eventId,
      event_type: type,
      event_created_at: new Date(),
      payload: JSON.stringify(payload),
      ordering_key: null,
      sequence: null,
    },
    plainCodec,
    new Date(),
  );
  if (!built.ok) throw new Error(built.error);
  return {
    req: {
      headers: built.headers,
      body: built.body,
      timeoutMs: opts.timeoutMs ?? 3000,
      bodyLimit: 4096,
      eventType: type,
    },
    secret,
    eventId,
  };
}

/** Verifies with the standardwebhooks package; throws when the signature does not match. */
export function verify(secret: string, body: string, headers: Record<string, string>): unknown {
  return new Webhook(secret).verify(body, headers);
}

/** Broker settings: the given ones, the rest null. */
export function brokerSettings(over: Partial<BrokerSettings>): BrokerSettings {
  return {
    subject: null,
    exchange: null,
    routing_key: null,
    stream: null,
    max_len: null,
    username: null,
    password: null,
    ...over,
  };
}
