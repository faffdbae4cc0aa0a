// Reminders benchmark: `count` reminders (default 100,000) due at the same moment.
//
//   npx tsx bench/reminders.ts [--count 100000] [--database-url postgres://…] [--data-dir DIR]
//
// One Tidings (api, worker, scheduler) runs in this process on a fresh store: a new schema in
// the given PostgreSQL database (dropped afterwards), or PGlite (in memory, or in dataDir).
// The anchors are seeded through the store an hour ahead of the clock, so they are planned but
// not due; the claim is timed on that idle slice. Then the clock jumps an hour and the
// scheduler fires everything; the worker delivers to a receiver on 127.0.0.1 meanwhile. Other
// traffic (an ordinary event published every 100 ms through the API) is timed from publish to
// receipt before and during the burst, which shows what the burst does to everyone else.
//
// Entry point for the benchmark harness: runRemindersBench (bench/ belongs to the benchmark
// engineer; this file is the reminders workstream's contribution to it).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { startTidings } from '../src/app.js';
import type { Clock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { insertAndPlanAnchors } from '../src/scheduler/planner.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openPg } from '../src/store/pg.js';
import { openPglite } from '../src/store/pglite.js';
import { claimDueAnchors, countDueSlots } from '../src/store/reminders/slots.js';
import type { AnchorInput } from '../src/store/reminders/types.js';

export interface RemindersBenchOptions {
  /** A PostgreSQL database to run in (a fresh schema is made and dropped); unset: PGlite. */
  databaseUrl?: string;
  /** PGlite data folder (unset: in memory). Ignored with databaseUrl. */
  dataDir?: string;
  /** Reminders due at once. */
  count: number;
  /** Progress lines on stderr. */
  verbose?: boolean;
}

export interface RemindersBenchResult {
  engine: 'pglite' | 'pg';
  count: number;
  /** Anchors seeded (and planned) per second, through the store. */
  seededPerSec: number;
  /** One claim of the due slice while `count` slots are planned but none is due. */
  idleClaimMs: number;
  /** From the moment everything became due until the last slot fired. */
  fireSeconds: number;
  /** The headline: slots fired (event and deliveries written, slot marked) per second. */
  firedPerSec: number;
  /** From the moment everything became due until the receiver had every reminder. */
  deliverySeconds: number;
  deliveredPerSec: number;
  /** How late the reminders reached the receiver, after their due time. */
  reminderLagMs: { p50: number; p95: number; max: number };
  /** Publish-to-receipt of ordinary events, before and during the burst. */
  otherTraffic: {
    before: { p50: number; p95: number; max: number; samples: number };
    during: { p50: number; p95: number; max: number; samples: number };
  };
}

const TOKEN = 'bench-reminders-token-0123456789';
const TENANT = 'bench';
const REMINDER_TYPE = 'bench.reminder';
const OTHER_TYPE = 'bench.other';
const HOUR = 3_600_000;
const SEED_CHUNK = 5_000;

/** The system clock, moved forward on demand: the anchors become due all at once. */
class ShiftedClock implements Clock {
  shiftMs = 0;
  now(): Date {
    return new Date(Date.now() + this.shiftMs);
  }
}

interface Store {
  db: Db;
  engine: 'pglite' | 'pg';
  drop(): Promise<void>;
}

async function openStore(o: RemindersBenchOptions): Promise<Store> {
  if (!o.databaseUrl) {
    const db = await openPglite(o.dataDir);
    await migrate(db);
    return { db, engine: 'pglite', drop: () => db.close() };
  }
  const url = o.databaseUrl;
  const schema = `bench_rem_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE SCHEMA ${schema}`);
  const db = await openPg(url, { schema, max: 10 });
  await migrate(db);
  return {
    db,
    engine: 'pg',
    async drop() {
      await db.close();
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

interface Receiver {
  url: string;
  /** Arrival time (Date.now()) of each request, by webhook-id. */
  arrivals: Map<string, number>;
  reminders: number;
  /** Resolves when `n` reminder requests have arrived. */
  waitForReminders(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  let waiter: { n: number; resolve: () => void } | undefined;
  const state = { reminders: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      arrivals.set(id, Date.now());
      if (req.url === '/reminders') {
        state.reminders += 1;
        if (waiter && state.reminders >= waiter.n) waiter.resolve();
      }
      res.writeHead(200).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    get reminders() {
      return state.reminders;
    },
    waitForReminders(n, timeoutMs) {
      if (state.reminders >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver got ${state.reminders} reminders of ${n}`)),
          timeoutMs,
        );
        waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function quantiles(values: number[]): { p50: number; p95: number; max: number; samples: number } {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), max: v.at(-1) ?? 0, samples: v.length };
}

export async function runRemindersBench(o: RemindersBenchOptions): Promise<RemindersBenchResult> {
  const say = (msg: string) => o.verbose && process.stderr.write(`[reminders] ${msg}\n`);
  const keyDir = mkdtempSync(path.join(os.tmpdir(), 'tidings-bench-rem-'));
  const store = await openStore(o);
  const rx = await startReceiver();
  const clock = new ShiftedClock();
  const config = loadConfig(
    {
      TIDINGS_PORT: '0',
      TIDINGS_ADMIN_TOKEN: TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_DATA_DIR: keyDir,
      TIDINGS_LOG_LEVEL: 'warn',
      TIDINGS_POLL_INTERVAL_MS: '100',
    },
    { roles: 'api,worker,scheduler' },
  );
  const t = await startTidings(config, { db: store.db, clock, log: createLogger('warn') });
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${t.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  try {
    await api('PUT', `/v1/event-types/${REMINDER_TYPE}`, {
      default_enabled: false,
      reminder: { anchor: 'the due date', negative_offsets: true, periodic: true },
    });
    await api('PUT', `/v1/event-types/${OTHER_TYPE}`, {});
    await api('POST', '/v1/tenants', { id: TENANT, name: 'Bench' });
    await api('POST', `/v1/tenants/${TENANT}/endpoints`, {
      url: `${rx.url}/reminders`,
      event_types: [REMINDER_TYPE],
      // Below the worker's concurrency (64), leaving room for the other traffic's endpoint.
      max_in_flight: 32,
    });
    await api('POST', `/v1/tenants/${TENANT}/endpoints`, {
      url: `${rx.url}/other`,
      event_types: [OTHER_TYPE],
    });
    await api('PUT', `/v1/tenants/${TENANT}/reminder-rules`, { event_type: REMINDER_TYPE });

    // Seed: every anchor (and so its one slot) an hour ahead.
    const dueAt = new Date(Math.ceil((Date.now() + HOUR) / 1000) * 1000);
    const seedStart = performance.now();
    for (let i = 0; i < o.count; i += SEED_CHUNK) {
      const chunk: AnchorInput[] = [];
      for (let j = i; j < Math.min(o.count, i + SEED_CHUNK); j++) {
        chunk.push({
          tenant_id: TENANT,
          anchor_id: `loan-${j}`,
          event_type: REMINDER_TYPE,
          subject: `acct-${j}`,
          at: dueAt,
          time_zone: 'UTC',
          window_start: null,
          window_end: null,
          payload: `{"account_id":"acct-${j}","min_pay_cents":2500}`,
          channels: [],
        });
      }
      await store.db.tx((q) => insertAndPlanAnchors(q, chunk, clock.now()));
      say(`seeded ${Math.min(o.count, i + SEED_CHUNK)}`);
    }
    const seededPerSec = o.count / ((performance.now() - seedStart) / 1000);

    // Planned but not due: what the scheduler pays on every poll.
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      await store.db.tx((q) => claimDueAnchors(q, { now: clock.now(), limit: 500, candidates: 2000 }));
      idle.push(performance.now() - s);
    }
    const idleClaimMs = quantiles(idle).p50;

    // Other traffic before the burst.
    const published = new Map<string, number>();
    const publishOther = async () => {
      const sent = Date.now();
      const r = await api('POST', `/v1/tenants/${TENANT}/events`, { type: OTHER_TYPE, payload: { n: sent } });
      published.set(String(r.id), sent);
    };
    for (let i = 0; i < 20; i++) {
      await publishOther();
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500));
    const before = quantiles([...published].map(([id, sent]) => (rx.arrivals.get(id) ?? Date.now()) - sent));
    const beforeIds = new Set(published.keys());

    // The burst: everything becomes due at once.
    say('burst');
    const burstStart = Date.now();
    clock.shiftMs = dueAt.getTime() - Date.now() + 1;
    t.scheduler!.wake();
    let firedAt = 0;
    const firedWatch = (async () => {
      let shown = Date.now();
      for (;;) {
        const left = await countDueSlots(store.db, clock.now());
        if (left === 0) break;
        if (Date.now() - shown > 5000) {
          say(`${o.count - left} fired, ${rx.reminders} delivered`);
          shown = Date.now();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      firedAt = Date.now();
    })();
    let bursting = true;
    const traffic = (async () => {
      while (bursting) {
        await publishOther();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await firedWatch;
    say(`fired in ${(firedAt - burstStart) / 1000}s`);
    await rx.waitForReminders(o.count, Math.max(600_000, o.count * 20));
    const deliveredAt = Date.now();
    bursting = false;
    await traffic;
    await new Promise((r) => setTimeout(r, 500));
    const during = quantiles(
      [...published]
        .filter(([id]) => !beforeIds.has(id))
        .map(([id, sent]) => (rx.arrivals.get(id) ?? Date.now()) - sent),
    );
    const lags: number[] = [];
    for (const [id, at] of rx.arrivals) {
      if (id.startsWith('rem_')) lags.push(at - burstStart);
    }
    const fireSeconds = (firedAt - burstStart) / 1000;
    const deliverySeconds = (deliveredAt - burstStart) / 1000;
    return {
      engine: store.engine,
      count: o.count,
      seededPerSec: Math.round(seededPerSec),
      idleClaimMs: Math.round(idleClaimMs * 100) / 100,
      fireSeconds,
      firedPerSec: Math.round(o.count / fireSeconds),
      deliverySeconds,
      deliveredPerSec: Math.round(o.count / deliverySeconds),
      reminderLagMs: (({ p50, p95, max }) => ({ p50, p95, max }))(quantiles(lags)),
      otherTraffic: { before, during },
    };
  } finally {
    await t.stop();
    await rx.close();
    await store.drop();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runRemindersBench({
    count: Number(flag('--count') ?? 100_000),
    ...(flag('--database-url') ? { databaseUrl: flag('--database-url')! } : {}),
    ...(flag('--data-dir') ? { dataDir: flag('--data-dir')! } : {}),
    verbose: true,
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
