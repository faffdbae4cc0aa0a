// What each hot statement costs PostgreSQL, apart from HTTP, the sender and the machine's other
// load (issue 12): publish, claim and ack run one after another on one connection, and the
// backend's CPU time (/proc/<pid>/schedstat, nanoseconds) is read around each statement.
//
//   npx tsx bench/stageCost.ts [--engine pg|pglite] [--rounds 200] [--batch 64] [--publish 64] [--endpoints 1] [--backlog 0] [--plan auto|generic] [--explain]
//
// --explain: the last round's publish and ack are logged with their plans (auto_explain,
// ANALYZE, WAL) in the server's log.
//
// --endpoints N: every event fans out to N endpoints (the fan-out scenario's shape: claims
// then take at most 50 per endpoint across up to half their limit of turn marks, as the worker
// asks).
//
// Every round publishes `--publish` events to one endpoint (one statement), claims up to
// `--batch` of them (one statement) and acks them as succeeded with realistic attempt data: the
// request and response headers, a 1 KiB body kept (one statement). The CPU is summed over every
// backend of the store's connections. --plan generic runs them with generic plans: here that
// halves the claim's CPU at claims of 16 (no planning per call), but the same plan made the
// bench's fan-out (100 endpoints) 2.5–3× slower, so the service leaves the choice to
// PostgreSQL. PostgreSQL: DATABASE_URL, a schema of its own, dropped after. --engine pglite: an
// in-memory PGlite, which runs in this process (on its own thread), so the CPU is this
// process's own (process.cpuUsage, including building the statements' parameters; --explain
// is PostgreSQL's).
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { keepBody } from '../src/delivery/keptBody.js';
import { recordAttempts } from '../src/store/deliveries/ack.js';
import { claimDeliveries } from '../src/store/deliveries/claim.js';
import type { AttemptResult } from '../src/store/deliveries/types.js';
import { createEndpoint } from '../src/store/endpoints.js';
import { upsertEventType } from '../src/store/eventTypes.js';
import { migrate } from '../src/store/migrate.js';
import { publishEvents } from '../src/store/publish.js';
import { plainCodec } from '../src/store/secrets.js';
import { createTenant } from '../src/store/tenants.js';
import { cpuSeconds } from './procStats.js';
import { openScratchStore } from './scratchStore.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '200' },
    batch: { type: 'string', default: '64' },
    publish: { type: 'string', default: '64' },
    plan: { type: 'string', default: 'auto' },
    explain: { type: 'boolean', default: false },
    backlog: { type: 'string', default: '0' },
    endpoints: { type: 'string', default: '1' },
    engine: { type: 'string', default: 'pg' },
  },
});
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const PUBLISH = Number(values.publish);
const ENDPOINTS = Number(values.endpoints);

const payload = JSON.stringify({
  id: 'bill_0',
  amount: '125.50',
  currency: 'USD',
  memo: 'x'.repeat(900),
});

const PGLITE = values.engine === 'pglite';

/** CPU nanoseconds the backends (PGlite: this process) have used so far. */
function backendNs(pids: number[]): number {
  if (PGLITE) {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  }
  return pids.reduce((ns, pid) => ns + cpuSeconds(pid) * 1e9, 0);
}

