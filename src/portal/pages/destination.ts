// How an endpoint's destination reads on the portal: "HTTPS · mutual TLS · OAuth2",
// "NATS JetStream · subject loans.{type}", "RabbitMQ · exchange bank, key {type}", "Redis stream".
import type { EndpointJson } from '../apiTypes.js';

export function destinationLabel(e: EndpointJson): string {
  const b = e.broker;
  switch (e.destination) {
    case 'nats':
      return `NATS JetStream · subject ${b?.subject ?? '?'}`;
    case 'amqp':
      return `RabbitMQ · ${b?.exchange ? `exchange ${b.exchange}, ` : 'default exchange, '}key ${b?.routing_key ?? '?'}`;
    case 'redis':
      return `Redis stream ${b?.stream ?? '?'}`;
    case 'relay':
      return 'tidings listen · temporary, on a developer’s machine';
    default: {
      const parts = [e.url.startsWith('https:') ? 'HTTPS' : 'HTTP'];
      if (e.mtls) parts.push('mutual TLS');
      if (e.oauth) parts.push('OAuth2');
      return parts.join(' · ');
    }
  }
}

/** The client certificate line of the configuration: subject, expiry, and a rotation in progress. */
export function certificateLine(e: EndpointJson): string | undefined {
  if (!e.mtls) return undefined;
  const c = e.mtls.certificate;
  const overlap =
    e.mtls.previous.length > 0
      ? ` · previous certificate offered until ${e.mtls.previous[0]!.offered_until}`
      : '';
  return `${c.subject} · valid until ${c.valid_to}${overlap}`;
}
