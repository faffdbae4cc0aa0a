// EXPLAIN ANALYZE of the claim, the ack and the fan-out on a large PostgreSQL data set, and
// the time of 200 claims in a row (docs/scaling.md). Run by hand, against a PostgreSQL of
// your own (it builds 2 million deliveries in a schema "explain_claim" and leaves it there):
//   URL=postgres://postgres@127.0.0.1:5432/test npx tsx test/chaos/measure/explainClaim.ts
import pg from 'pg';
import { type Queryable, type Row, type Sql, sqlText } from '../../../src/store/db.js';
import { recordAttempts } from '../../../src/store/deliveries/ack.js';
import { claimDeliveries } from '../../../src/store/deliveries/claim.js';
import type { AttemptResult } from '../../../src/store/deliveries/types.js';
import type { PublishInput } from '../../../src/store/events.js';
import { migrate } from '../../../src/store/migrate.js';
import { openPg } from '../../../src/store/pg.js';
import { publishEvents } from '../../../src/store/publish.js';

const url = process.env.URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'explain_claim';
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
await admin.end();
const db = await openPg(url, { schema, max: 4 });
await migrate(db);

const ENDPOINTS = 2000;
const HISTORY = Number(process.env.HISTORY ?? 1_000_000);
/** Publish rounds of 500 events (5 per tenant); each event fans out to its tenant's 20 endpoints. */
const BACKLOG_ROUNDS = Number(process.env.ROUNDS ?? 100);
const t0 = Date.now();
await db.exec(`
  INSERT INTO event_types (name) VALUES ('x.y');
  INSERT INTO tenants (id, name) SELECT 't' || g, 't' || g FROM generate_series(1, 100) g;
  INSERT INTO endpoints (id, tenant_id, url, secret, max_in_flight, ordering)
    SELECT 'ep' || g, 't' || (g % 100 + 1), 'https://e.example/' || g, 'whsec_x', 10, CASE WHEN g % 10 = 0 THEN 'key' ELSE 'none' END
    FROM generate_series(1, ${ENDPOINTS}) g;
  INSERT INTO endpoint_state (endpoint_id) SELECT id FROM endpoints;
  INSERT INTO events (tenant_id, id, type, payload, request_hash, created_at)
    SELECT 't' || (g % 100 + 1), 'h' || g, 'x.y', '{"a":1}', 'h', now() - interval '20 days' + g * interval '1 second'
    FROM generate_series(1, ${HISTORY}) g;
  INSERT INTO deliveries (tenant_id, event_seq, endpoint_id, state, attempts, created_at, completed_at)
    SELECT e.tenant_id, e.seq, 'ep' || (e.seq % ${ENDPOINTS} + 1), 'succeeded', 1, e.created_at, e.created_at FROM events e;
  INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, url, status, created_at)
    SELECT id, 1, created_at, 10, 'u', 200, created_at FROM deliveries;
`);
console.log('seeded history', Date.now() - t0, 'ms');
// The backlog through the real publish path: 50,000 events × 20 endpoints = 1,000,000 deliveries.
const now = new Date();
let n = 0;
for (let b = 0; b < BACKLOG_ROUNDS; b++) {
  const inputs: PublishInput[] = [];
  for (let tenant = 1; tenant <= 100; tenant++)
    for (let k = 0; k < 5; k++) {
      n++;
      inputs.push({
        tenantId: 't' + tenant,
        id: 'b' + n,
        type: 'x.y',
        payloadJson: '{"b":1}',
        channels: [],
        orderingKey: 'k' + (n % 50),
        idempotencyKey: null,
        requestHash: 'h',
        source: 'api',
        createdAt: now,
      });
    }
  await db.tx((q) => publishEvents(q, inputs));
}
await db.exec('ANALYZE');
const counts = await db.query(`SELECT state, count(*)::int FROM delivery_status GROUP BY state`);
console.log('seeded', Date.now() - t0, 'ms', JSON.stringify(counts));

/** Runs each statement twice: under EXPLAIN ANALYZE (rolled back), then for real. */
function explaining(q: Queryable, label: string, out: string[]): Queryable {
  let i = 0;
  return {
    async query<T extends object = Row>(sql: Sql, params?: unknown[]): Promise<T[]> {
      i += 1;
      await q.query('SAVEPOINT ex');
      const plan = await q.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sqlText(sql)}`,
        params,
      );
      await q.query('ROLLBACK TO SAVEPOINT ex');
      out.push(`--- ${label} statement ${i}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
      return q.query<T>(sql, params);
    },
    exec: (s: string) => q.exec(s),
  };
}

const out: string[] = [];
const lease = new Date(Date.now() + 60_000);
const claimOpts = {
  now: new Date(Date.now() + 1000),
  leaseUntil: lease,
  workerId: 'w',
  limit: 200,
  perEndpoint: 50,
  endpoints: 100,
};
const claimed = await db.tx((q) => claimDeliveries(explaining(q, 'claim', out), claimOpts));
console.log('claimed', claimed.length);
const results: AttemptResult[] = claimed.map((d) => ({
  deliveryId: d.id,
  endpointId: d.endpoint_id,
  attempt: 1,
  startedAt: new Date(),
  durationMs: 5,
  url: d.url,
  status: 200,
  requestHeaders: {},
  responseHeaders: {},
  responseBody: 'ok',
  error: null,
  next: 'succeeded',
  retryAt: null,
  gone: false,
}));
await db.tx((q) => recordAttempts(explaining(q, 'ack', out), results, 'w', new Date()));
const pub = Array.from({ length: 100 }, (_, i) => ({
  tenantId: 't' + (i + 1),
  id: 'p' + i,
  type: 'x.y',
  payloadJson: '{}',
  channels: [],
  orderingKey: 'k1',
  idempotencyKey: null,
  requestHash: 'h',
  source: 'api',
  createdAt: new Date(),
}));
await db.tx((q) => publishEvents(explaining(q, 'publish', out), pub));
console.log(out.join('\n\n'));

// Timing: 200 claims + acks back to back (no EXPLAIN).
const times: number[] = [];
for (let i = 0; i < 200; i++) {
  const s = performance.now();
  const c = await db.tx((q) =>
    claimDeliveries(q, {
      ...claimOpts,
      now: new Date(Date.now() + 1000),
      leaseUntil: new Date(Date.now() + 60_000),
    }),
  );
  times.push(performance.now() - s);
  await db.tx((q) =>
    recordAttempts(
      q,
      c.map((d) => ({ ...results[0]!, deliveryId: d.id, endpointId: d.endpoint_id })),
      'w',
      new Date(),
    ),
  );
}
times.sort((a, b) => a - b);
console.log(
  'claim ms p50',
  times[100]!.toFixed(2),
  'p95',
  times[190]!.toFixed(2),
  'max',
  times[199]!.toFixed(2),
);
await db.close();
