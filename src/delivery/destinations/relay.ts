// relay:// endpoints (`tidings listen`): the signed request goes down the stream a developer's
// CLI holds open (delivery/relay/hub.ts), and the local URL's answer, as the CLI reports it,
// is the attempt's result.
import type { RelayHub } from '../relay/hub.js';
import {
  bodyBuffer,
  type Deadline,
  type Destination,
  type EndpointTarget,
  failure,
  type OutboundRequest,
  type SendResult,
} from './types.js';

export class RelayDestination implements Destination {
  constructor(private readonly hub: RelayHub | undefined) {}

  send(target: EndpointTarget, req: OutboundRequest, deadline: Deadline): Promise<SendResult> {
    if (!this.hub) return Promise.resolve(failure('relay: this process cannot relay', deadline));
    const body = typeof req.body === 'string' ? req.body : bodyBuffer(req.body).toString('utf8');
    return this.hub.deliver(
      target.id,
      { headers: req.headers, body, eventType: req.eventType, bodyLimit: req.bodyLimit },
      deadline,
    );
  }

  async close(): Promise<void> {}
}
