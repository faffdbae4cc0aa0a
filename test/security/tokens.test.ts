// Tenant tokens: made by the operator, shown once, stored hashed, scoped to one tenant,
// revocable, and rate limited per token.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/api/rateLimit.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';

interface Made {
  id: string;
  token: string;
  hint: string;
  tenant_id: string;
}

describe.each(engines())('tenant tokens (%s)', (engine) => {
  let app: TestApp;
  let a: Made;
  let b: Made;
  beforeAll(async () => {
    app = await startApp(engine);
    await app.api('PUT', '/v1/event-types/invoice.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'ta', name: 'A' });
    await app.api('POST', '/v1/tenants', { id: 'tb', name: 'B' });
    a = (await app.api<Made>('POST', '/v1/tenants/ta/tokens', { name: 'ci' })).body;
    b = (await app.api<Made>('POST', '/v1/tenants/tb/tokens', {})).body;
  });
  afterAll(() => app?.stop());

  it('is made by the operator, shown once, and stored only as its sha256', async () => {
    expect(a.token).toMatch(/^tid_tenant_[A-Za-z0-9_-]{43}$/);
    expect(a.hint).toBe(a.token.slice(-4));
    const list = await app.api<{ data: Record<string, unknown>[] }>('GET', '/v1/tenants/ta/tokens');
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ id: a.id, name: 'ci', hint: a.hint, revoked_at: null });
    expect(JSON.stringify(list.body)).not.toContain(a.token);
    const rows = await app.testDb.db.query<{ token_sha256: string }>(
      'SELECT * FROM api_tokens WHERE id = $1',
      [a.id],
    );
    expect(rows[0]!.token_sha256).toBe(createHash('sha256').update(a.token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(a.token);
  });

  it('a tenant token cannot make tokens, not even for its own tenant', async () => {
    const res = await app.api('POST', '/v1/tenants/ta/tokens', {}, { token: a.token });
    expect(res.status).toBe(403);
    expect((await app.api('POST', '/v1/tenants/nobody/tokens', {})).status).toBe(404);
  });

  it("reaches its own tenant's routes and nothing of another tenant's", async () => {
    const ep = await app.api<{ id: string }>(
      'POST',
      '/v1/tenants/ta/endpoints',
      { url: 'https://example.com/a' },
      { token: a.token },
    );
    expect(ep.status).toBe(201);
    expect(
      (await app.api('GET', `/v1/tenants/ta/endpoints/${ep.body.id}`, undefined, { token: a.token })).status,
    ).toBe(200);
    expect((await app.api('GET', '/v1/tenants/ta', undefined, { token: a.token })).status).toBe(200);
    // The other tenant's token: the tenant and its endpoint do not exist for it.
    const other = await app.api<{ error: { code: string } }>(
      'GET',
      `/v1/tenants/ta/endpoints/${ep.body.id}`,
      undefined,
      { token: b.token },
    );
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('tenant_not_found');
    expect((await app.api('GET', '/v1/tenants/ta', undefined, { token: b.token })).status).toBe(404);
    // Even asking with its own tenant id, tenant B's token does not find A's endpoint.
    expect(
      (await app.api('GET', `/v1/tenants/tb/endpoints/${ep.body.id}`, undefined, { token: b.token })).status,
    ).toBe(404);
  });

  it('cannot publish events, write the catalog, list tenants or read the audit log', async () => {
    const opts = { token: a.token };
    expect(
      (await app.api('POST', '/v1/tenants/ta/events', { type: 'invoice.paid', payload: {} }, opts)).status,
    ).toBe(403);
    expect((await app.api('PUT', '/v1/event-types/x.y', { description: 'x' }, opts)).status).toBe(403);
    expect((await app.api('DELETE', '/v1/event-types/invoice.paid', undefined, opts)).status).toBe(403);
    expect((await app.api('GET', '/v1/tenants', undefined, opts)).status).toBe(403);
    expect((await app.api('POST', '/v1/tenants', { name: 'x' }, opts)).status).toBe(403);
    expect((await app.api('PATCH', '/v1/tenants/ta', { name: 'x' }, opts)).status).toBe(403);
    expect((await app.api('DELETE', '/v1/tenants/ta', undefined, opts)).status).toBe(403);
    expect((await app.api('GET', '/v1/audit-log', undefined, opts)).status).toBe(403);
    // Reading the catalog is allowed.
    expect((await app.api('GET', '/v1/event-types', undefined, opts)).status).toBe(200);
  });

  it('is refused once revoked, and another tenant cannot revoke it', async () => {
    const t = (await app.api<Made>('POST', '/v1/tenants/ta/tokens', { name: 'short-lived' })).body;
    expect((await app.api('GET', '/v1/tenants/ta', undefined, { token: t.token })).status).toBe(200);
    expect(
      (await app.api('DELETE', `/v1/tenants/ta/tokens/${t.id}`, undefined, { token: b.token })).status,
    ).toBe(404);
    expect(
      (await app.api('DELETE', `/v1/tenants/tb/tokens/${t.id}`, undefined, { token: b.token })).status,
    ).toBe(404);
    expect((await app.api('GET', '/v1/tenants/ta', undefined, { token: t.token })).status).toBe(200);
    expect(
      (await app.api('DELETE', `/v1/tenants/ta/tokens/${t.id}`, undefined, { token: a.token })).status,
    ).toBe(204);
    const after = await app.api<{ error: { code: string } }>('GET', '/v1/tenants/ta', undefined, {
      token: t.token,
    });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    const listed = await app.api<{ data: { id: string; revoked_at: string | null }[] }>(
      'GET',
      '/v1/tenants/ta/tokens',
    );
    expect(listed.body.data.find((x) => x.id === t.id)?.revoked_at).toBeTruthy();
  });

  it('is refused after its expiry', async () => {
    const past = await app.api('POST', '/v1/tenants/ta/tokens', { expires_at: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    const t = (
      await app.api<Made>('POST', '/v1/tenants/ta/tokens', {
        expires_at: new Date(Date.now() + 60_000).toISOString(),
      })
    ).body;
    expect((await app.api('GET', '/v1/tenants/ta', undefined, { token: t.token })).status).toBe(200);
    await app.testDb.db.query(
      `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [t.id],
    );
    expect((await app.api('GET', '/v1/tenants/ta', undefined, { token: t.token })).status).toBe(401);
  });

  it('dies with its tenant', async () => {
    await app.api('POST', '/v1/tenants', { id: 'tc', name: 'C' });
    const t = (await app.api<Made>('POST', '/v1/tenants/tc/tokens', {})).body;
    expect((await app.api('DELETE', '/v1/tenants/tc')).status).toBe(204);
    expect((await app.api('GET', '/v1/tenants/tc', undefined, { token: t.token })).status).toBe(401);
  });
});

describe('rate limit per token', () => {
  it('a bucket allows its burst, then refuses with the wait until the next request fits', () => {
    let now = 0;
    const buckets = new TokenBuckets(2, 4, () => now);
    for (let i = 0; i < 4; i++) expect(buckets.take('t').ok).toBe(true);
    const refused = buckets.take('t');
    expect(refused).toEqual({ ok: false, retryAfterS: 1 });
    // Other keys have their own bucket.
    expect(buckets.take('u').ok).toBe(true);
    now += 500; // one token back at 2 per second
    expect(buckets.take('t').ok).toBe(true);
    expect(buckets.take('t').ok).toBe(false);
    now += 10_000; // refills to the burst, no further
    for (let i = 0; i < 4; i++) expect(buckets.take('t').ok).toBe(true);
    expect(buckets.take('t').ok).toBe(false);
  });

  it('a slow rate gives a longer Retry-After', () => {
    let now = 0;
    const buckets = new TokenBuckets(0.1, 1, () => now);
    expect(buckets.take('t').ok).toBe(true);
    expect(buckets.take('t')).toEqual({ ok: false, retryAfterS: 10 });
    now += 5_000;
    expect(buckets.take('t')).toEqual({ ok: false, retryAfterS: 5 });
  });

  it('answers 429 with Retry-After to a tenant token over its rate; the operator is not limited', async () => {
    const app = await startApp('pglite', { TIDINGS_RATE_LIMIT_PER_S: '1' }, { roles: 'api' });
    try {
      await app.api('POST', '/v1/tenants', { id: 'r', name: 'R' });
      const t = (await app.api<Made>('POST', '/v1/tenants/r/tokens', {})).body;
      const other = (await app.api<Made>('POST', '/v1/tenants/r/tokens', {})).body;
      // Burst of 2 at 1/s: of 6 requests sent at once, at most 2 (3 if a second passes) get through.
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => app.api('GET', '/v1/tenants/r', undefined, { token: t.token })),
      );
      const limited = answers.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(3);
      expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
      expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((limited[0]!.body as { error: { code: string } }).error.code).toBe('rate_limited');
      // Another token of the same tenant has its own bucket.
      expect((await app.api('GET', '/v1/tenants/r', undefined, { token: other.token })).status).toBe(200);
      const admin = await Promise.all(Array.from({ length: 6 }, () => app.api('GET', '/v1/tenants/r')));
      expect(admin.every((r) => r.status === 200)).toBe(true);
    } finally {
      await app.stop();
    }
  });
});
