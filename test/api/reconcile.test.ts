// Reconciliation with a real receiver that loses 3 of 100 deliveries: two it answers 200 and
// then discards (its own bug), one it refuses until Tidings gives up. Reconciling with the ids
// it kept names exactly those 3; the digest says no first; paging walks the same answer a
// chunk at a time; requeue sends them again and a second reconcile finds nothing missing.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Reconciliation {
  owed: number;
  received: number | null;
  missing: string[];
  unexpected: string[];
  match: boolean | null;
  requeued: number | null;
  checked_through: string | null;
  next_cursor: string | null;
}

const sha = (ids: string[]) =>
  createHash('sha256')
    .update([...ids].sort().join('\n'))
    .digest('hex');

describe.each(engines())('reconcile (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let vip: Receiver;
  /** Event ids the receiver kept, by the payload's n. */
  const kept = new Map<number, string>();
  let accepting = false;
  const ids: string[] = [];
  let since = '';
  let until = '';
  let vipEndpoint = '';
  let mainEndpoint = '';
  let token = '';

  const reconcile = (body: Record<string, unknown>, tok?: string) =>
    app.api<Reconciliation>('POST', '/v1/tenants/acme/reconcile', { since, until, ...body }, { token: tok });

  beforeAll(async () => {
    rx = await startReceiver((req) => {
      const n = (JSON.parse(req.body) as { data: { n: number } }).data.n;
      if (accepting) {
        kept.set(n, String(req.headers['webhook-id']));
        return { status: 200 };
      }
      // 10 and 50 are acknowledged and then lost; 90 is refused until Tidings gives up.
      if (n === 90) return { status: 500 };
      if (n !== 10 && n !== 50) kept.set(n, String(req.headers['webhook-id']));
      return { status: 200 };
    });
    vip = await startReceiver();
    app = await startApp(engine);
    await app.api('PUT', '/v1/event-types/invoice.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    await app.api('POST', '/v1/tenants', { id: 'other', name: 'Other' });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', {})).body.token;
    const ep = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/all` });
    expect(ep.status).toBe(201);
    mainEndpoint = ep.body.id;
    const v = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${vip.url}/vip`,
      channels: ['vip'],
    });
    vipEndpoint = v.body.id;
    since = new Date(Date.now() - 1000).toISOString();
    const events = Array.from({ length: 100 }, (_, i) => ({
      type: 'invoice.paid',
      payload: { n: i + 1 },
      ...((i + 1) % 10 === 0 ? { channels: ['vip'] } : {}),
    }));
    const pub = await app.api<{ events: { id: string }[] }>('POST', '/v1/tenants/acme/events/batch', {
      events,
    });
    expect(pub.status).toBe(202);
    ids.push(...pub.body.events.map((e) => e.id));
    // An event of another tenant, which acme's receiver must never be told it was owed.
    await app.api('POST', '/v1/tenants/other/events', { type: 'invoice.paid', payload: { n: 0 } });
    until = new Date(Date.now() + 1000).toISOString();
    // Everything settled: 97 kept, 90 given up after its retries.
    await vi.waitFor(() => expect(kept.size).toBe(97), { timeout: 30_000, interval: 50 });
    await vi.waitFor(
      async () => {
        const e = await app.api<{ deliveries: { endpoint_id: string; state: string }[] }>(
          'GET',
          `/v1/tenants/acme/events/${ids[89]}`,
        );
        expect(e.body.deliveries.find((d) => d.endpoint_id !== vipEndpoint)?.state).toBe('failed');
      },
      { timeout: 30_000, interval: 100 },
    );
    await vi.waitFor(() => expect(vip.requests).toHaveLength(10), { timeout: 30_000, interval: 50 });
  }, 90_000);
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
    await vip?.close();
  });

  const lost = () => [ids[9]!, ids[49]!, ids[89]!].sort();

  it('names exactly the 3 ids the receiver never kept, and what it listed that was not owed', async () => {
    const res = await reconcile({ received: [...kept.values(), 'msg_not_ours'] }, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      owed: 100,
      received: 98,
      missing: lost(),
      unexpected: ['msg_not_ours'],
      match: null,
      requeued: null,
      checked_through: null,
      next_cursor: null,
    });
  });

  it('answers yes or no to a digest of the sorted ids first', async () => {
    const no = await reconcile({ received_sha256: sha([...kept.values()]) });
    expect(no.body).toMatchObject({ owed: 100, match: false, missing: [], received: null });
    const yes = await reconcile({ received_sha256: sha(ids).toUpperCase() });
    expect(yes.body).toMatchObject({ owed: 100, match: true, missing: [] });
    // With the list as well: a no goes on to name what is missing.
    const both = await reconcile({ received_sha256: sha([...kept.values()]), received: [...kept.values()] });
    expect(both.body).toMatchObject({ match: false, missing: lost(), owed: 100 });
  });

  it('pages a large window: the receiver sends its sorted list a chunk at a time', async () => {
    let mine = [...kept.values(), 'msg_not_ours'].sort();
    let cursor: string | undefined;
    const missing: string[] = [];
    const unexpected: string[] = [];
    let owed = 0;
    let calls = 0;
    for (;;) {
      const chunk = mine.slice(0, 30);
      const res = await reconcile({ received: chunk, more: mine.length > 30, limit: 25, cursor });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      calls += 1;
      missing.push(...res.body.missing);
      unexpected.push(...res.body.unexpected);
      owed += res.body.owed;
      const through = res.body.checked_through;
      if (res.body.next_cursor === null) break;
      expect(through).not.toBeNull();
      mine = mine.filter((id) => id > through!);
      cursor = res.body.next_cursor;
    }
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(owed).toBe(100);
    expect(missing).toEqual(lost());
    expect(unexpected).toEqual(['msg_not_ours']);
  });

  it('counts only one endpoint when asked', async () => {
    const res = await reconcile({ endpoint_id: vipEndpoint, received: [] });
    expect(res.body.owed).toBe(10);
    expect(res.body.missing).toEqual(ids.filter((_, i) => (i + 1) % 10 === 0).sort());
  });

  it('refuses a window that ends before it starts, a foreign cursor and an unknown endpoint', async () => {
    const backwards = await reconcile({ since: until, until: since });
    expect(backwards.status).toBe(422);
    expect((backwards.body as unknown as { error: { code: string } }).error.code).toBe('invalid_window');
    const page = await reconcile({ received: [], limit: 10 });
    const moved = await reconcile({
      received: [],
      limit: 10,
      cursor: page.body.next_cursor,
      endpoint_id: vipEndpoint,
    });
    expect(moved.status).toBe(400);
    const unknown = await reconcile({ endpoint_id: 'ep_nope' });
    expect(unknown.status).toBe(404);
    // Another tenant's token cannot reconcile acme.
    const stranger = (await app.api<{ token: string }>('POST', '/v1/tenants/other/tokens', {})).body.token;
    expect((await reconcile({}, stranger)).status).toBe(404);
  });

  it('requeues the missing ones: one new attempt each, and then nothing is missing', async () => {
    accepting = true;
    const res = await reconcile(
      { endpoint_id: mainEndpoint, received: [...kept.values()], requeue: true },
      token,
    );
    expect(res.body).toMatchObject({ owed: 100, missing: lost(), requeued: 3 });
    await vi.waitFor(() => expect(kept.size).toBe(100), { timeout: 30_000, interval: 50 });
    expect([...kept.values()].sort()).toEqual([...ids].sort());
    const again = await reconcile({ received: [...kept.values()] }, token);
    expect(again.body).toMatchObject({ owed: 100, received: 100, missing: [], unexpected: [] });
    // Each requeued delivery got exactly one new attempt, recorded.
    const e = await app.api<{ deliveries: { id: string; endpoint_id: string }[] }>(
      'GET',
      `/v1/tenants/acme/events/${ids[9]}`,
    );
    const d = e.body.deliveries.find((x) => x.endpoint_id !== vipEndpoint)!;
    const detail = await app.api<{ attempts: number; state: string }>(
      'GET',
      `/v1/tenants/acme/deliveries/${d.id}`,
    );
    expect(detail.body).toMatchObject({ attempts: 2, state: 'succeeded' });
    // The vip endpoint was not asked for: its deliveries were left alone.
    expect(vip.requests).toHaveLength(10);
    // Audited like any other change.
    await vi.waitFor(async () => {
      const audit = await app.api<{ data: { actor_tenant_id: string | null; status: number }[] }>(
        'GET',
        `/v1/audit-log?tenant=acme&action=${encodeURIComponent('POST /v1/tenants/:tid/reconcile')}`,
      );
      expect(audit.body.data.some((a) => a.actor_tenant_id === 'acme' && a.status === 200)).toBe(true);
    });
  });
});
