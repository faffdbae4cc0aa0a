// Chaos: three `tidings serve --roles worker` processes on one PostgreSQL schema, 5,000 events
// published while workers are SIGKILLed and restarted at random and PostgreSQL itself is
// restarted once. Every event must arrive (at least once); duplicates are counted and
// reported; on the ordered endpoint, the first arrival of each key's events is in sequence
// order however the crashes fall.
//
// Knobs for running it by hand: TIDINGS_CHAOS_PG_RESTART (a shell command restarting the
// PostgreSQL under test, e.g. a private cluster), TIDINGS_CHAOS_DRAIN_MS (how long to wait for
// the last deliveries), TIDINGS_CHAOS_NO_KILLS=1 (only the PostgreSQL restart).
import { execFileSync, execSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { openSecretCodec } from '../../src/security/keys.js';
import { generateKey } from '../../src/security/secretBox.js';
import { createEndpoint } from '../../src/store/endpoints.js';
import type { PublishInput } from '../../src/store/events.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { publishEvents } from '../../src/store/publish.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';
import { type Child, spawnTidings } from '../helpers/processes.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const EVENTS = 5_000;
const WORKERS = 3;
const TENANTS = ['t0', 't1', 't2', 't3'];
const KEYS = 20;
/** The chaos goes on past the last publish until at least this many workers were killed. */
const MIN_KILLS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

/** Retries a store call across a PostgreSQL restart. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i > 200) throw err;
      await sleep(100);
    }
  }
}

/**
 * Restarts the PostgreSQL the tests use: the machine's cluster by default, or whatever
 * TIDINGS_CHAOS_PG_RESTART says (a shell command), to run this against a private cluster
 * while other suites use the shared one.
 */
function restartPostgres(): number {
  const started = Date.now();
  const custom = process.env.TIDINGS_CHAOS_PG_RESTART;
  if (custom) {
    execSync(custom, { stdio: 'ignore' });
  } else {
    const version = readdirSync('/etc/postgresql')[0]!;
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], {
      stdio: 'ignore',
    });
  }
  return Date.now() - started;
}

