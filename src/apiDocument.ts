// The OpenAPI document of the API as a server with this configuration serves it, built in
// process without a store or a listener: the same buildServer and portal plugin that
// startTidings uses, whose routes never touch the store while they are registered.
// scripts/openapi.ts writes it to docs/openapi.json; test/api/openapi.test.ts checks that it
// matches what a running server serves.
import type { ApiContext } from './api/context.js';
import { Publisher } from './api/publisher.js';
import { buildServer } from './api/server.js';
import { systemClock } from './clock.js';
import { type Config, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { LoopHealth } from './loopHealth.js';
import { withPortal } from './portal/plugin.js';
import { EventTypeCache } from './publishing/eventTypeCache.js';
import type { Db } from './store/db.js';
import { plainCodec } from './store/secrets.js';

const noStore = (): never => {
  throw new Error('the OpenAPI document is built without a store');
};

/** A store that refuses every query: building the document must not need one. */
const NO_STORE: Db = {
  engine: 'pglite',
  query: async () => noStore(),
  exec: async () => noStore(),
  tx: async () => noStore(),
  listen: async () => noStore(),
  notify: async () => noStore(),
  close: async () => {},
};

/** The configuration the committed document is built with: the defaults. */
export function documentConfig(): Config {
  return loadConfig({ TIDINGS_LOG_LEVEL: 'silent' }, { roles: 'api' });
}

export async function buildApiDocument(config: Config = documentConfig()): Promise<Record<string, unknown>> {
  const log = createLogger('silent');
  const ctx: ApiContext = {
    db: NO_STORE,
    codec: plainCodec,
    clock: systemClock,
    config,
    log,
    publisher: new Publisher(NO_STORE, log),
    eventTypes: new EventTypeCache(NO_STORE, systemClock),
    adminTokenHash: '0'.repeat(64),
    loops: new LoopHealth(),
  };
  const app = await buildServer(ctx, withPortal(ctx));
  try {
    await app.ready();
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
