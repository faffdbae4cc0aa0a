// The audit log: every management call is recorded with who (operator or token id), what
// (method, route, ids), when (the injected clock), from where (client address) and how it
// ended; the operator lists it newest first, filtered and paged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';

interface Entry {
  id: number;
  at: string;
  actor: string;
  actor_tenant_id: string | null;
  tenant_id: string | null;
  action: string;
  target: Record<string, string>;
  status: number;
  ip: string | null;
  request_id: string | null;
}
interface Page {
  data: Entry[];
  next_cursor: string | null;
}

describe.each(engines())('audit log (%s)', (engine) => {
  let app: TestApp;
  const clock = new ManualClock(new Date('2031-05-05T10:00:00Z'));
  let token: { id: string; token: string };
  let endpointId: string;

  /** The audit rows are written just after each answer; wait until n are there. */
  async function entries(n: number, query = ''): Promise<Entry[]> {
    for (let i = 0; i < 100; i++) {
      const page = await app.api<Page>('GET', `/v1/audit-log?limit=250${query}`);
      if (page.body.data.length >= n) return page.body.data;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`fewer than ${n} audit entries`);
  }

  beforeAll(async () => {
    app = await startApp(engine, {}, { clock, roles: 'api' });
    await app.api('PUT', '/v1/event-types/loan.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'lender', name: 'Lender' });
    clock.advance(1000);
    token = (
      await app.api<{ id: string; token: string }>('POST', '/v1/tenants/lender/tokens', { name: 'ops' })
    ).body;
    clock.advance(1000);
    const as = { token: token.token };
    endpointId = (
      await app.api<{ id: string }>(
        'POST',
        '/v1/tenants/lender/endpoints',
        { url: 'https://example.com/h' },
        as,
      )
    ).body.id;
    await app.api('POST', `/v1/tenants/lender/endpoints/${endpointId}/secret/rotate`, {}, as);
    await app.api('GET', `/v1/tenants/lender/endpoints/${endpointId}/secret`, undefined, as);
    await app.api('PATCH', '/v1/tenants/lender', { name: 'x' }, as); // refused: operator only
    await app.api('GET', '/v1/tenants/lender/endpoints', undefined, as); // a read: not recorded
    await app.api('POST', '/v1/tenants/lender/events', { type: 'loan.paid', payload: {} }); // data plane: not recorded
    await app.api('POST', '/v1/tenants', { name: 'nobody' }, { token: null }); // no token: not recorded
    await app.api('DELETE', `/v1/tenants/lender/endpoints/${endpointId}`, undefined, as);
  });
  afterAll(() => app?.stop());

  it('records each management call, newest first, with who, what, when, where and how it ended', async () => {
    const all = await entries(8);
    expect(all.map((e) => [e.action, e.actor, e.status])).toEqual([
      ['DELETE /v1/tenants/:tid/endpoints/:eid', token.id, 204],
      ['PATCH /v1/tenants/:tid', token.id, 403],
      ['GET /v1/tenants/:tid/endpoints/:eid/secret', token.id, 200],
      ['POST /v1/tenants/:tid/endpoints/:eid/secret/rotate', token.id, 200],
      ['POST /v1/tenants/:tid/endpoints', token.id, 201],
      ['POST /v1/tenants/:tid/tokens', 'admin', 201],
      ['POST /v1/tenants', 'admin', 201],
      ['PUT /v1/event-types/:name', 'admin', 201],
    ]);
    const [deleted, , , , created, madeToken] = all;
    expect(deleted).toMatchObject({
      tenant_id: 'lender',
      actor_tenant_id: 'lender',
      target: { tid: 'lender', eid: endpointId },
      ip: '127.0.0.1',
    });
    expect(deleted!.request_id).toBeTruthy();
    expect(created!.target).toEqual({ tid: 'lender', created_id: endpointId });
    expect(madeToken!.target).toEqual({ tid: 'lender', created_id: token.id });
    expect(madeToken!.actor_tenant_id).toBeNull();
    expect(madeToken!.at).toBe('2031-05-05T10:00:01.000Z');
    expect(created!.at).toBe('2031-05-05T10:00:02.000Z');
    // Nothing in the log is a secret.
    expect(JSON.stringify(all)).not.toContain(token.token);
    expect(JSON.stringify(all)).not.toContain('whsec_');
  });

  it('filters by tenant, action and actor, and pages with a cursor', async () => {
    await entries(8);
    const byTenant = await app.api<Page>('GET', '/v1/audit-log?tenant=lender');
    expect(byTenant.body.data.every((e) => e.tenant_id === 'lender')).toBe(true);
    expect(byTenant.body.data).toHaveLength(6);
    const action = encodeURIComponent('POST /v1/tenants/:tid/endpoints');
    const byAction = await app.api<Page>('GET', `/v1/audit-log?action=${action}`);
    expect(byAction.body.data.map((e) => e.target.created_id)).toEqual([endpointId]);
    const byActor = await app.api<Page>('GET', `/v1/audit-log?actor=${token.id}`);
    expect(byActor.body.data).toHaveLength(5);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page: { body: Page } = await app.api<Page>('GET', `/v1/audit-log?limit=3${q}`);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data.map((e) => e.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const all = (await app.api<Page>('GET', '/v1/audit-log?limit=250')).body.data.map((e) => e.id);
    expect(seen).toEqual(all);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect((await app.api('GET', '/v1/audit-log?cursor=nonsense')).status).toBe(400);
  });

  it('is the operator’s: a tenant token cannot read it', async () => {
    expect((await app.api('GET', '/v1/audit-log', undefined, { token: token.token })).status).toBe(403);
    expect((await app.api('GET', '/v1/audit-log', undefined, { token: null })).status).toBe(401);
  });
});
