// Lists that find things (issue 15): events by several types, by prefix, by channel and by
// time (the filters that existed had no test), a tenant's deliveries and the attempts of a
// tenant or an endpoint by state, by status (410, 5xx), by type; every list walked page by
// page. Real deliveries to a real receiver: one endpoint succeeds, one answers 500 to one
// type until it gives up, one answers 410 Gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

for (const engine of engines()) {
  describe(`filtered lists (${engine})`, () => {
    let app: TestApp;
    let rx: Receiver;
    const ep: Record<'e1' | 'e2' | 'e3', string> = { e1: '', e2: '', e3: '' };
    const ev: string[] = [];
    let middle = '';

    /** Every page of a list, following the cursor, `limit` rows at a time. */
    async function all<T>(path: string, limit = 2): Promise<T[]> {
      const out: T[] = [];
      let cursor: string | null = null;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const r: { status: number; body: Page<T> } = await app.api<Page<T>>(
          'GET',
          `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(r.status).toBe(200);
        out.push(...r.body.data);
        cursor = r.body.next_cursor;
      } while (cursor);
      return out;
    }
    const eventIds = async (q: string) =>
      (await all<{ id: string }>(`/v1/tenants/acme/events?${q}`)).map((e) => e.id);

    beforeAll(async () => {
      rx = await startReceiver((req) => {
        if (req.path === '/e3') return { status: 410 };
        const type = (JSON.parse(req.body) as { type: string }).type;
        if (req.path === '/e2' && type === 'bill_payments.failed') return { status: 500 };
        return { status: 200 };
      });
      app = await startApp(engine);
      for (const t of ['bill_payments.paid', 'bill_payments.failed', 'loans.paid']) {
        await app.api('PUT', `/v1/event-types/${t}`, { description: t, default_enabled: true });
      }
      await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
      ep.e1 = (
        await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/e1` })
      ).body.id;
      ep.e2 = (
        await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/e2` })
      ).body.id;
      ep.e3 = (
        await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
          url: `${rx.url}/e3`,
          event_types: ['loans.paid'],
          channels: ['ba:1'],
        })
      ).body.id;
      const events: [string, string[]][] = [
        ['bill_payments.paid', ['ba:1']],
        ['bill_payments.failed', ['ba:2']],
        ['loans.paid', ['ba:1']],
        ['bill_payments.paid', []],
        ['loans.paid', []],
      ];
      for (const [i, [type, channels]] of events.entries()) {
        if (i === 2) {
          await new Promise((r) => setTimeout(r, 20));
          middle = new Date().toISOString();
          await new Promise((r) => setTimeout(r, 20));
        }
        const r = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
          type,
          payload: { i },
          channels,
        });
        expect(r.status).toBe(202);
        ev.push(r.body.id);
      }
      // 5 to e1, 5 to e2 (one given up after 4 attempts), 1 to e3 (410: given up).
      await until(
        async () => {
          const r = await app.api<Page<{ state: string }>>('GET', '/v1/tenants/acme/deliveries?limit=250');
          return (
            r.body.data.length === 11 &&
            r.body.data.every((d) => d.state === 'succeeded' || d.state === 'failed')
          );
        },
        'every delivery final',
        60_000,
      );
    }, 90_000);
    afterAll(async () => {
      await app?.stop();
      await rx?.close();
    });

    it('lists events by type, several types, a prefix, channel, time and delivery success', async () => {
      const [e1, e2, e3, e4, e5] = ev as [string, string, string, string, string];
      expect(await eventIds('type=loans.paid')).toEqual([e5, e3]);
      expect(await eventIds('type=bill_payments.*')).toEqual([e4, e2, e1]);
      expect(await eventIds('type=loans.paid&type=bill_payments.failed')).toEqual([e5, e3, e2]);
      expect(await eventIds('type=loans.*&type=bill_payments.failed')).toEqual([e5, e3, e2]);
      expect(await eventIds('type=*')).toEqual([e5, e4, e3, e2, e1]);
      expect(await eventIds('channel=ba:1')).toEqual([e3, e1]);
      expect(await eventIds(`created_after=${middle}`)).toEqual([e5, e4, e3]);
      expect(await eventIds(`created_before=${middle}`)).toEqual([e2, e1]);
      expect(await eventIds(`type=bill_payments.*&created_after=${middle}`)).toEqual([e4]);
      expect(await eventIds('delivery_success=false')).toEqual([e3, e2]);
      expect(await eventIds('delivery_success=true')).toEqual([e5, e4, e1]);
      expect(await eventIds('type=nothing.*')).toEqual([]);
      const bad = await app.api('GET', '/v1/tenants/acme/events?type=a*b');
      expect(bad.status).toBe(400);
    });

    it("lists a tenant's deliveries by state, status class, exact status and type, page by page", async () => {
      type D = {
        id: string;
        endpoint_id: string;
        event_id: string;
        state: string;
        last_status: number | null;
      };
      const every = await all<D>('/v1/tenants/acme/deliveries');
      expect(every).toHaveLength(11);
      expect(new Set(every.map((d) => d.id)).size).toBe(11);
      // Newest event first.
      expect(every[0]!.event_id).toBe(ev[4]);
      expect(every[every.length - 1]!.event_id).toBe(ev[0]);
      const failed = await all<D>('/v1/tenants/acme/deliveries?state=failed');
      expect(failed.map((d) => [d.endpoint_id, d.event_id]).sort()).toEqual(
        [
          [ep.e2, ev[1]],
          [ep.e3, ev[2]],
        ].sort(),
      );
      expect((await all<D>('/v1/tenants/acme/deliveries?status=5xx')).map((d) => d.endpoint_id)).toEqual([
        ep.e2,
      ]);
      expect((await all<D>('/v1/tenants/acme/deliveries?status=410')).map((d) => d.endpoint_id)).toEqual([
        ep.e3,
      ]);
      expect(await all<D>('/v1/tenants/acme/deliveries?status=2xx')).toHaveLength(9);
      expect(await all<D>('/v1/tenants/acme/deliveries?status=404')).toHaveLength(0);
      expect(await all<D>('/v1/tenants/acme/deliveries?type=bill_payments.*')).toHaveLength(6);
      expect(await all<D>('/v1/tenants/acme/deliveries?type=loans.paid&state=succeeded')).toHaveLength(4);
      expect(await all<D>(`/v1/tenants/acme/deliveries?created_after=${middle}`)).toHaveLength(7);
      // One endpoint's log takes the status filter too.
      expect(await all<D>(`/v1/tenants/acme/endpoints/${ep.e2}/deliveries?status=5xx`)).toHaveLength(1);
      expect(await all<D>(`/v1/tenants/acme/endpoints/${ep.e2}/deliveries?status=2xx`)).toHaveLength(4);
      const bad = await app.api('GET', '/v1/tenants/acme/deliveries?status=6xx');
      expect(bad.status).toBe(400);
      const cursor = await app.api<{ error: { code: string } }>(
        'GET',
        '/v1/tenants/acme/deliveries?cursor=nope',
      );
      expect(cursor.status).toBe(400);
      expect(cursor.body.error.code).toBe('invalid_cursor');
    });

    it('lists attempts of the tenant and of one endpoint by status, outcome and type', async () => {
      type A = {
        delivery_id: string;
        endpoint_id: string;
        event_type: string;
        attempt: number;
        status: number | null;
      };
      const tenant = await all<A>('/v1/tenants/acme/attempts', 3);
      expect(tenant).toHaveLength(5 + 8 + 1);
      expect(new Set(tenant.map((a) => `${a.delivery_id}/${a.attempt}`)).size).toBe(14);
      const e2 = await all<A>(`/v1/tenants/acme/endpoints/${ep.e2}/attempts`, 3);
      expect(e2).toHaveLength(8);
      expect(e2.every((a) => a.endpoint_id === ep.e2)).toBe(true);
      const fives = await all<A>('/v1/tenants/acme/attempts?status=5xx');
      expect(fives.map((a) => a.attempt)).toEqual([4, 3, 2, 1]);
      expect(await all<A>(`/v1/tenants/acme/endpoints/${ep.e2}/attempts?status=5xx`)).toHaveLength(4);
      expect(await all<A>(`/v1/tenants/acme/endpoints/${ep.e1}/attempts?status=5xx`)).toHaveLength(0);
      expect((await all<A>('/v1/tenants/acme/attempts?status=410')).map((a) => a.endpoint_id)).toEqual([
        ep.e3,
      ]);
      expect(await all<A>('/v1/tenants/acme/attempts?succeeded=false')).toHaveLength(5);
      expect(await all<A>('/v1/tenants/acme/attempts?succeeded=true')).toHaveLength(9);
      expect(await all<A>('/v1/tenants/acme/attempts?type=loans.*')).toHaveLength(5);
      expect(
        await all<A>(`/v1/tenants/acme/endpoints/${ep.e3}/attempts?created_before=${middle}`),
      ).toHaveLength(0);
      const missing = await app.api('GET', '/v1/tenants/acme/endpoints/ep_nope/attempts');
      expect(missing.status).toBe(404);
    });
  });
}
