// The baseline: what a team would otherwise build. pg-boss 10 on the same PostgreSQL (a schema of
// its own per run, dropped after it), one job per delivery, a node:http ingest that enqueues, and
// workers that sign and POST each job with undici. Runs as its own process, like the service.
//
// Settings (written into every results file; see DEFAULT_BASELINE_SETTINGS in systems/pgBoss.ts):
// - `work()` called `workers` times, each fetching `batchSize` jobs per poll. pg-boss 10 has no
//   per-worker concurrency option: a worker fetches a batch, hands it to the handler and only
//   fetches again when the handler's promise settles, then sleeps what is left of
//   `pollingIntervalSeconds` (minimum 0.5 s) unless the fetch took longer.
// - the handler posts every job of its batch at once through one shared undici pool capped at
//   `concurrency` connections (the same cap as the ceiling and the service), fails the jobs
//   whose POST failed (`boss.fail`, so one bad endpoint does not fail its neighbours) and lets
//   pg-boss complete the rest.
// - retries: 7 with backoff from 5 s (the service's 8 attempts); expiry 60 s.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import PgBoss from 'pg-boss';
import type { Pool } from 'undici';
import { accepted, close, eventsOf, ingestServer, listen, NO_EVENTS, NOT_FOUND } from './ingest.js';
import { serve } from './ipc.js';
import { deliveryPool, postWebhook } from './post.js';
import { logStatementOptions } from './statements.js';
import { dropSchema, type StoredStartArgs } from './systems/helperSystem.js';
import { type BaselineSettings, DEFAULT_BASELINE_SETTINGS } from './systems/pgBoss.js';

const QUEUE = 'deliveries';

interface JobData {
  id: string;
  path: string;
  payload: unknown;
  createdAt: string;
}

let boss: PgBoss | undefined;
let where: { databaseUrl: string; schema: string } | undefined;
let http_: http.Server | undefined;
let endpoints: string[] = [];
let settings = DEFAULT_BASELINE_SETTINGS;
let sender: Pool | undefined;
let delivered = 0;
let failed = 0;

function jobsFor(event: { payload?: unknown }, createdAt: string): { id: string; jobs: JobData[] } {
  const id = `msg_${randomUUID()}`;
  return { id, jobs: endpoints.map((path) => ({ id, path, payload: event.payload ?? null, createdAt })) };
}

/** Enqueues: one `send` for a single delivery, one multi-row `insert` otherwise. */
async function enqueue(jobs: JobData[]): Promise<void> {
  const b = boss!;
  if (jobs.length === 1) await b.send(QUEUE, jobs[0]!);
  else if (jobs.length > 1) await b.insert(jobs.map((data) => ({ name: QUEUE, data })));
}

function ingest(): http.Server {
  return ingestServer(async (path, body) => {
    if (path !== '/events' && path !== '/events/batch') return NOT_FOUND;
    const events = eventsOf(path, body);
    if (!events || events.length === 0) return NO_EVENTS;
    const now = new Date().toISOString();
    const made = events.map((e) => jobsFor(e, now));
    await enqueue(made.flatMap((m) => m.jobs));
    return accepted(
      path,
      made.map((m) => m.id),
      endpoints.length,
    );
  });
}

async function handle(jobs: PgBoss.Job<JobData>[]): Promise<void> {
  const results = await Promise.all(
    jobs.map((job) =>
      postWebhook(sender!, job.data.path, job.data.id, JSON.stringify(job.data.payload), new Date()),
    ),
  );
  const bad = jobs.filter((_, i) => !results[i]!.ok).map((j) => j.id);
  delivered += jobs.length - bad.length;
  failed += bad.length;
  if (bad.length) await boss!.fail(QUEUE, bad);
}

serve({
  start: async (args: StoredStartArgs<BaselineSettings>) => {
    settings = args.settings;
    endpoints = args.paths;
    where = { databaseUrl: args.databaseUrl, schema: args.schema };
    await dropSchema(args.databaseUrl, args.schema);
    // pg-boss hands its whole config to pg.Pool: `options` reaches every connection it opens.
    const config: PgBoss.ConstructorOptions & { options?: string } = {
      connectionString: args.databaseUrl,
      schema: args.schema,
      max: settings.poolMax,
      schedule: false,
      application_name: 'bench-pgboss',
      ...(args.logStatements ? { options: logStatementOptions() } : {}),
    };
    boss = new PgBoss(config);
    boss.on('error', (err) => console.error('[baseline] pg-boss error:', err.message));
    await boss.start();
    await boss.createQueue(QUEUE, {
      name: QUEUE,
      retryLimit: 7,
      retryDelay: 5,
      retryBackoff: true,
      expireInSeconds: 60,
    });
    sender = deliveryPool(args.receiverOrigin, settings.concurrency, settings.timeoutMs);
    http_ = ingest();
    return { origin: await listen(http_) };
  },
  work: async () => {
    for (let i = 0; i < settings.workers; i++) {
      await boss!.work<JobData>(
        QUEUE,
        { batchSize: settings.batchSize, pollingIntervalSeconds: settings.pollingIntervalSeconds },
        handle,
      );
    }
    return true;
  },
  offWork: async () => {
    await boss!.offWork(QUEUE);
    return true;
  },
  counts: async () => ({ delivered, failed, queued: await boss!.getQueueSize(QUEUE) }),
  stop: async () => {
    await close(http_);
    await boss?.stop({ graceful: false, wait: true, close: true });
    // Not close(): the handlers pg-boss had fetched still queue requests in the pool, and with a
    // hanging endpoint (isolation) they would drain at one per connection per timeout.
    await sender?.destroy();
    boss = undefined;
    if (where) await dropSchema(where.databaseUrl, where.schema);
    return true;
  },
});