const { db, drop } = await openScratchStore(PGLITE ? 'pglite' : 'pg', 'stage', 1);
try {
  await migrate(db);
  if (values.plan === 'generic') await db.query('SET plan_cache_mode = force_generic_plan');
  let pids: number[] = [];
  const t0 = new Date('2026-03-02T09:00:00Z');
  await upsertEventType(db, { name: 'bill.paid' }, t0);
  await createTenant(db, { id: 't', name: 't' }, t0);
  for (let e = 0; e < ENDPOINTS; e++) {
    await createEndpoint(
      db,
      plainCodec,
      ENDPOINTS === 1 ? 'ep' : `ep${String(e).padStart(3, '0')}`,
      't',
      {
        url: 'https://receiver.example/hook',
        secret: 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=',
        max_in_flight: 1000,
      },
      t0,
    );
  }
  // A backlog first, if asked: that many deliveries due before the rounds start (the claims
  // then take the oldest, so each round's publish adds to the back of a long queue).
  const BACKLOG = Number(values.backlog);
  for (let start = 0; start < BACKLOG; start += 1000) {
    const inputs = Array.from({ length: Math.min(1000, BACKLOG - start) }, (_, k) => ({
      tenantId: 't',
      id: `old${start + k}`,
      type: 'bill.paid',
      payloadJson: payload,
      channels: [],
      orderingKey: null,
      idempotencyKey: null,
      requestHash: `o${start + k}`,
      source: 'api',
      createdAt: t0,
    }));
    await publishEvents(db, inputs);
  }
  if (BACKLOG > 0) await db.query('ANALYZE');
  const stages = ['publish', 'claim', 'ack'] as const;
  const cpu = { publish: 0, claim: 0, ack: 0 };
  const wall = { publish: 0, claim: 0, ack: 0 };
  let n = 0;
  let delivered = 0;
  const timed = async <T>(
    stage: (typeof stages)[number],
    measure: boolean,
    run: () => Promise<T>,
  ): Promise<T> => {
    const c = backendNs(pids);
    const t = performance.now();
    const out = await run();
    if (measure) {
      wall[stage] += performance.now() - t;
      cpu[stage] += backendNs(pids) - c;
    }
    return out;
  };
  for (let round = 0; round < ROUNDS + 10; round++) {
    const measure = round >= 10; // the first rounds warm up (plans, caches, connections)
    if (round === 10 && !PGLITE) {
      const rows = await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tidings'`,
      );
      pids = rows.map((r) => r.pid);
    }
    if (values.explain && !PGLITE && round === ROUNDS + 9) {
      // The last round's statements, with their plans and per-node times, in the server's log.
      await db.query("LOAD 'auto_explain'");
      await db.query('SET auto_explain.log_min_duration = 0');
      await db.query('SET auto_explain.log_analyze = on');
      await db.query('SET auto_explain.log_wal = on');
    }
    const at = new Date(t0.getTime() + 1000 + 10 * round);
    const inputs = Array.from({ length: PUBLISH }, () => {
      n += 1;
      return {
        tenantId: 't',
        id: `ev${n}`,
        type: 'bill.paid',
        payloadJson: payload,
        channels: [],
        orderingKey: null,
        idempotencyKey: null,
        requestHash: `h${n}`,
        source: 'api',
        createdAt: at,
      };
    });
    await timed('publish', measure, () => publishEvents(db, inputs));
    const claimed = await timed('claim', measure, () =>
      claimDeliveries(db, {
        now: at,
        leaseUntil: new Date(at.getTime() + 60_000),
        workerId: 'w',
        limit: BATCH,
        perEndpoint: ENDPOINTS === 1 ? BATCH : 50,
        endpoints: ENDPOINTS === 1 ? 10 : Math.max(10, Math.ceil(BATCH / 2)),
      }),
    );
    const results: AttemptResult[] = [];
    for (const d of claimed) {
      const body = `{"type":"bill.paid","timestamp":"2026-03-02T09:00:00.000Z","data":${payload}}`;
      const k = keepBody(body);
      results.push({
        deliveryId: d.id,
        endpointId: d.endpoint_id,
        attempt: 1,
        startedAt: at,
        durationMs: 3,
        url: d.url,
        status: 200,
        requestHeaders: {
          'content-type': 'application/json',
          'user-agent': 'Tidings/0.1',
          'webhook-id': d.event_id,
          'webhook-timestamp': '1772442000',
          'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
        },
        responseHeaders: { 'content-type': 'text/plain', 'content-length': '2' },
        responseBody: 'ok',
        error: null,
        next: 'succeeded',
        retryAt: null,
        gone: false,
        endpointSequence: d.endpoint_sequence,
        bodySha256: k.sha256,
        bodyPacked: await k.packed,
      });
    }
    await timed('ack', measure, () => recordAttempts(db, results, 'w', new Date(at.getTime() + 5)));
    if (measure) delivered += results.length;
  }
  const per = (ns: number) => (ns / 1000 / delivered).toFixed(1);
  console.log(
    `${PGLITE ? 'PGlite' : 'PostgreSQL'}, plan_cache_mode ${values.plan}; ${ROUNDS} rounds of ${PUBLISH} published to ${ENDPOINTS} endpoint(s), up to ${BATCH} claimed and acked; ${delivered} deliveries`,
  );
  console.log('| stage | backend CPU µs per delivery | wall ms per statement |');
  console.log('| --- | ---: | ---: |');
  for (const s of stages) console.log(`| ${s} | ${per(cpu[s])} | ${(wall[s] / ROUNDS).toFixed(2)} |`);
  console.log(`| all | ${per(cpu.publish + cpu.claim + cpu.ack)} | |`);
  // Whether PostgreSQL's plan cache planned each call for its values (custom) or reused one
  // plan (generic): the store's one connection prepared them, so it sees them all.
  const plans = await db.query<{ name: string; generic_plans: string; custom_plans: string }>(
    `SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'tidings_%' ORDER BY name`,
  );
  console.log('| statement | generic plans | custom plans |');
  console.log('| --- | ---: | ---: |');
  for (const p of plans) console.log(`| ${p.name} | ${p.generic_plans} | ${p.custom_plans} |`);
} finally {
  await drop();
}
