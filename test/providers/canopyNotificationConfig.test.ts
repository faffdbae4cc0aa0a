// Canopy's reference, word for word: "The following webhook events are enabled by default and
// are automatically sent once a webhook URL is registered", and "Each of the following event
// types can be subscribed to by calling making a PUT request to
// /accounts/{{account_id}}/notification_config" with
// {"notification_type": "payment_due_date", "time_offset": "-2 days"}.
// So a registered URL (no event_types) receives the configured reminder without any edit of
// its type list, and removing the configuration stops it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const CATALOG = fileURLToPath(new URL('../../catalogs/canopy.json', import.meta.url));

const STATEMENT = {
  account_id: 'can_1',
  customer_id: 'cus_1',
  statement_id: 'stmt_2024_06',
  min_pay_due_cents: 5000,
  min_pay_due_at: '2024-06-15',
  total_balance_cents: 125000,
  delinquent_as_of_date: 'Not delinquent',
  min_pay_cents: 5000,
  unpaid_min_pay_cents: 5000,
};

/** What the scheduler adds when it fires, for the type published directly. */
const FIRED = { ...STATEMENT, time_stamp: '2024-06-13T09:00:00.000-05:00', days_past_due: 0 };

describe.each(engines())('Canopy notification_config reaches a registered URL (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const clock = new ManualClock(new Date('2024-06-01T00:00:00Z'));
  const T = '/v1/tenants/lender';

  async function fireAt(iso: string): Promise<number> {
    clock.set(new Date(iso));
    return app.tidings.scheduler!.drain();
  }

  beforeAll(async () => {
    rx = await startReceiver();
    app = await startApp(engine, { TIDINGS_CATALOG: CATALOG }, { clock, roles: 'api,worker,scheduler' });
    expect((await app.api('POST', '/v1/tenants', { id: 'lender', name: 'Lender' })).status).toBe(201);
    // "once a webhook URL is registered": a URL, nothing else.
    const ep = await app.api('POST', `${T}/endpoints`, { url: `${rx.url}/canopy`, profile: 'canopy' });
    expect(ep.status).toBe(201);
    expect(ep.body.event_types).toBeNull();
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('PUT notification_config, publish the anchor: the reminder arrives; DELETE: nothing more arrives', async () => {
    // Not configured yet: the opt-in type does not reach the registered URL.
    const before = await app.api<{ deliveries: number }>('POST', `${T}/events`, {
      type: 'payment_due_date',
      payload: FIRED,
    });
    expect(before.status).toBe(202);
    expect(before.body.deliveries).toBe(0);

    const put = await app.api('PUT', `${T}/accounts/can_1/notification_config`, {
      notification_type: 'payment_due_date',
      time_offset: '-2 days',
    });
    expect(put.status).toBe(200);

    const anchor = await app.api<{ slots: { due_at: string }[] }>('PUT', `${T}/anchors/stmt_2024_06`, {
      event_type: 'payment_due_date',
      subject: 'can_1',
      at: '2024-06-15T09:00:00-05:00',
      time_zone: 'America/Chicago',
      payload: STATEMENT,
    });
    expect(anchor.status).toBe(201);
    expect(anchor.body.slots.map((s) => s.due_at)).toEqual(['2024-06-13T14:00:00.000Z']);
    expect(await fireAt('2024-06-13T14:00:00Z')).toBe(1);
    const [got] = await rx.waitFor(1);
    const body = JSON.parse(got!.body) as { event: string; data: Record<string, unknown> };
    expect(body.event).toBe('payment_due_date');
    expect(body.data).toMatchObject(STATEMENT);

    const del = await app.api('DELETE', `${T}/accounts/can_1/notification_config`, {
      notification_type: 'payment_due_date',
    });
    expect(del.status).toBe(200);
    // The next statement, and the type published directly: neither reaches the URL any more.
    const next = await app.api('PUT', `${T}/anchors/stmt_2024_07`, {
      event_type: 'payment_due_date',
      subject: 'can_1',
      at: '2024-07-15T09:00:00-05:00',
      time_zone: 'America/Chicago',
      payload: { ...STATEMENT, statement_id: 'stmt_2024_07', min_pay_due_at: '2024-07-15' },
    });
    expect([200, 201]).toContain(next.status);
    await fireAt('2024-07-13T14:00:00Z');
    await fireAt('2024-07-20T00:00:00Z');
    const after = await app.api<{ deliveries: number }>('POST', `${T}/events`, {
      type: 'payment_due_date',
      payload: FIRED,
    });
    expect(after.body.deliveries).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.requests).toHaveLength(1);
  });
});
