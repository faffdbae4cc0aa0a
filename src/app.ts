// Boots Tidings: configuration → store → migrations → the roles this process runs.
import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { hashToken } from './api/auth.js';
import type { ApiContext } from './api/context.js';
import { Publisher } from './api/publisher.js';
import { buildServer, type ServerOptions } from './api/server.js';
import { describeLoad, loadCatalogFiles } from './catalog/load.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { circuitSettings } from './delivery/circuit.js';
import { createDestinations, type Destinations } from './delivery/destinations/index.js';
import { EndpointTargets } from './delivery/destinations/targets.js';
import { registerOperatorEventTypes } from './delivery/operatorEvents.js';
import { createOutboundAgent, outboundAgentOptions } from './delivery/pinnedAgent.js';
import { RelayHub } from './delivery/relay/hub.js';
import { createRetryPolicy } from './delivery/retryPolicy.js';
import { Worker } from './delivery/worker.js';
import { createLogger, type Logger } from './log.js';
import { LoopHealth } from './loopHealth.js';
import { Observer } from './observability/deliveryObserver.js';
import { instrumentDb } from './observability/instrumentDb.js';
import { TidingsMetrics } from './observability/metrics.js';
import { metricsRoute, type OpsServer, startOpsServer } from './observability/opsServer.js';
import { withPortal } from './portal/plugin.js';
import { EventTypeCache } from './publishing/eventTypeCache.js';
import { Scheduler } from './scheduler/scheduler.js';
import { loadAuditSigner } from './security/auditKey.js';
import { openSecretCodec } from './security/keys.js';
import { tenantTokenResolver } from './security/tenantTokens.js';
import type { Db } from './store/db.js';
import { getMeta, putMetaOnce } from './store/meta.js';
import { migrate } from './store/migrate.js';
import { lockDataDir, openStore } from './store/open.js';
import type { SecretCodec } from './store/secrets.js';
import { VERSION } from './version.js';

export interface Tidings {
  config: Config;
  db: Db;
  log: Logger;
  /** The API's address when the api role runs. */
  url?: string;
  worker?: Worker;
  scheduler?: Scheduler;
  api?: import('fastify').FastifyInstance;
  ctx: ApiContext;
  /** Prometheus metrics (unless TIDINGS_METRICS=false). */
  metrics?: TidingsMetrics;
  /** The ops listener's address when TIDINGS_OPS_PORT is set. */
  opsUrl?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** Use this store instead of opening one from the configuration (tests). */
  db?: Db;
  dispatcher?: Dispatcher;
  server?: ServerOptions;
  /** Called with a generated admin token (printed once by the CLI). */
  onAdminTokenCreated?: (token: string) => void;
}

/** The operator token's hash: from the configuration, or generated once and stored. */
async function adminTokenHash(db: Db, config: Config, onCreated?: (token: string) => void): Promise<string> {
  if (config.adminToken) return hashToken(config.adminToken);
  const stored = await getMeta(db, 'admin_token_sha256');
  if (stored) return stored;
  const token = `tid_admin_${randomBytes(24).toString('base64url')}`;
  const hash = await putMetaOnce(db, 'admin_token_sha256', hashToken(token));
  // Another process may have won the race; only the winner's token works, so only it is shown.
  if (hash === hashToken(token)) onCreated?.(token);
  return hash;
}

