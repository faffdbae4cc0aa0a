// Retention removes old history in small batches and never what is still owed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { runRetention } from '../../src/delivery/retention.js';
import { createLogger } from '../../src/log.js';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit } from '../helpers/kit.js';

const DAY = 86_400_000;

describe.each(engines())('retention (%s)', (engine) => {
  let k: Kit;
  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('t');
    await k.endpoint('t', 'ep_plain', { max_in_flight: 1000 });
    await k.endpoint('t', 'ep_ordered', { ordering: 'key', max_in_flight: 1000 });
  });
  afterAll(() => k?.drop());

  const count = async (table: string) =>
    (await k.q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

  it('removes events, deliveries and attempts older than the retention, keeping what is owed', async () => {
    // 40 days ago: 120 events, all delivered, except a few left owed on purpose.
    await k.publish('t', 120, { when: at(0), orderingKey: (i) => `loan-${i % 3}` });
    const all = await k.claim(at(1), { limit: 1000, perEndpoint: 1000 });
    // ep_plain: every delivery claimed; ep_ordered: the three heads.
    expect(all.length).toBe(123);
    const stuckPlain = all.find((d) => d.endpoint_id === 'ep_plain')!;
    const failedHead = all.find((d) => d.endpoint_id === 'ep_ordered' && d.ordering_key === 'loan-0')!;
    await k.ack(
      all.filter((d) => d !== stuckPlain),
      at(2),
      (d) => (d === failedHead ? { ok: false } : { ok: true }),
    );
    // loan-1 and loan-2 go on to their second events; loan-0 stays blocked by its failed head.
    const next = await k.claim(at(3), { limit: 1000, perEndpoint: 1000 });
    await k.ack(next, at(4), () => ({ ok: true }));
    // Yesterday: 5 more events, delivered.
    await k.publish('t', 5, { when: at(39 * DAY) });
    await k.ack(await k.claim(at(39 * DAY + 1), { limit: 1000 }), at(39 * DAY + 2), () => ({ ok: true }));

    const eventsBefore = await count('events');
    const clock = new ManualClock(at(40 * DAY));
    const r = await runRetention({
      db: k.t.db,
      clock,
      log: createLogger('silent'),
      retentionDays: 30,
      batch: 7,
      pauseMs: 0,
    });
    expect(r.batches).toBeGreaterThan(10); // small batches
    // Kept: the event still in flight on ep_plain, every event of loan-0 (its failed head and
    // the ones waiting behind it), the second-to-last of loan-1/2 still pending, and the 5 recent ones.
    const kept = await k.q.query<{ id: string }>('SELECT id FROM events ORDER BY seq');
    const owed = await k.q.query<{ n: number }>(
      `SELECT count(DISTINCT event_seq)::int AS n FROM deliveries
       WHERE state IN ('pending', 'delivering') OR (state = 'failed' AND sequence IS NOT NULL)`,
    );
    expect(kept.length).toBe(owed[0]!.n + 5 - (await recentOwed()));
    expect(r.events).toBe(eventsBefore - kept.length);
    const keptIds = new Set(kept.map((e) => e.id));
    expect(keptIds.has(stuckPlain.event_id)).toBe(true);
    expect(keptIds.has(failedHead.event_id)).toBe(true);
    const loan0 = await k.q.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = 'ep_ordered' AND ordering_key = 'loan-0'",
    );
    expect(loan0[0]!.n).toBe(40);
    expect(r.events).toBeGreaterThan(0);
    // Attempts of removed events went with them; the kept ones' old attempts are removed too.
    const oldAttempts = await k.q.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM attempts WHERE created_at < $1',
      [at(10 * DAY)],
    );
    expect(oldAttempts[0]!.n).toBe(0);
    const orphans = await k.q.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = d.event_seq)',
    );
    expect(orphans[0]!.n).toBe(0);
    // A second pass finds nothing more.
    const again = await runRetention({
      db: k.t.db,
      clock,
      log: createLogger('silent'),
      retentionDays: 30,
      pauseMs: 0,
    });
    expect(again.events + again.attempts).toBe(0);
    // Retention 0 keeps everything.
    const off = await runRetention({ db: k.t.db, clock, log: createLogger('silent'), retentionDays: 0 });
    expect(off.batches).toBe(0);
  });

  it('removes hourly endpoint statistics older than their own retention, oldest first', async () => {
    // 60 hours of stats for each endpoint, the last one 1 hour before "now" (day 500).
    const now = at(500 * DAY);
    for (const ep of ['ep_plain', 'ep_ordered']) {
      await k.q.query(
        `INSERT INTO endpoint_stats_hourly (endpoint_id, hour, attempts, latency_hist)
         SELECT $1, $2::timestamptz - g * interval '1 hour', 1, array_fill(0, ARRAY[28])
         FROM generate_series(1, 60) g`,
        [ep, now],
      );
    }
    const clock = new ManualClock(now);
    const log = createLogger('silent');
    // Kept 2 days: hours 1..47 before now stay (48 is exactly the cutoff: kept), 49..60 go.
    const r = await runRetention({
      db: k.t.db,
      clock,
      log,
      retentionDays: 0,
      statsRetentionDays: 2,
      batch: 5,
      pauseMs: 0,
    });
    expect(r.stats).toBe(2 * 12);
    expect(r.batches).toBeGreaterThanOrEqual(5); // in batches of 5
    const left = await k.q.query<{ n: number; oldest: Date }>(
      'SELECT count(*)::int AS n, min(hour) AS oldest FROM endpoint_stats_hourly',
    );
    expect(left[0]!.n).toBe(2 * 48);
    expect(new Date(left[0]!.oldest).getTime()).toBe(now.getTime() - 2 * DAY);
    // Absent or 0: kept forever.
    const off = await runRetention({
      db: k.t.db,
      clock: new ManualClock(at(900 * DAY)),
      log,
      retentionDays: 0,
    });
    expect(off.stats).toBe(0);
    expect(await count('endpoint_stats_hourly')).toBe(2 * 48);
    await k.q.query('DELETE FROM endpoint_stats_hourly');
  });

  async function recentOwed(): Promise<number> {
    const rows = await k.q.query<{ n: number }>(
      `SELECT count(DISTINCT d.event_seq)::int AS n FROM deliveries d JOIN events e ON e.seq = d.event_seq
       WHERE e.created_at >= $1 AND d.state IN ('pending', 'delivering')`,
      [at(30 * DAY)],
    );
    return rows[0]!.n;
  }
});
