// Canopy's three configurable webhooks, as its reference describes them, end to end: the
// tenant configures them through notification_config, the producer states anchors, the clock
// is moved by hand (no sleeping), and a real receiver gets exactly the expected webhooks, in
// order, in Canopy's envelope, with the reference payload fields.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';

const CATALOG = fileURLToPath(new URL('../../catalogs/canopy.json', import.meta.url));
const REFERENCE_DELINQUENCY = JSON.parse(
  readFileSync(new URL('../fixtures/reference/canopy/account_delinquency.json', import.meta.url), 'utf8'),
) as { data: Record<string, unknown>; event: string };

interface SlotView {
  key: string;
  due_at: string;
  state: string;
  event_id: string | null;
  late: boolean | null;
  reason: string | null;
}
interface AnchorDetail {
  anchor_id: string;
  resolved_at: string | null;
  slots: SlotView[];
}

/** The parts of a Canopy-profile body, with the signed `data` text cut out as sent. */
function canopyBody(r: Received): {
  event: string;
  data: Record<string, unknown>;
  dataText: string;
  sig: string;
} {
  const body = JSON.parse(r.body) as { event: string; data: Record<string, unknown>; hmac_signature: string };
  const start = r.body.indexOf('"data":') + '"data":'.length;
  const end = r.body.lastIndexOf(',"hmac_signature":');
  return { event: body.event, data: body.data, dataText: r.body.slice(start, end), sig: body.hmac_signature };
}