export async function startTidings(config: Config, opts: StartOptions = {}): Promise<Tidings> {
  const log = opts.log ?? createLogger(config.logLevel, undefined, config.logFormat);
  const clock = opts.clock ?? systemClock;
  const unlock = !opts.db && !config.databaseUrl ? lockDataDir(config.dataDir) : () => {};
  const metrics = config.metrics
    ? new TidingsMetrics({
        version: VERSION,
        tenantLabel: config.metricsTenantLabel,
        circuitOpenAfter: circuitSettings(config.retryScheduleMs).openAfter,
      })
    : undefined;
  const opened = opts.db ?? (await openStore(config));
  // Every statement and transaction timed by name (tidings_store_statement_duration_seconds).
  const db = metrics ? instrumentDb(opened, metrics) : opened;
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ applied }, 'migrations applied');
  await registerOperatorEventTypes(db, clock.now());
  if (config.catalogFiles.length > 0) {
    // A bad catalog file stops the boot, naming the place of each problem; nothing is written.
    const loaded = await loadCatalogFiles(db, config.catalogFiles, clock.now()).catch(async (err) => {
      if (!opts.db) await db.close();
      unlock();
      throw err;
    });
    for (const s of loaded) log.info({ catalog: describeLoad(s) }, 'catalog loaded');
  }
  // Secrets at rest are sealed with TIDINGS_ENCRYPTION_KEY or the data folder's key file.
  const codec: SecretCodec = await openSecretCodec(db, config, log).catch(async (err) => {
    if (!opts.db) await db.close();
    unlock();
    throw err;
  });
  const observer = new Observer({ db, clock, log, metrics, tracing: config.tracing, version: VERSION });
  const publisher = new Publisher(db, log, { observer });
  const loops = new LoopHealth();
  // `tidings listen`: the streams this process holds and the relay of their deliveries.
  const relay = new RelayHub({ db, codec, clock, log, expiryMs: config.relayExpiryMs });
  await relay.start();
  const ctx: ApiContext = {
    db,
    codec,
    clock,
    config,
    log,
    publisher,
    eventTypes: new EventTypeCache(db, clock),
    adminTokenHash: await adminTokenHash(db, config, opts.onAdminTokenCreated),
    loops,
    relay,
  };

  let ops: OpsServer | undefined;
  const t: Tidings = {
    config,
    db,
    log,
    ctx,
    ...(metrics ? { metrics } : {}),
    async stop() {
      // Stop taking requests, then let in-flight deliveries finish and record them.
      await t.api?.close();
      await ops?.app.close();
      await t.scheduler?.stop();
      // Before the worker: relayed requests still waiting for a report fail now, not at their timeout.
      await relay.stop();
      await t.worker?.stop();
      await destinations?.close();
      await ownedDispatcher?.close();
      if (!opts.db) await db.close();
      unlock();
    },
  };

  let ownedDispatcher: Dispatcher | undefined;
  let destinations: Destinations | undefined;
  if (config.roles.includes('worker')) {
    const agent = outboundAgentOptions(config);
    if (!opts.dispatcher) ownedDispatcher = createOutboundAgent(agent);
    const dispatcher = opts.dispatcher ?? ownedDispatcher!;
    destinations = createDestinations({
      dispatcher,
      agent,
      log,
      tokenTimeoutMs: config.requestTimeoutMs,
      relay,
    });
    t.worker = new Worker({
      db,
      codec,
      clock,
      log,
      destinations,
      // Kept by the endpoint version each claim names (its updated_at): loaded once per change.
      targets: new EndpointTargets({ q: db, codec }),
      retry: createRetryPolicy(config.retryScheduleMs),
      concurrency: config.workerConcurrency,
      claimBatch: config.claimBatchSize,
      claimPerEndpoint: config.claimPerEndpoint,
      requestTimeoutMs: config.requestTimeoutMs,
      leaseMarginMs: config.leaseMarginMs,
      pollIntervalMs: config.pollIntervalMs,
      responseBodyLimit: config.responseBodyLimitBytes,
      circuit: circuitSettings(config.retryScheduleMs),
      health: {
        operatorTenant: config.operatorTenant,
        failingNoticeAfterMs: config.failingNoticeAfterMs,
        disableAfterMs: config.disableAfterMs,
      },
      retention: {
        days: config.retentionDays,
        bodyDays: config.bodyRetentionDays,
        statsDays: config.statsRetentionDays,
      },
      audit: {
        signer: await loadAuditSigner(db, config.auditSigningKey, codec),
        operatorTenant: config.operatorTenant,
        checkpointIntervalMs: config.auditCheckpointIntervalMs,
      },
      observer,
    });
    const claimsAndAcks = t.worker.status;
    loops.watch('worker', () => ({ ...claimsAndAcks }), clock);
    await t.worker.start();
    // A publish in this process wakes this worker directly, without waiting for its NOTIFY.
    const worker = t.worker;
    publisher.setLocalWake(() => worker.wake());
  }
  if (config.roles.includes('scheduler')) {
    t.scheduler = new Scheduler({
      db,
      clock,
      log,
      config,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      loopHealth: loops,
      eventTypes: ctx.eventTypes,
      observer,
    });
    await t.scheduler.start();
  }
  if (config.roles.includes('api')) {
    const server = withPortal(ctx, { resolveToken: tenantTokenResolver(db, clock, log), ...opts.server });
    if (metrics) server.plugins = [...(server.plugins ?? []), metricsRoute(metrics, ctx)];
    t.api = await buildServer(ctx, server);
    t.url = await t.api.listen({ port: config.port, host: config.host });
  }
  if (config.opsPort !== undefined) {
    ops = await startOpsServer(ctx, metrics, { port: config.opsPort, host: config.opsHost });
    t.opsUrl = ops.url;
  }
  return t;
}
