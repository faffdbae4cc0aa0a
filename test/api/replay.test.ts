// Bulk replay (issue 15): 500 given-up deliveries across two endpoints. A dry run counts them
// exactly and changes nothing; the replay queues exactly those and they are delivered once
// each to a real receiver, while a third endpoint's new events keep arriving meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

const PER_ENDPOINT = 250;

for (const engine of engines()) {
  describe(`bulk replay (${engine})`, () => {
    let app: TestApp;
    let failing: Receiver;
    let other: Receiver;
    /** The failing endpoints answer 410 (given up at once, endpoint disabled) until this is set. */
    let healthy = false;
    const ids: { a: string; b: string; c: string } = { a: '', b: '', c: '' };
    let windowStart = '';
    const inWindow: string[] = [];

    const deliveries = async (eid: string, state: string) => {
      const r = await app.api<{ data: { id: string; event_id: string }[] }>(
        'GET',
        `/v1/tenants/acme/endpoints/${eid}/deliveries?state=${state}&limit=250`,
      );
      return r.body.data;
    };
    /** Until no delivery of the endpoint is pending: each round re-enables it after a 410 disabled it. */
    const failAll = async (eid: string) => {
      await until(
        async () => {
          if (
            (await deliveries(eid, 'pending')).length === 0 &&
            (await deliveries(eid, 'delivering')).length === 0
          )
            return true;
          const ep = await app.api<{ disabled: boolean }>('GET', `/v1/tenants/acme/endpoints/${eid}`);
          if (ep.body.disabled)
            await app.api('PATCH', `/v1/tenants/acme/endpoints/${eid}`, { disabled: false });
          return false;
        },
        `every delivery of ${eid} given up`,
        120_000,
      );
    };
    const replay = (body: Record<string, unknown>) =>
      app.api<{ matched: number; queued: number; dry_run: boolean }>(
        'POST',
        '/v1/tenants/acme/deliveries/replay',
        {
          until: new Date(Date.now() + 60_000).toISOString(),
          ...body,
        },
      );

    beforeAll(async () => {
      failing = await startReceiver(() => (healthy ? { status: 200, delayMs: 40 } : { status: 410 }));
      other = await startReceiver(() => ({ status: 200 }));
      app = await startApp(engine, {
        TIDINGS_WORKER_CONCURRENCY: '300',
        TIDINGS_CLAIM_PER_ENDPOINT: '250',
        TIDINGS_CLAIM_BATCH: '500',
      });
      await app.api('PUT', '/v1/event-types/loan.paid', {
        description: 'A loan payment',
        default_enabled: false,
      });
      await app.api('PUT', '/v1/event-types/card.settled', {
        description: 'A card settlement',
        default_enabled: false,
      });
      await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Lending' });
      for (const k of ['a', 'b'] as const) {
        const ep = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
          url: `${failing.url}/${k}`,
          event_types: ['loan.paid'],
          max_in_flight: 250,
        });
        ids[k] = ep.body.id;
      }
      const c = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
        url: `${other.url}/c`,
        event_types: ['card.settled'],
      });
      ids.c = c.body.id;
      // Ten failed deliveries per endpoint before the window: a replay of the window leaves them.
      const early = await app.api('POST', '/v1/tenants/acme/events/batch', {
        events: Array.from({ length: 10 }, (_, i) => ({ type: 'loan.paid', payload: { early: i } })),
      });
      expect(early.status).toBe(202);
      await failAll(ids.a);
      await failAll(ids.b);
      await new Promise((r) => setTimeout(r, 20));
      windowStart = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 20));
      const batch = await app.api<{ events: { id: string }[] }>('POST', '/v1/tenants/acme/events/batch', {
        events: Array.from({ length: PER_ENDPOINT }, (_, i) => ({ type: 'loan.paid', payload: { n: i } })),
      });
      expect(batch.status).toBe(202);
      inWindow.push(...batch.body.events.map((e) => e.id));
      await failAll(ids.a);
      await failAll(ids.b);
    }, 240_000);
    afterAll(async () => {
      await app?.stop();
      await failing?.close();
      await other?.close();
    });

    it('counts exactly on a dry run, and queues nothing', async () => {
      // Sends already under way when the last delivery was recorded as given up may still land:
      // count from a quiet receiver (nothing new for half a second).
      let seen = -1;
      await until(
        async () => {
          const now = failing.requests.length;
          if (now === seen) return true;
          seen = now;
          await new Promise((r) => setTimeout(r, 500));
          return false;
        },
        'a quiet receiver',
        30_000,
      );
      const before = failing.requests.length;
      const all = await replay({ since: windowStart, dry_run: true });
      expect(all.status).toBe(200);
      expect(all.body).toEqual({ matched: 2 * PER_ENDPOINT, queued: 0, dry_run: true });
      expect((await replay({ since: '2000-01-01T00:00:00Z', dry_run: true })).body.matched).toBe(
        2 * PER_ENDPOINT + 20,
      );
      expect((await replay({ since: windowStart, endpoint_id: ids.a, dry_run: true })).body.matched).toBe(
        PER_ENDPOINT,
      );
      expect((await replay({ since: windowStart, type: 'loan.*', dry_run: true })).body.matched).toBe(500);
      expect((await replay({ since: windowStart, type: ['card.settled'], dry_run: true })).body.matched).toBe(
        0,
      );
      expect((await replay({ since: windowStart, endpoint_id: ids.c, dry_run: true })).body.matched).toBe(0);
      expect((await deliveries(ids.a, 'failed')).length).toBe(250);
      expect(failing.requests.length).toBe(before);
    });

    it('refuses a bad window or an unknown endpoint', async () => {
      const t = new Date().toISOString();
      const empty = await app.api<{ error: { code: string } }>('POST', '/v1/tenants/acme/deliveries/replay', {
        since: t,
        until: t,
      });
      expect(empty.status).toBe(422);
      expect(empty.body.error.code).toBe('invalid_range');
      const none = await replay({ since: windowStart, endpoint_id: 'ep_nope' });
      expect(none.status).toBe(404);
      const state = await replay({ since: windowStart, state: 'succeeded' });
      expect(state.status).toBeGreaterThanOrEqual(400);
      expect(state.status).toBeLessThan(500);
    });

    it('queues exactly those and delivers each once, while another endpoint keeps flowing', async () => {
      healthy = true;
      for (const eid of [ids.a, ids.b]) {
        // Slow the replayed endpoints down so the replay takes a while.
        const r = await app.api('PATCH', `/v1/tenants/acme/endpoints/${eid}`, {
          disabled: false,
          max_in_flight: 2,
        });
        expect(r.status).toBe(200);
      }
      const before = failing.requests.length;
      const r = await replay({ since: windowStart });
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ matched: 500, queued: 500, dry_run: false });
      // The other endpoint's traffic while the replay is being delivered.
      const published: string[] = [];
      for (let i = 0; i < 10; i++) {
        const e = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
          type: 'card.settled',
          payload: { i },
        });
        published.push(e.body.id);
      }
      await other.waitFor(10, 60_000);
      const replayedSoFar = failing.requests.length - before;
      await failing.waitFor(before + 500, 120_000);
      // All ten went while the replay was still on its way: they did not wait behind it.
      expect(replayedSoFar).toBeLessThan(500);
      expect(other.requests.map((q) => q.headers['webhook-id']).sort()).toEqual(published.sort());

      const got = failing.requests.slice(before);
      const pairs = got.map((q) => `${q.path} ${q.headers['webhook-id']}`);
      expect(new Set(pairs).size).toBe(500);
      const expected = inWindow.flatMap((id) => [`/a ${id}`, `/b ${id}`]);
      expect(pairs.sort()).toEqual(expected.sort());
      await until(async () => (await deliveries(ids.a, 'succeeded')).length === 250, 'A succeeded');
      await until(async () => (await deliveries(ids.b, 'succeeded')).length === 250, 'B succeeded');
      // The early ones were outside the window: still failed.
      expect((await deliveries(ids.a, 'failed')).length).toBe(10);
      expect((await replay({ since: windowStart, dry_run: true })).body.matched).toBe(0);
    }, 180_000);

    it('is audited', async () => {
      const log = await app.api<{ data: { action: string; tenant_id: string; status: number }[] }>(
        'GET',
        '/v1/audit-log?action=POST%20%2Fv1%2Ftenants%2F%3Atid%2Fdeliveries%2Freplay',
      );
      const replays = log.body.data.filter((e) => e.action === 'POST /v1/tenants/:tid/deliveries/replay');
      expect(replays.length).toBeGreaterThan(0);
      expect(replays.some((e) => e.status === 202 && e.tenant_id === 'acme')).toBe(true);
    });
  });
}
