// The baseline: what a team would otherwise build. pg-boss 10 on the same PostgreSQL (its own
// schema, dropped before each run), one job per delivery, a node:http ingest that enqueues, and
// workers that sign and POST each job with undici. Runs as its own process, like the service.
//
// Settings (written into every results file; see DEFAULT_BASELINE_SETTINGS):
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
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { Pool } from 'undici';
import { serve } from './ipc.js';
import { deliveryPool, postWebhook } from './post.js';

export interface BaselineSettings {
  workers: number;
  batchSize: number;
  pollingIntervalSeconds: number;
  /** Connections in pg-boss's pg pool. */
  poolMax: number;
  /** Connections to the receiver (in-flight requests). */
  concurrency: number;
  timeoutMs: number;
}

export const DEFAULT_BASELINE_SETTINGS: BaselineSettings = {
  workers: 8,
  batchSize: 250,
  pollingIntervalSeconds: 0.5,
  poolMax: 16,
  concurrency: 64,
  timeoutMs: 15_000,
};

const QUEUE = 'deliveries';

interface JobData {
  id: string;
  path: string;
  payload: unknown;
  createdAt: string;
}

let boss: PgBoss | undefined;
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

function ingestServer(): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const reply = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          payload?: unknown;
          events?: { payload?: unknown }[];
        };
        const now = new Date().toISOString();
        if (req.url === '/events/batch' && Array.isArray(body.events)) {
          const made = body.events.map((e) => jobsFor(e, now));
          const jobs = made.flatMap((m) => m.jobs);
          await enqueue(jobs);
          reply(202, { ids: made.map((m) => m.id), deliveries: jobs.length });
        } else if (req.url === '/events') {
          const { id, jobs } = jobsFor(body, now);
          await enqueue(jobs);
          reply(202, { id, deliveries: jobs.length });
        } else {
          reply(404, { error: 'not found' });
        }
      } catch (err) {
        reply(500, { error: (err as Error).message });
      }
    });
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
  start: async (args: {
    databaseUrl: string;
    schema: string;
    receiverOrigin: string;
    paths: string[];
    settings: BaselineSettings;
  }) => {
    settings = args.settings;
    endpoints = args.paths;
    const admin = new pg.Client({ connectionString: args.databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(args.schema)} CASCADE`);
    await admin.end();
    boss = new PgBoss({
      connectionString: args.databaseUrl,
      schema: args.schema,
      max: settings.poolMax,
      schedule: false,
      application_name: 'bench-pgboss',
    });
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
    http_ = ingestServer();
    http_.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => http_!.listen(0, '127.0.0.1', resolve));
    return { origin: `http://127.0.0.1:${(http_.address() as AddressInfo).port}` };
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
    http_?.closeAllConnections();
    await new Promise((r) => (http_ ? http_.close(r) : r(undefined)));
    await boss?.stop({ graceful: false, wait: true, close: true });
    await sender?.close();
    boss = undefined;
    return true;
  },
});