describe.each(engines())('Canopy configurable webhooks (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const clock = new ManualClock(new Date('2023-01-01T00:00:00Z'));
  const secrets = new Map<string, string>();

  /** Moves the clock and lets the scheduler fire what is due. */
  async function fireAt(iso: string): Promise<number> {
    clock.set(new Date(iso));
    return app.tidings.scheduler!.drain();
  }

  async function endpoint(path: string, types: string[]): Promise<void> {
    const ep = await app.api<{ secret: string }>('POST', '/v1/tenants/lender/endpoints', {
      url: `${rx.url}${path}`,
      profile: 'canopy',
      event_types: types,
    });
    expect(ep.status).toBe(201);
    secrets.set(path, ep.body.secret);
  }

  const at = (path: string) => rx.requests.filter((r) => r.path === path);

  beforeAll(async () => {
    rx = await startReceiver();
    app = await startApp(engine, { TIDINGS_CATALOG: CATALOG }, { clock, roles: 'api,worker,scheduler' });
    expect((await app.api('POST', '/v1/tenants', { id: 'lender', name: 'Lender' })).status).toBe(201);
    await endpoint('/delinquency', ['account_delinquency']);
    await endpoint('/due', ['payment_due_date']);
    await endpoint('/missed', ['minimum_payment_missed']);
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  // Chronological, since one clock serves the whole file.

  it('account_delinquency, DAILY: the reference payload every day until the account is cured', async () => {
    const put = await app.api('PUT', '/v1/tenants/lender/accounts/can_100030/notification_config', {
      notification_type: 'account_delinquency',
      periodic_interval: 'DAILY',
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      notification_type: 'account_delinquency',
      time_offsets: [],
      periodic_interval: 'DAILY',
    });

    const ref = REFERENCE_DELINQUENCY.data;
    const anchor = await app.api<AnchorDetail>('PUT', '/v1/tenants/lender/anchors/can_100030-delinquency-1', {
      event_type: 'account_delinquency',
      subject: 'can_100030',
      at: '2023-01-30T13:23:00.487-05:00',
      time_zone: 'America/New_York',
      payload: {
        account_id: ref.account_id,
        cure_amount: ref.cure_amount,
        customer_id: ref.customer_id,
        delinquent_as_of_date: ref.delinquent_as_of_date,
      },
    });
    expect(anchor.status).toBe(201);
    expect(anchor.body.slots.filter((s) => s.state === 'planned').map((s) => s.due_at)).toEqual([
      '2023-01-30T18:23:00.487Z',
      '2023-01-31T18:23:00.487Z',
      '2023-02-01T18:23:00.487Z',
      '2023-02-02T18:23:00.487Z',
    ]);

    // Nothing before its time.
    expect(await fireAt('2023-01-30T18:23:00.000Z')).toBe(0);
    // The reference's own moment: 38 seconds after the account went delinquent.
    expect(await fireAt('2023-01-30T18:23:38.129Z')).toBe(1);
    await rx.waitFor(1);
    expect(await fireAt('2023-01-31T18:23:00.487Z')).toBe(1);
    await rx.waitFor(2);
    expect(await fireAt('2023-02-01T18:23:00.487Z')).toBe(1);
    await rx.waitFor(3);

    // Cured: the producer resolves the anchor; the next day brings nothing.
    const resolved = await app.api<AnchorDetail>(
      'POST',
      '/v1/tenants/lender/anchors/can_100030-delinquency-1/resolve',
    );
    expect(resolved.status).toBe(200);
    expect(resolved.body.resolved_at).not.toBeNull();
    expect(await fireAt('2023-02-02T18:23:00.487Z')).toBe(0);
    expect(await fireAt('2023-02-09T18:23:00.487Z')).toBe(0);
    await new Promise((r) => setTimeout(r, 300));

    const got = at('/delinquency').map(canopyBody);
    expect(got).toHaveLength(3);
    expect(got.map((g) => g.event)).toEqual([
      'account_delinquency',
      'account_delinquency',
      'account_delinquency',
    ]);
    expect(got.map((g) => g.data.number_of_days_delinquent)).toEqual([0, 1, 2]);
    // The reference's fields, in the reference's order; time_stamp is when it was sent.
    expect(Object.keys(got[0]!.data)).toEqual(Object.keys(ref));
    expect(got[0]!.data).toEqual({ ...ref, time_stamp: '2023-01-30T13:23:38.129-05:00' });
    expect(got[2]!.data.time_stamp).toBe('2023-02-01T13:23:00.487-05:00');
    // Signed as Canopy signs: base64 HMAC-SHA256 of the data text, keyed with the whsec_ bytes.
    const key = Buffer.from(secrets.get('/delinquency')!.slice('whsec_'.length), 'base64');
    for (const g of got) expect(g.sig).toBe(createHmac('sha256', key).update(g.dataText).digest('base64'));

    const after = await app.api<AnchorDetail>('GET', '/v1/tenants/lender/anchors/can_100030-delinquency-1');
    const states = after.body.slots.map((s) => `${s.key}=${s.state}`);
    expect(states.slice(0, 3)).toEqual([
      'periodic:DAILY:0=fired',
      'periodic:DAILY:1=fired',
      'periodic:DAILY:2=fired',
    ]);
    expect(after.body.slots.slice(3).every((s) => s.state === 'cancelled' && s.reason === 'resolved')).toBe(
      true,
    );
  });

  it('payment_due_date with several offsets: each fires once, in order, inside the statement window', async () => {
    for (const time_offset of ['-5 days', '-2 days', '1 day', '-1 month']) {
      const r = await app.api('PUT', '/v1/tenants/lender/accounts/can_3/notification_config', {
        notification_type: 'payment_due_date',
        time_offset,
      });
      expect(r.status).toBe(200);
    }
    const cfg = await app.api<{ data: unknown[] }>(
      'GET',
      '/v1/tenants/lender/accounts/can_3/notification_config',
    );
    expect(cfg.body.data).toEqual([
      {
        notification_type: 'payment_due_date',
        time_offsets: ['-5 days', '-2 days', '1 day', '-1 month'],
        periodic_interval: null,
      },
    ]);

    const statement = {
      account_id: 'can_3',
      customer_id: 'cus_9',
      statement_id: 'stmt_2024_06',
      min_pay_due_cents: 5000,
      min_pay_due_at: '2024-06-15',
      total_balance_cents: 125000,
      delinquent_as_of_date: 'Not delinquent',
      min_pay_cents: 5000,
      unpaid_min_pay_cents: 5000,
    };
    const anchor = await app.api<AnchorDetail>('PUT', '/v1/tenants/lender/anchors/stmt_2024_06', {
      event_type: 'payment_due_date',
      subject: 'can_3',
      at: '2024-06-15T09:00:00-05:00',
      time_zone: 'America/Chicago',
      // From the statement cut to the next statement's due date: "-1 month" falls before it.
      window_start: '2024-05-20T09:00:00-05:00',
      window_end: '2024-07-15T09:00:00-05:00',
      payload: statement,
    });
    expect(anchor.status).toBe(201);
    expect(anchor.body.slots.map((s) => [s.key, s.due_at, s.state])).toEqual([
      ['offset:-5 days', '2024-06-10T14:00:00.000Z', 'planned'],
      ['offset:-2 days', '2024-06-13T14:00:00.000Z', 'planned'],
      ['offset:1 day', '2024-06-16T14:00:00.000Z', 'planned'],
    ]);

    for (const [i, t] of ['2024-06-10T14:00:00Z', '2024-06-13T14:00:00Z', '2024-06-16T14:00:00Z'].entries()) {
      expect(await fireAt(t)).toBe(1);
      await rx.waitFor(3 + i + 1);
    }
    expect(await fireAt('2024-07-20T00:00:00Z')).toBe(0);
    const got = at('/due').map(canopyBody);
    expect(got.map((g) => g.data.time_stamp)).toEqual([
      '2024-06-10T09:00:00.000-05:00',
      '2024-06-13T09:00:00.000-05:00',
      '2024-06-16T09:00:00.000-05:00',
    ]);
    expect(got.map((g) => g.data.days_past_due)).toEqual([0, 0, 1]);
    for (const g of got) {
      expect(g.event).toBe('payment_due_date');
      expect(g.data).toMatchObject(statement);
      expect(g.data).not.toHaveProperty('late');
    }
    const detail = await app.api<AnchorDetail>('GET', '/v1/tenants/lender/anchors/stmt_2024_06');
    expect(detail.body.slots.every((s) => s.state === 'fired' && s.late === false && s.event_id)).toBe(true);
    // Each reminder is an ordinary event, published by the scheduler.
    const ev = await app.api<{ source: string; type: string }>(
      'GET',
      `/v1/tenants/lender/events/${detail.body.slots[0]!.event_id}`,
    );
    expect(ev.body).toMatchObject({ source: 'reminder', type: 'payment_due_date' });
  });

  it('minimum_payment_missed: fires after the grace period plus each offset, and stops once the minimum is covered', async () => {
    for (const time_offset of ['1 day', '5 days', '10 days']) {
      await app.api('PUT', '/v1/tenants/lender/accounts/can_7/notification_config', {
        notification_type: 'minimum_payment_missed',
        time_offset,
      });
    }
    const payload = { account_id: 'can_7', customer_id: 'cus_7', statement_id: 'stmt_7_2024_07' };
    // The anchor is the due date plus the grace period.
    const anchor = await app.api<AnchorDetail>('PUT', '/v1/tenants/lender/anchors/stmt_7_2024_07-minpay', {
      event_type: 'minimum_payment_missed',
      subject: 'can_7',
      at: '2024-07-20T00:00:00-05:00',
      time_zone: 'America/Chicago',
      payload,
    });
    expect(anchor.body.slots).toHaveLength(3);

    expect(await fireAt('2024-07-21T05:00:00Z')).toBe(1);
    await rx.waitFor(7);
    expect(await fireAt('2024-07-25T05:00:00Z')).toBe(1);
    await rx.waitFor(8);
    // The borrower pays the minimum.
    await app.api('POST', '/v1/tenants/lender/anchors/stmt_7_2024_07-minpay/resolve');
    expect(await fireAt('2024-07-30T05:00:00Z')).toBe(0);
    expect(await fireAt('2024-08-30T05:00:00Z')).toBe(0);
    await new Promise((r) => setTimeout(r, 300));

    const got = at('/missed').map(canopyBody);
    expect(got).toHaveLength(2);
    expect(got.map((g) => g.data)).toEqual([
      { ...payload, time_stamp: '2024-07-21T00:00:00.000-05:00' },
      { ...payload, time_stamp: '2024-07-25T00:00:00.000-05:00' },
    ]);
    const detail = await app.api<AnchorDetail>('GET', '/v1/tenants/lender/anchors/stmt_7_2024_07-minpay');
    expect(detail.body.slots.map((s) => `${s.key}=${s.state}`)).toEqual([
      'offset:1 day=fired',
      'offset:5 days=fired',
      'offset:10 days=cancelled',
    ]);
    // Exactly the expected webhooks overall, nothing extra anywhere.
    expect(rx.requests).toHaveLength(8);
  });
});