describe.runIf(engines().includes('pg'))('chaos: killed workers and a PostgreSQL restart', () => {
  let t: TestDb;
  let rx: Receiver;
  const workers: (Child | undefined)[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    // Answers after a short random delay, so that kills land while requests are in flight.
    rx = await startReceiver(async () => ({ status: 200, delayMs: rand(1, 25) }));
    t = await freshDb('pg');
    env = {
      DATABASE_URL: t.url!,
      TIDINGS_DB_SCHEMA: t.schema!,
      TIDINGS_ADMIN_TOKEN: 'chaos-admin-token-0123456789',
      TIDINGS_ENCRYPTION_KEY: generateKey(),
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_REQUEST_TIMEOUT_MS: '2000',
      TIDINGS_LEASE_MARGIN_MS: '1000',
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_WORKER_CONCURRENCY: '32',
      TIDINGS_RETRY_SCHEDULE: '200ms,500ms,1s,2s,3s,5s,5s,5s,5s,5s',
      TIDINGS_LOG_LEVEL: 'info',
    };
    // Endpoint secrets sealed with the same key the workers open them with.
    const codec = await openSecretCodec(t.db, loadConfig(env), createLogger('silent'));
    const now = new Date();
    await upsertEventType(t.db, { name: 'payment.posted' }, now);
    for (const tenant of TENANTS) {
      await createTenant(t.db, { id: tenant, name: tenant }, now);
      await createEndpoint(
        t.db,
        codec,
        `ep_${tenant}`,
        tenant,
        {
          url: `${rx.url}/${tenant}`,
          secret: 'whsec_Y2hhb3NjaGFvc2NoYW9zY2hhb3M=',
          max_in_flight: 20,
          // One endpoint keeps order by key: crashes must not reorder it.
          ordering: tenant === 't0' ? 'key' : 'none',
        },
        now,
      );
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((_, i) => kill(i)));
    await rx?.close();
    await t?.drop().catch(() => {});
  });

  /** Worker exits we did not cause (a crash is a finding, even if the others cover for it). */
  const crashes: string[] = [];
  const killedByUs = new Set<Child>();

  async function startWorker(i: number): Promise<void> {
    const w = spawnTidings(['serve', '--roles', 'worker'], env);
    workers[i] = w;
    w.proc.once('exit', (code, signal) => {
      if (!killedByUs.has(w))
        crashes.push(`worker ${i} exited (${code ?? signal}): ${w.output().slice(-1500)}`);
    });
    await w.waitForOutput(/tidings started/, 60_000);
  }

  async function kill(i: number): Promise<void> {
    const w = workers[i];
    if (!w) return;
    killedByUs.add(w);
    await w.kill('SIGKILL');
  }

  it('delivers every event at least once and keeps each key in order', async () => {
    const started = Date.now();
    await Promise.all(Array.from({ length: WORKERS }, (_, i) => startWorker(i)));

    // Publish in batches of 50 through the store's publish (the same group commit the API
    // uses), spread over a few seconds so that the chaos meets a steady stream.
    const ids: string[] = [];
    const keyOf = new Map<string, string>();
    let published = 0;
    const publisher = (async () => {
      for (let start = 0; start < EVENTS; start += 50) {
        const inputs: PublishInput[] = [];
        for (let i = start; i < Math.min(EVENTS, start + 50); i++) {
          const tenant = TENANTS[i % TENANTS.length]!;
          const key = `loan-${i % KEYS}`;
          const id = `chaos-${i}`;
          ids.push(id);
          keyOf.set(id, key);
          inputs.push({
            tenantId: tenant,
            id,
            type: 'payment.posted',
            payloadJson: JSON.stringify({ i, key }),
            channels: [],
            orderingKey: key,
            idempotencyKey: null,
            requestHash: `chaos-${i}`,
            source: 'api',
            createdAt: new Date(),
          });
        }
        // A repeat after a lost answer is a duplicate publish, which creates nothing.
        await retrying(() => t.db.tx((q) => publishEvents(q, inputs)));
        await retrying(() => t.db.notify('tidings_wake'));
        published = Math.min(EVENTS, start + 50);
        await sleep(150);
      }
    })();

    // The chaos: SIGKILL a random worker every 0.7–2 s and start it again shortly after;
    // restart PostgreSQL once, when about 40 % is published. On a slow machine a worker takes
    // seconds to start again, so the kills go on after the publishing until MIN_KILLS is
    // reached: the count is a property of the run, not of the machine's speed.
    const killsWanted = process.env.TIDINGS_CHAOS_NO_KILLS === '1' ? 0 : MIN_KILLS;
    let kills = 0;
    let pgRestartMs = -1;
    let chaosOn = true;
    const chaos = (async () => {
      while (chaosOn || kills < killsWanted || pgRestartMs < 0) {
        await sleep(rand(700, 2000));
        if (pgRestartMs < 0 && published >= EVENTS * 0.4) {
          pgRestartMs = restartPostgres();
          continue;
        }
        if (process.env.TIDINGS_CHAOS_NO_KILLS === '1') continue;
        const i = rand(0, WORKERS);
        await kill(i);
        kills += 1;
        await sleep(rand(100, 800));
        await startWorker(i);
      }
    })();

    await publisher;
    // Keep the chaos going a little after the last publish, then let the survivors finish.
    await sleep(3_000);
    chaosOn = false;
    await chaos;
    for (let i = 0; i < WORKERS; i++)
      if (!workers[i] || workers[i]!.proc.exitCode !== null || workers[i]!.proc.signalCode)
        await startWorker(i);

    const deadline = Date.now() + Number(process.env.TIDINGS_CHAOS_DRAIN_MS ?? 240_000);
    for (;;) {
      const left = await retrying(() =>
        t.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM delivery_status WHERE state <> 'succeeded'",
        ),
      );
      if (left[0]!.n === 0) break;
      if (Date.now() > deadline) {
        const states = await t.db.query(
          'SELECT state, count(*)::int AS n FROM delivery_status GROUP BY state',
        );
        for (const [i, w] of workers.entries()) {
          console.log(
            `--- worker ${i} (exit ${w?.proc.exitCode} ${w?.proc.signalCode}):\n${w?.output().slice(-3000)}`,
          );
        }
        throw new Error(`deliveries left after the chaos: ${JSON.stringify(states)}`);
      }
      await sleep(250);
    }

    // Every event arrived; count the duplicates (at-least-once: a kill between the POST and
    // its recorded ack sends again, with the same webhook-id).
    const seen = new Map<string, number>();
    for (const r of rx.requests) {
      const id = String(r.headers['webhook-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    const missing = ids.filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    const duplicates = rx.requests.length - seen.size;
    expect(seen.size).toBe(EVENTS);

    // Order on the ordered endpoint: per key, first arrivals come in sequence order 1, 2, 3 …
    const firstSeq = new Map<string, number[]>();
    const firstSeen = new Set<string>();
    for (const r of rx.requests) {
      if (!r.path.startsWith('/t0')) continue;
      const id = String(r.headers['webhook-id']);
      if (firstSeen.has(id)) continue;
      firstSeen.add(id);
      const key = keyOf.get(id)!;
      firstSeq.set(key, [...(firstSeq.get(key) ?? []), Number(r.headers['webhook-sequence'])]);
    }
    let outOfOrder = 0;
    for (const [, seqs] of firstSeq) {
      for (const [i, s] of seqs.entries()) if (s !== i + 1) outOfOrder += 1;
    }
    expect(outOfOrder).toBe(0);
    expect(firstSeen.size).toBe(EVENTS / TENANTS.length);

    const leases = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM delivery_status WHERE locked_by IS NOT NULL OR state = 'delivering'",
    );
    expect(leases[0]!.n).toBe(0);
    console.log(
      `[chaos] ${EVENTS} events, ${WORKERS} workers, ${kills} SIGKILLs, PostgreSQL restart took ${pgRestartMs} ms; ` +
        `${rx.requests.length} requests, ${seen.size} distinct, ${duplicates} duplicates ` +
        `(${((duplicates / EVENTS) * 100).toFixed(2)} %), ordered endpoint: ${outOfOrder} out of order; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(crashes).toEqual([]);
    expect(pgRestartMs).toBeGreaterThan(0);
    expect(kills).toBeGreaterThanOrEqual(killsWanted);
  });
});
