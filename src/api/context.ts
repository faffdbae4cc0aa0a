// What route handlers share: the store, the clock, the configuration, the publisher.
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { RelayHub } from '../delivery/relay/hub.js';
import type { Logger } from '../log.js';
import type { LoopHealth } from '../loopHealth.js';
import type { Db } from '../store/db.js';
import type { SecretCodec } from '../store/secrets.js';
import type { EventTypeCache } from './eventTypeCache.js';
import type { Publisher } from './publisher.js';

export interface ApiContext {
  db: Db;
  codec: SecretCodec;
  clock: Clock;
  config: Config;
  log: Logger;
  publisher: Publisher;
  eventTypes: EventTypeCache;
  /** sha256 (hex) of the operator token. */
  adminTokenHash: string;
  /** How the worker and scheduler loops of this process fare, for /readyz. */
  loops: LoopHealth;
  /** The streams of `tidings listen` this process holds (routes/relays.ts); absent: none can open. */
  relay?: RelayHub;
}

/** The Fastify instance routes register on. */
export type App = import('fastify').FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  import('@fastify/type-provider-typebox').TypeBoxTypeProvider
>;
