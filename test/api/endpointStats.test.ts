// Endpoint statistics (issue 15) against a count made directly from the attempts table, with
// a known mix of outcomes on a real receiver: succeeded at once, slow, failed to the end
// (4 attempts), and failed once then succeeded. Rolled up in two runs (and a third that must
// add nothing); the time the endpoint spent disabled is sampled between two runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsJson } from '../../src/portal/pages/endpointStats.js';
import { LATENCY_BOUNDS_MS, latencyBucket } from '../../src/store/endpointStats.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

type Stats = StatsJson;

/** Nearest rank over the raw durations, reported as the rollup does: its bucket's upper bound. */
function expectedPercentile(durations: number[], p: number): number {
  const sorted = [...durations].sort((a, b) => a - b);
  const v = sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
  const max = sorted[sorted.length - 1]!;
  return Math.min(LATENCY_BOUNDS_MS[latencyBucket(v)] ?? max, max);
}

for (const engine of engines()) {
  describe(`endpoint stats (${engine})`, () => {
    let app: TestApp;
    let rx: Receiver;
    let eid = '';
    const seen = new Set<string>();

    const publish = async (kinds: string[]) => {
      for (const kind of kinds) {
        const r = await app.api('POST', '/v1/tenants/acme/events', { type: 'loan.paid', payload: { kind } });
        expect(r.status).toBe(202);
      }
    };
    const settled = () =>
      until(
        async () => {
          const r = await app.api<{ data: { state: string }[] }>(
            'GET',
            `/v1/tenants/acme/endpoints/${eid}/deliveries?limit=250`,
          );
          return r.body.data.every((d) => d.state === 'succeeded' || d.state === 'failed') && r.body.data;
        },
        'every delivery final',
        60_000,
      );
    const rollUp = () => app.tidings.worker!.rollUpStats(new Date());
    const stats = async (q: string) => {
      const r = await app.api<Stats>('GET', `/v1/tenants/acme/endpoints/${eid}/stats?${q}`);
      expect(r.status).toBe(200);
      return r.body;
    };
    const hourAgo = () => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
    const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

    beforeAll(async () => {
      rx = await startReceiver((req) => {
        const kind = (JSON.parse(req.body) as { data: { kind: string } }).data.kind;
        const id = String(req.headers['webhook-id']);
        if (kind === 'fail') return { status: 500 };
        if (kind === 'flaky' && !seen.has(id)) {
          seen.add(id);
          return { status: 503 };
        }
        return kind === 'slow' ? { status: 200, delayMs: 120 } : { status: 200 };
      });
      app = await startApp(engine);
      await app.api('PUT', '/v1/event-types/loan.paid', { description: 'A loan payment' });
      await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Lending' });
      const ep = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
        url: `${rx.url}/hook`,
      });
      eid = ep.body.id;
    });
    afterAll(async () => {
      await app?.stop();
      await rx?.close();
    });

    it('matches a count made directly from the attempts', async () => {
      await publish(['ok', 'ok', 'fail', 'ok', 'flaky', 'slow', 'ok', 'ok']);
      await settled();
      await rollUp();
      await publish(['ok', 'flaky', 'fail', 'ok', 'slow', 'ok', 'fail', 'flaky', 'ok', 'slow', 'ok']);
      await settled();
      await rollUp();
      await rollUp();

      const s = await stats(`since=${hourAgo()}&until=${inAnHour()}&bucket=hour`);
      // The known mix: 10 ok, 3 slow (1 attempt each), 3 fail (4 attempts, given up), 3 flaky (2 attempts).
      expect(s.total).toMatchObject({
        attempts: 10 + 3 + 12 + 6,
        attempts_succeeded: 16,
        deliveries: { succeeded: 16, failed: 3 },
        first_attempts: 19,
        disabled_seconds: 0,
      });
      expect(s.total.first_attempt_success_rate).toBeCloseTo(13 / 19, 10);

      // Bucket by bucket, against the attempts table itself.
      const direct = await app.testDb.db.query<{
        hour: Date;
        n: number;
        ok: number;
        firsts: number;
        firsts_ok: number;
        gave_up: number;
      }>(
        `SELECT date_trunc('hour', a.created_at, 'UTC') AS hour, count(*)::int AS n,
                count(*) FILTER (WHERE a.status BETWEEN 200 AND 299)::int AS ok,
                count(*) FILTER (WHERE a.attempt = 1)::int AS firsts,
                count(*) FILTER (WHERE a.attempt = 1 AND a.status BETWEEN 200 AND 299)::int AS firsts_ok,
                count(*) FILTER (WHERE d.state = 'failed' AND a.attempt = d.attempts)::int AS gave_up
         FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE d.endpoint_id = $1 GROUP BY 1`,
        [eid],
      );
      const byHour = new Map(direct.map((r) => [new Date(r.hour).toISOString(), r]));
      let counted = 0;
      for (const b of s.buckets) {
        const d = byHour.get(b.start);
        expect(b.attempts).toBe(d?.n ?? 0);
        expect(b.attempts_succeeded).toBe(d?.ok ?? 0);
        expect(b.first_attempts).toBe(d?.firsts ?? 0);
        expect(b.deliveries.failed).toBe(d?.gave_up ?? 0);
        if (d) expect(b.first_attempt_success_rate).toBeCloseTo(d.firsts_ok / d.firsts, 10);
        counted += b.attempts;
      }
      expect(counted).toBe(31);

      const durations = (
        await app.testDb.db.query<{ duration_ms: number }>(
          `SELECT a.duration_ms FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
          [eid],
        )
      ).map((r) => r.duration_ms);
      expect(s.total.latency_ms).toEqual({
        p50: expectedPercentile(durations, 0.5),
        p95: expectedPercentile(durations, 0.95),
        p99: expectedPercentile(durations, 0.99),
        max: Math.max(...durations),
      });
      // The slow ones (120 ms) are the tail.
      expect(s.total.latency_ms.p99).toBeGreaterThanOrEqual(100);

      // A day is the sum of its hours.
      const day = await stats(`since=${hourAgo()}&until=${inAnHour()}&bucket=day`);
      expect(day.total).toEqual(s.total);
      expect(day.buckets.reduce((n, b) => n + b.attempts, 0)).toBe(31);
      expect(s.through).not.toBeNull();
    }, 120_000);

    it('counts the time the endpoint was disabled', async () => {
      // A run while it is still enabled: the time before it is not counted as disabled.
      const t0 = Date.now();
      await rollUp();
      await app.api('PATCH', `/v1/tenants/acme/endpoints/${eid}`, { disabled: true });
      await rollUp();
      await new Promise((r) => setTimeout(r, 300));
      await rollUp();
      const elapsed = Date.now() - t0;
      const s = await stats(`since=${hourAgo()}&until=${inAnHour()}`);
      expect(s.total.disabled_seconds).toBeGreaterThanOrEqual(0.3);
      expect(s.total.disabled_seconds).toBeLessThanOrEqual(elapsed / 1000);
      expect(s.total.attempts).toBe(31);
      await app.api('PATCH', `/v1/tenants/acme/endpoints/${eid}`, { disabled: false });
    });

    it('refuses ranges it cannot answer', async () => {
      const long = await app.api<{ error: { code: string } }>(
        'GET',
        `/v1/tenants/acme/endpoints/${eid}/stats?since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z&bucket=hour`,
      );
      expect(long.status).toBe(422);
      expect(long.body.error.code).toBe('range_too_long');
      const backwards = await app.api<{ error: { code: string } }>(
        'GET',
        `/v1/tenants/acme/endpoints/${eid}/stats?since=2026-03-01T00:00:00Z&until=2026-01-01T00:00:00Z`,
      );
      expect(backwards.body.error.code).toBe('invalid_range');
      const missing = await app.api('GET', '/v1/tenants/acme/endpoints/ep_nope/stats');
      expect(missing.status).toBe(404);
    });
  });
}
