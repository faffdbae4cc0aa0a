// Memory and storage exhaustion (issue 13, finding 3): endpoint metadata of about 1 MB was
// accepted, with no cap on endpoints per tenant; 100 such endpoints made one list call
// answer 100 MB. Now metadata is capped, every kind of object a tenant piles up has a quota
// (operator settings), and a list page is capped in bytes as well as items.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_METADATA_BYTES, MAX_PAGE_BYTES } from '../../src/limits.js';
import { pageOf } from '../../src/store/page.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';

interface ErrorAnswer {
  error: { code: string; message: string; details: { setting?: string; limit?: number } | null };
}

describe('a page capped in bytes', () => {
  it('stops before the row that would pass the cap, keeps at least one, and goes on from there', () => {
    const rows = Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, blob: 'x'.repeat(90) }));
    const page = pageOf(rows, 10, (r) => [r.id], 350);
    expect(page.data.map((r) => r.id)).toEqual(['r0', 'r1', 'r2']);
    expect(page.next_cursor).not.toBeNull();
    const huge = [{ id: 'big', blob: 'x'.repeat(1000) }];
    expect(pageOf(huge, 10, (r) => [r.id], 350).data).toHaveLength(1);
    expect(pageOf(rows.slice(0, 3), 10, (r) => [r.id], 10_000).next_cursor).toBeNull();
  });
});

