// Reminders belong to the operator (issue 13, finding 2). A tenant token could set a rule's
// refresh_url to its own server and an offset of -3650 days: an operator anchor then fired at
// once with the tenant's content (breaking the type's schema), signed by Tidings, and an
// answer {"resolved": true} resolved the operator's anchor. Now refresh_url is operator-only,
// a refresh answer is held to the type's schema like a publish, and a tenant's rule can only
// choose among the offsets the catalog allows (Canopy's documented windows).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

const CATALOG = fileURLToPath(new URL('../../catalogs/canopy.json', import.meta.url));

interface ErrorAnswer {
  error: { code: string; message: string };
}
interface AnchorDetail {
  resolved_at: string | null;
  slots: { key: string; state: string; last_error: string | null; event_id: string | null }[];
}

describe.each(engines())('reminders belong to the operator (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let producer: Receiver;
  let answer: unknown = { resolved: true };
  let token = '';
  const clock = new ManualClock(new Date('2031-01-01T00:00:00Z'));
  const asTenant = { token: '' };

  beforeAll(async () => {
    rx = await startReceiver();
    producer = await startReceiver(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(answer),
    }));
    app = await startApp(engine, { TIDINGS_CATALOG: CATALOG }, { clock, roles: 'api,worker,scheduler' });
    await app.api('POST', '/v1/tenants', { id: 'lender', name: 'Lender' });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/lender/tokens', {})).body.token;
    asTenant.token = token;
    const ep = await app.api('POST', '/v1/tenants/lender/endpoints', {
      url: `${rx.url}/missed`,
      event_types: ['minimum_payment_missed'],
    });
    expect(ep.status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
    await producer?.close();
  });

  /** The operator states a statement's due date (plus grace) for one account. */
  const putAnchor = (n: number, at: string) =>
    app.api('PUT', `/v1/tenants/lender/anchors/stmt-${n}`, {
      event_type: 'minimum_payment_missed',
      subject: `acct-${n}`,
      at,
      payload: { account_id: `acct-${n}`, customer_id: `c-${n}`, statement_id: `stmt-${n}` },
    });

  it("refuses a tenant's refresh_url, on the rule and nowhere else", async () => {
    const put = await app.api<ErrorAnswer>(
      'PUT',
      '/v1/tenants/lender/reminder-rules',
      { event_type: 'minimum_payment_missed', refresh_url: `${producer.url}/mine` },
      asTenant,
    );
    expect(put.status).toBe(403);
    expect(put.body.error.code).toBe('operator_only_field');
    const rules = await app.api<{ data: unknown[] }>('GET', '/v1/tenants/lender/reminder-rules');
    expect(rules.body.data).toEqual([]);
  });

  it('holds a tenant to the offsets the catalog allows for the type (Canopy windows)', async () => {
    for (const offsets of [['-3650 days'], ['-32 days'], ['1 year'], ['-2 months']]) {
      const r = await app.api<ErrorAnswer>(
        'PUT',
        '/v1/tenants/lender/reminder-rules',
        { event_type: 'payment_due_date', offsets },
        asTenant,
      );
      expect(r.status, offsets[0]).toBe(422);
      expect(r.body.error.message).toContain('outside the window');
    }
    const canopy = await app.api(
      'PUT',
      '/v1/tenants/lender/accounts/acct-1/notification_config',
      {
        notification_type: 'payment_due_date',
        time_offset: '-3650 days',
      },
      asTenant,
    );
    expect(canopy.status).toBe(422);
    const inside = await app.api(
      'PUT',
      '/v1/tenants/lender/reminder-rules',
      { event_type: 'payment_due_date', offsets: ['-31 days', '-2 days', '1 month'] },
      asTenant,
    );
    expect(inside.status).toBe(201);
  });

  it("keeps the operator's refresh_url through a tenant's change, and shows it to the operator only", async () => {
    const byOperator = await app.api('PUT', '/v1/tenants/lender/reminder-rules', {
      event_type: 'minimum_payment_missed',
      refresh_url: `${producer.url}/refresh`,
    });
    expect(byOperator.status).toBe(201);
    const byTenant = await app.api<Record<string, unknown>>(
      'PUT',
      '/v1/tenants/lender/reminder-rules',
      { event_type: 'minimum_payment_missed', offsets: ['1 day'] },
      asTenant,
    );
    expect(byTenant.status).toBe(200);
    expect(byTenant.body).not.toHaveProperty('refresh_url');
    const seen = await app.api<{ data: Record<string, unknown>[] }>(
      'GET',
      '/v1/tenants/lender/reminder-rules?event_type=minimum_payment_missed',
    );
    expect(seen.body.data[0]).toMatchObject({ offsets: ['1 day'], refresh_url: `${producer.url}/refresh` });
  });

  it('does not fire a refresh answer that breaks the type schema; fires one that fits', async () => {
    expect((await putAnchor(1, '2031-01-10T00:00:00Z')).status).toBe(201);
    answer = { payload: { account_id: 5, note: 'the tenant says so' } };
    clock.set(new Date('2031-01-11T00:00:01Z'));
    await app.tidings.scheduler!.drain();
    const after = await app.api<AnchorDetail>('GET', '/v1/tenants/lender/anchors/stmt-1');
    const slot = after.body.slots.find((s) => s.key === 'offset:1 day')!;
    expect(slot.state).toBe('planned');
    expect(slot.last_error).toContain('does not match the schema of "minimum_payment_missed"');
    const events = await app.api<{ data: unknown[] }>(
      'GET',
      '/v1/tenants/lender/events?type=minimum_payment_missed',
    );
    expect(events.body.data).toEqual([]);

    answer = { payload: { account_id: 'acct-1', customer_id: 'c-1', statement_id: 'stmt-1', min_pay: 0 } };
    clock.set(new Date('2031-01-11T01:00:00Z'));
    await app.tidings.scheduler!.drain();
    await rx.waitFor(1, 20_000);
    const body = JSON.parse(rx.requests[0]!.body) as { type: string; data: Record<string, unknown> };
    expect(body.type).toBe('minimum_payment_missed');
    expect(body.data).toMatchObject({ account_id: 'acct-1', min_pay: 0 });
    const fired = await until(async () => {
      const a = await app.api<AnchorDetail>('GET', '/v1/tenants/lender/anchors/stmt-1');
      return a.body.slots.find((s) => s.key === 'offset:1 day' && s.state === 'fired');
    }, 'the slot to be fired');
    expect(fired.event_id).not.toBeNull();
  });

  it("leaves a tenant no way to resolve the operator's anchor", async () => {
    expect((await putAnchor(2, '2031-01-20T00:00:00Z')).status).toBe(201);
    const resolve = await app.api('POST', '/v1/tenants/lender/anchors/stmt-2/resolve', undefined, asTenant);
    expect(resolve.status).toBe(403);
    // The tenant's own subject rule cannot bring a refresh_url of its own either.
    const subjectRule = await app.api(
      'PUT',
      '/v1/tenants/lender/reminder-rules',
      { event_type: 'minimum_payment_missed', subject: 'acct-2', refresh_url: `${producer.url}/mine` },
      asTenant,
    );
    expect(subjectRule.status).toBe(403);
    const a = await app.api<AnchorDetail>('GET', '/v1/tenants/lender/anchors/stmt-2');
    expect(a.body.resolved_at).toBeNull();
    expect(producer.requests.some((r) => r.path === '/mine')).toBe(false);
  });
});
