// The export of a window: one line per event with the sha256 of the payload exactly as
// published and, per endpoint, the delivery's final state, attempts and time of success; as
// JSON Lines and as CSV; page boundaries change nothing.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportChunks } from '../../src/api/eventExport.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Line {
  id: string;
  type: string;
  created_at: string;
  channels: string[];
  payload_sha256: string;
  deliveries: { endpoint_id: string; state: string; attempts: number; succeeded_at: string | null }[];
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(engines())('event export (%s)', (engine) => {
  let app: TestApp;
  let ok: Receiver;
  let flaky: Receiver;
  let good = '';
  let bad = '';
  let since = '';
  let until = '';
  const payloads: { id: string; text: string }[] = [];

  const get = (query: string, token?: string) =>
    fetch(`${app.url}/v1/tenants/acme/events/export?${query}`, {
      headers: { authorization: `Bearer ${token ?? 'test-admin-token-0123456789'}` },
    });

  beforeAll(async () => {
    ok = await startReceiver();
    // Refuses the first attempt of everything: each delivery to it succeeds at its second.
    const seen = new Set<string>();
    flaky = await startReceiver((req) => {
      const id = String(req.headers['webhook-id']);
      if (seen.has(id)) return { status: 200 };
      seen.add(id);
      return { status: 500 };
    });
    app = await startApp(engine);
    await app.api('PUT', '/v1/event-types/invoice.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    good = (await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', { url: `${ok.url}/a` })).body
      .id;
    bad = (
      await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
        url: `${flaky.url}/b`,
        channels: ['bank_account:BA-1'],
      })
    ).body.id;
    since = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 7; i++) {
      // The producer's own spacing and key order: the hash is of this text.
      const text = `{ "n": ${i},  "amount": 1.50, "memo": "a, \\"quoted\\" memo" }`;
      const channels = i % 2 === 0 ? ', "channels": ["bank_account:BA-1"]' : '';
      const r = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', undefined, {
        rawBody: `{"type": "invoice.paid", "payload": ${text}${channels}}`,
      });
      expect(r.status).toBe(202);
      payloads.push({ id: r.body.id, text });
    }
    until = new Date(Date.now() + 1000).toISOString();
    await vi.waitFor(() => expect(ok.requests).toHaveLength(7), { timeout: 30_000 });
    await vi.waitFor(() => expect(flaky.requests).toHaveLength(8), { timeout: 30_000 });
    await vi.waitFor(
      async () => {
        const r = await app.api<{ data: unknown[] }>('GET', '/v1/tenants/acme/events?delivery_success=false');
        expect(r.body.data).toHaveLength(0);
      },
      { timeout: 30_000, interval: 100 },
    );
  });
  afterAll(async () => {
    await app?.stop();
    await ok?.close();
    await flaky?.close();
  });

  it('streams one JSON line per event, oldest first, with the payload hash and each delivery', async () => {
    const res = await get(`since=${since}&until=${until}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="events-acme-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.jsonl"$/,
    );
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => l.id)).toEqual(payloads.map((p) => p.id));
    for (const [i, l] of lines.entries()) {
      expect(l.type).toBe('invoice.paid');
      expect(l.payload_sha256).toBe(sha(payloads[i]!.text));
      expect(l.channels).toEqual(i % 2 === 0 ? ['bank_account:BA-1'] : []);
      const a = l.deliveries.find((d) => d.endpoint_id === good)!;
      expect(a).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(Date.parse(a.succeeded_at!)).toBeGreaterThanOrEqual(Date.parse(l.created_at));
      const b = l.deliveries.find((d) => d.endpoint_id === bad);
      if (i % 2 === 0) {
        expect(b).toMatchObject({ state: 'succeeded', attempts: 2 });
        // The time of the attempt that succeeded, the second one.
        const detail = await app.api<{ deliveries: { id: string; endpoint_id: string }[] }>(
          'GET',
          `/v1/tenants/acme/events/${l.id}`,
        );
        const did = detail.body.deliveries.find((d) => d.endpoint_id === bad)!.id;
        const log = await app.api<{ attempt_log: { started_at: string }[] }>(
          'GET',
          `/v1/tenants/acme/deliveries/${did}`,
        );
        expect(b!.succeeded_at).toBe(log.body.attempt_log[1]!.started_at);
      } else {
        expect(b).toBeUndefined();
      }
    }
  });

  it('writes CSV with a column group per endpoint', async () => {
    const res = await get(`since=${since}&until=${until}&format=csv`);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows = (await res.text()).trimEnd().split('\r\n');
    const [a, b] = [good, bad].sort();
    expect(rows[0]).toBe(
      `id,type,created_at,channels,payload_sha256,${a}.state,${a}.attempts,${a}.succeeded_at,${b}.state,${b}.attempts,${b}.succeeded_at`,
    );
    expect(rows).toHaveLength(8);
    const first = rows[1]!;
    expect(first.startsWith(`${payloads[0]!.id},invoice.paid,`)).toBe(true);
    expect(first).toContain(`,"[""bank_account:BA-1""]",${sha(payloads[0]!.text)},`);
    // The second event went to one endpoint only: the other's cells are empty.
    expect(rows[2]).toMatch(bad < good ? /,,,,succeeded,1,\S+$/ : /,succeeded,1,[^,]+,,,$/);
  });

  it('gives the same lines whatever the page size', async () => {
    const whole = await (await get(`since=${since}&until=${until}`)).text();
    let paged = '';
    for await (const chunk of exportChunks(app.tidings.db, {
      tenantId: 'acme',
      since: new Date(since),
      until: new Date(until),
      format: 'jsonl',
      pageSize: 2,
    })) {
      paged += chunk;
    }
    expect(paged).toBe(whole);
    const empty = await (
      await get(`since=${until}&until=${new Date(Date.parse(until) + 1000).toISOString()}`)
    ).text();
    expect(empty).toBe('');
  });

  it('answers errors as JSON before streaming, and to the tenant alone', async () => {
    const backwards = await get(`since=${until}&until=${since}`);
    expect(backwards.status).toBe(422);
    expect(((await backwards.json()) as { error: { code: string } }).error.code).toBe('invalid_window');
    expect((await get('since=nope&until=nope')).status).toBe(400);
    await app.api('POST', '/v1/tenants', { id: 'other', name: 'Other' });
    const stranger = (await app.api<{ token: string }>('POST', '/v1/tenants/other/tokens', {})).body.token;
    expect((await get(`since=${since}&until=${until}`, stranger)).status).toBe(404);
    const own = (await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', {})).body.token;
    expect((await get(`since=${since}&until=${until}`, own)).status).toBe(200);
  });
});