describe.each(engines())('quotas and size caps (%s)', (engine) => {
  let app: TestApp;
  let token = '';
  beforeAll(async () => {
    app = await startApp(
      engine,
      {
        TIDINGS_MAX_ENDPOINTS_PER_TENANT: '3',
        TIDINGS_MAX_TOKENS_PER_TENANT: '2',
        TIDINGS_MAX_REMINDER_RULES_PER_TENANT: '2',
        TIDINGS_MAX_ANCHORS_PER_TENANT: '2',
        TIDINGS_MAX_PORTAL_SESSIONS_PER_TENANT: '2',
        TIDINGS_RATE_LIMIT_PER_S: '0',
      },
      { roles: 'api' },
    );
    await app.api('PUT', '/v1/event-types/loan.paid', { description: 'paid' });
    await app.api('PUT', '/v1/event-types/loan.due', {
      description: 'due',
      reminder: { anchor: 'the due date', negative_offsets: true, periodic: true },
    });
    for (const id of ['t1', 't2', 'big']) await app.api('POST', '/v1/tenants', { id, name: id });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/t1/tokens', {})).body.token;
  });
  afterAll(() => app?.stop());

  it('refuses metadata over the cap (the 1 MB of the finding, and just over 16 KiB), accepts it just under', async () => {
    for (const [size, status] of [
      [1_000_000, 422],
      [MAX_METADATA_BYTES + 1, 422],
      [MAX_METADATA_BYTES - 100, 201],
    ] as const) {
      const metadata = { blob: 'x'.repeat(size - '{"blob":""}'.length) };
      const r = await app.api<ErrorAnswer>(
        'POST',
        '/v1/tenants/t2/endpoints',
        {
          url: 'https://example.com/hook',
          metadata,
        },
        { token: undefined },
      );
      expect(r.status, String(size)).toBe(status);
      if (status === 422) expect(r.body.error.code).toBe('metadata_too_large');
    }
    const keys = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i]));
    const many = await app.api('POST', '/v1/tenants/t2/endpoints', {
      url: 'https://example.com/hook',
      metadata: keys,
    });
    expect(many.status).toBe(422);
    const tenant = await app.api('PATCH', '/v1/tenants/t2', { metadata: { blob: 'x'.repeat(20_000) } });
    expect(tenant.status).toBe(422);
  });

  it('holds a tenant to its endpoint quota, concurrent creations included; other tenants are not affected', async () => {
    const create = (tid: string, tok?: string) =>
      app.api<ErrorAnswer & { id: string }>(
        'POST',
        `/v1/tenants/${tid}/endpoints`,
        { url: 'https://example.com/hook' },
        { token: tok },
      );
    const answers = await Promise.all(Array.from({ length: 6 }, () => create('t1', token)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 409, 409, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    expect(refused.body.error).toMatchObject({
      code: 'quota_exceeded',
      details: { quota: 'endpoints', limit: 3, setting: 'TIDINGS_MAX_ENDPOINTS_PER_TENANT' },
    });
    const list = await app.api<{ data: { id: string }[] }>('GET', '/v1/tenants/t1/endpoints');
    expect(list.body.data).toHaveLength(3);
    // The operator is held to it too; deleting one makes room.
    expect((await create('t1')).status).toBe(409);
    const first = list.body.data[0]!.id;
    expect((await app.api('DELETE', `/v1/tenants/t1/endpoints/${first}`, undefined, { token })).status).toBe(
      204,
    );
    expect((await create('t1', token)).status).toBe(201);
    expect((await create('t2')).status).toBe(201);
  });

  it('holds tokens to their quota, counting live ones only', async () => {
    // t1 has one token already.
    const second = await app.api<{ id: string }>('POST', '/v1/tenants/t1/tokens', {});
    expect(second.status).toBe(201);
    const over = await app.api<ErrorAnswer>('POST', '/v1/tenants/t1/tokens', {});
    expect(over.status).toBe(409);
    expect(over.body.error.details?.setting).toBe('TIDINGS_MAX_TOKENS_PER_TENANT');
    expect((await app.api('DELETE', `/v1/tenants/t1/tokens/${second.body.id}`)).status).toBe(204);
    expect((await app.api('POST', '/v1/tenants/t1/tokens', {})).status).toBe(201);
  });

  it('holds reminder rules to their quota, through both routes that make them', async () => {
    const rule = (subject: string) =>
      app.api<ErrorAnswer>(
        'PUT',
        '/v1/tenants/t1/reminder-rules',
        { event_type: 'loan.due', subject, offsets: ['-1 day'] },
        { token },
      );
    expect((await rule('a')).status).toBe(201);
    expect((await rule('b')).status).toBe(201);
    const over = await rule('c');
    expect(over.status).toBe(409);
    expect(over.body.error.details?.setting).toBe('TIDINGS_MAX_REMINDER_RULES_PER_TENANT');
    // Changing an existing rule is not a new one.
    expect((await rule('a')).status).toBe(200);
    const viaCanopy = await app.api(
      'PUT',
      '/v1/tenants/t1/accounts/acct-9/notification_config',
      { notification_type: 'loan.due', time_offset: '-2 days' },
      { token },
    );
    expect(viaCanopy.status).toBe(409);
    const rules = await app.api<{ data: unknown[] }>('GET', '/v1/tenants/t1/reminder-rules', undefined, {
      token,
    });
    expect(rules.body.data).toHaveLength(2);
    await app.api('DELETE', '/v1/tenants/t1/reminder-rules?event_type=loan.due&subject=b', undefined, {
      token,
    });
    expect((await rule('c')).status).toBe(201);
  });

  it('holds anchors to their quota; replacing one is not a new one', async () => {
    const anchor = (id: string) =>
      app.api<ErrorAnswer>('PUT', `/v1/tenants/t1/anchors/${id}`, {
        event_type: 'loan.due',
        subject: 'a',
        at: '2031-01-10T12:00:00Z',
        payload: {},
      });
    expect((await anchor('x1')).status).toBe(201);
    expect((await anchor('x2')).status).toBe(201);
    expect((await anchor('x1')).status).toBe(200);
    const over = await anchor('x3');
    expect(over.status).toBe(409);
    expect(over.body.error.details?.setting).toBe('TIDINGS_MAX_ANCHORS_PER_TENANT');
    expect((await app.api('GET', '/v1/tenants/t1/anchors/x3')).status).toBe(404);
  });

  it('ends the oldest portal session beyond the quota at sign-in', async () => {
    const signIn = async () => {
      const link = await app.api<{ url: string }>('POST', '/v1/tenants/t1/portal-links');
      const linkToken = new URL(link.body.url).searchParams.get('token')!;
      const r = await fetch(`${app.url}/portal/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
        body: `token=${encodeURIComponent(linkToken)}`,
        redirect: 'manual',
      });
      await r.arrayBuffer();
      expect(r.status).toBe(303);
    };
    for (let i = 0; i < 3; i++) await signIn();
    const live = await app.api<{ data: unknown[] }>('GET', '/v1/tenants/t1/portal-sessions');
    expect(live.body.data).toHaveLength(2);
  });

  it('caps a list page in bytes: large endpoints come back over several pages, each once', async () => {
    // A tenant with many endpoints of near-maximum metadata (its own quota raised for this).
    const big = await startApp(engine, { TIDINGS_MAX_ENDPOINTS_PER_TENANT: '1000' }, { roles: 'api' });
    try {
      await big.api('POST', '/v1/tenants', { id: 'big', name: 'big' });
      const blob = 'x'.repeat(MAX_METADATA_BYTES - 100);
      const n = Math.ceil((2.5 * MAX_PAGE_BYTES) / MAX_METADATA_BYTES);
      for (let i = 0; i < n; i++) {
        const r = await big.api('POST', '/v1/tenants/big/endpoints', {
          url: 'https://example.com/hook',
          metadata: { blob },
        });
        expect(r.status).toBe(201);
      }
      const seen = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Response = await fetch(
          `${big.url}/v1/tenants/big/endpoints?limit=250${cursor ? `&cursor=${cursor}` : ''}`,
          { headers: { authorization: 'Bearer test-admin-token-0123456789' } },
        );
        const text = await res.text();
        expect(text.length).toBeLessThan(MAX_PAGE_BYTES + 64 * 1024);
        const page = JSON.parse(text) as { data: { id: string }[]; next_cursor: string | null };
        for (const e of page.data) {
          expect(seen.has(e.id)).toBe(false);
          seen.add(e.id);
        }
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor);
      expect(seen.size).toBe(n);
      expect(pages).toBeGreaterThanOrEqual(3);
    } finally {
      await big.stop();
    }
  });
});
