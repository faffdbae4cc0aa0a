import { type Queryable, type Row, type Sql, sqlText } from '../src/store/db.js';
import { countReplayable, replayFailedBatch } from '../src/store/deliveries/requeue.js';
import { listAttempts, listTenantDeliveries } from '../src/store/deliveryLists.js';
import { listEndpointDeliveries } from '../src/store/endpointDeliveries.js';
import { rollUpEndpointStats } from '../src/store/endpointStats.js';
import { listEvents } from '../src/store/events.js';
import { migrate } from '../src/store/migrate.js';
import { openScratchStore } from './scratchStore.js';

const BIG = Number(process.env.EVENTS ?? 400_000);

const { db, drop } = await openScratchStore('pg', 'explain', 2);
try {
  await migrate(db);
  const now = new Date();
  await db.exec(`
    INSERT INTO tenants (id, name) VALUES ('big', 'Big'), ('small', 'Small');
    INSERT INTO endpoints (id, tenant_id, url, secret)
      SELECT 'ep_big_' || i, 'big', 'https://example.com/' || i, 'whsec_x' FROM generate_series(0, 19) i;
    INSERT INTO endpoints (id, tenant_id, url, secret)
      SELECT 'ep_small_' || i, 'small', 'https://example.com/s' || i, 'whsec_x' FROM generate_series(0, 1) i;
    INSERT INTO endpoint_state (endpoint_id) SELECT id FROM endpoints;
    -- Types: 60 % bill_payments.paid, 10 % bill_payments.failed, 29 % loans.paid, 1 % account.closed.
    INSERT INTO events (tenant_id, id, type, payload, channels, request_hash, created_at)
      SELECT CASE WHEN i % 81 = 0 THEN 'small' ELSE 'big' END, 'msg_' || i,
             CASE WHEN i % 100 < 60 THEN 'bill_payments.paid' WHEN i % 100 < 70 THEN 'bill_payments.failed'
                  WHEN i % 100 < 99 THEN 'loans.paid' ELSE 'account.closed' END,
             json_build_object('n', i), ARRAY['bank_account:BA-' || (i % 50)], 'h',
             timestamptz '${now.toISOString()}' - (${BIG} - i) * interval '100 milliseconds'
      FROM generate_series(1, ${BIG}) i;
    INSERT INTO deliveries (tenant_id, event_seq, endpoint_id, state, attempts, last_status, created_at, updated_at, completed_at)
      SELECT ev.tenant_id, ev.seq,
             CASE WHEN ev.tenant_id = 'small' THEN 'ep_small_' || k ELSE 'ep_big_' || ((ev.seq + k * 7) % 20) END,
             CASE WHEN ev.seq % 50 = 0 THEN 'failed' WHEN ev.seq % 100 = 1 THEN 'pending' ELSE 'succeeded' END,
             CASE WHEN ev.seq % 50 = 0 THEN 4 ELSE 1 END,
             CASE WHEN ev.seq % 50 = 0 THEN (CASE WHEN ev.seq % 200 = 0 THEN 410 ELSE 500 END)
                  WHEN ev.seq % 100 = 1 THEN 503 ELSE 200 END,
             ev.created_at, ev.created_at, ev.created_at
      FROM events ev CROSS JOIN generate_series(0, 1) k;
    INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, url, status, created_at)
      SELECT d.id, n, d.created_at, 20 + (d.id % 300)::int, 'https://example.com',
             CASE WHEN d.state = 'succeeded' THEN 200 ELSE d.last_status END, d.created_at + n * interval '1 second'
      FROM deliveries d CROSS JOIN LATERAL generate_series(1, d.attempts) n;
    INSERT INTO delivery_queue (delivery_id, endpoint_id, tenant_id, state, due_at, created_at)
      SELECT id, endpoint_id, tenant_id, CASE WHEN state = 'failed' THEN 'failed' ELSE 'pending' END,
             CASE WHEN state = 'pending' THEN created_at END, created_at
      FROM deliveries WHERE state IN ('failed', 'pending');
    ANALYZE;
  `);
  const sizes = await db.query<{ t: string; n: number }>(
    `SELECT 'events' AS t, count(*)::int AS n FROM events UNION ALL SELECT 'deliveries', count(*)::int FROM deliveries
     UNION ALL SELECT 'attempts', count(*)::int FROM attempts UNION ALL SELECT 'delivery_queue', count(*)::int FROM delivery_queue`,
  );
  console.log(sizes.map((s) => `${s.t}: ${s.n}`).join(', '));

  /** Runs the store function's statements under EXPLAIN, printing each plan. */
  const explained = (label: string): Queryable => ({
    async query<T extends object = Row>(sql: Sql, params?: unknown[]): Promise<T[]> {
      const text = sqlText(sql);
      const plan = await db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`,
        params,
      );
      console.log(`\n### ${label}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
      return db.query<T>(text, params);
    },
    exec: (sql: string) => db.exec(sql),
  });

  const month = new Date(now.getTime() - 30 * 86_400_000);
  const hour = new Date(now.getTime() - 3_600_000);
  await listEvents(explained('events, newest first'), 'big', {}, 50);
  await listEvents(explained('events, one type (1 %)'), 'big', { types: ['account.closed'] }, 50);
  await listEvents(
    explained('events, two types'),
    'big',
    { types: ['account.closed', 'bill_payments.failed'] },
    50,
  );
  await listEvents(explained('events, a prefix'), 'big', { types: ['bill_payments.*'] }, 50);
  await listEvents(explained('events, channel'), 'big', { channel: 'bank_account:BA-7' }, 50);
  await listEvents(explained('events, last hour'), 'big', { createdAfter: hour }, 50);
  await listEvents(explained('events, small tenant'), 'small', {}, 50);
  await listTenantDeliveries(explained('tenant deliveries'), 'big', {}, 50);
  await listTenantDeliveries(explained('tenant deliveries, failed'), 'big', { state: 'failed' }, 50);
  await listTenantDeliveries(explained('tenant deliveries, 5xx'), 'big', { status: [500, 599] }, 50);
  await listTenantDeliveries(explained('tenant deliveries, 410'), 'big', { status: [410, 410] }, 50);
  await listEndpointDeliveries(
    explained('endpoint deliveries, 5xx'),
    'big',
    'ep_big_3',
    { status: [500, 599] },
    50,
  );
  await listAttempts(explained('tenant attempts, 5xx'), 'big', { status: [500, 599] }, 50);
  await listAttempts(
    explained('endpoint attempts, 5xx'),
    'big',
    { endpointId: 'ep_big_3', status: [500, 599] },
    50,
  );
  await listAttempts(
    explained('endpoint attempts, failed'),
    'big',
    { endpointId: 'ep_big_3', succeeded: false },
    50,
  );
  await countReplayable(explained('replay dry run, tenant, a month'), {
    tenantId: 'big',
    since: month,
    until: now,
  });
  await countReplayable(explained('replay dry run, one type'), {
    tenantId: 'big',
    since: month,
    until: now,
    types: ['bill_payments.*'],
  });
  await replayFailedBatch(
    explained('replay batch'),
    { tenantId: 'big', endpointId: 'ep_big_7', since: month, until: now },
    null,
    250,
    now,
  );
  const minute = new Date(now.getTime() - 60_000);
  await db.query(`UPDATE endpoint_stats_watermark SET attempts_through = $1`, [minute]);
  await rollUpEndpointStats(explained('stats rollup, a minute of attempts (one run)'), {
    cutoff: now,
    now,
    circuitOpenAfter: 5,
    maxSampleGapMs: 300_000,
    maxWindowMs: 3_600_000,
  });
  await db.query(`UPDATE endpoint_stats_watermark SET attempts_through = $1`, [hour]);
  await rollUpEndpointStats(explained('stats rollup, an hour of attempts (catching up)'), {
    cutoff: now,
    now,
    circuitOpenAfter: 5,
    maxSampleGapMs: 300_000,
    maxWindowMs: 3_600_000,
  });
} finally {
  await drop();
}
