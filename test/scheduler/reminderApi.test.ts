// Reminder rules, anchors and calendars through the API, with an injected clock: refusals
// that say why, calendar arithmetic (DST in America/Chicago, "1 month" from January 31,
// business days over a weekend and a holiday), rescheduling, catch-up after downtime,
// refresh_url, and which rule governs an anchor.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';

const CATALOG = fileURLToPath(new URL('../../catalogs/canopy.json', import.meta.url));

interface SlotView {
  key: string;
  due_at: string;
  state: string;
  late: boolean | null;
  reason: string | null;
  last_error: string | null;
}
interface AnchorDetail {
  version: number;
  resolved_at: string | null;
  resolution: string | null;
  next_due_at: string | null;
  slots: SlotView[];
}
interface ErrorBody {
  error: { code: string; message: string };
}

const MINPAY = { account_id: 'a', customer_id: 'c', statement_id: 's' };
const DELINQUENT = {
  account_id: 'a',
  cure_amount: '10',
  customer_id: 'c',
  delinquent_as_of_date: '2024-01-01T00:00:00Z',
};

describe.each(engines())('reminders API (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let producer: Receiver;
  let produce: (body: unknown) => Reply = () => ({ status: 204 });
  const clock = new ManualClock(new Date('2024-01-01T00:00:00Z'));

  const T = '/v1/tenants/bank';
  const put = (p: string, body: unknown) => app.api<AnchorDetail & ErrorBody>('PUT', T + p, body);
  const get = (p: string) => app.api<AnchorDetail>('GET', T + p);
  const plan = async (anchor: string) =>
    (await get(`/anchors/${anchor}`)).body.slots.map((s) => `${s.key} ${s.due_at} ${s.state}`);
  async function fireAt(iso: string): Promise<number> {
    clock.set(new Date(iso));
    return app.tidings.scheduler!.drain();
  }
  /** Payloads the receiver got for one subject (raw profile: the body is the payload). */
  const received = (account: string) =>
    rx.requests
      .map((r) => JSON.parse(r.body) as Record<string, unknown>)
      .filter((p) => p.account_id === account);

  beforeAll(async () => {
    rx = await startReceiver();
    producer = await startReceiver((r) => produce(JSON.parse(r.body)));
    app = await startApp(engine, { TIDINGS_CATALOG: CATALOG }, { clock, roles: 'api,worker,scheduler' });
    await app.api('POST', '/v1/tenants', { id: 'bank', name: 'Bank' });
    await app.api('POST', `${T}/endpoints`, {
      url: `${rx.url}/hook`,
      profile: 'raw',
      event_types: ['payment_due_date', 'minimum_payment_missed', 'account_delinquency'],
    });
    await app.api('PUT', '/v1/event-types/bill.paid', { description: 'not a reminder type' });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
    await producer?.close();
  });

  it('refuses malformed rules with 422 and a message that says why', async () => {
    const cases: [unknown, RegExp][] = [
      [{ event_type: 'payment_due_date', offsets: ['two days'] }, /does not start with a number/],
      [{ event_type: 'payment_due_date', offsets: ['-2'] }, /has no unit/],
      [{ event_type: 'payment_due_date', offsets: ['5 fortnights'] }, /"fortnights" is not a known unit/],
      [{ event_type: 'payment_due_date', offsets: ['1.5 days'] }, /write "36 hours" instead/],
      [
        { event_type: 'account_delinquency', offsets: ['-1 day'] },
        /account_delinquency does not allow negative offsets/,
      ],
      [
        { event_type: 'payment_due_date', periodic_interval: 'DAILY' },
        /payment_due_date does not allow a periodic interval/,
      ],
      [
        { event_type: 'account_delinquency', periodic_interval: 'YEARLY' },
        /use one of HOURLY, DAILY, WEEKLY, MONTHLY/,
      ],
      [{ event_type: 'payment_due_date', offsets: ['1 day'], business_days: 'sometimes' }, /"following"/],
    ];
    for (const [body, message] of cases) {
      const r = await app.api<ErrorBody>('PUT', `${T}/reminder-rules`, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe('invalid_rule');
      expect(r.body.error.message).toMatch(message);
    }
    const unknown = await app.api<ErrorBody>('PUT', `${T}/reminder-rules`, {
      event_type: 'nope',
      offsets: ['1 day'],
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'unknown_event_type']);
    const plain = await app.api<ErrorBody>('PUT', `${T}/reminder-rules`, {
      event_type: 'bill.paid',
      offsets: ['1 day'],
    });
    expect([plain.status, plain.body.error.code]).toEqual([422, 'not_a_reminder_type']);

    // Canopy's route names Canopy's field.
    const canopy = await app.api<ErrorBody>('PUT', `${T}/accounts/acc/notification_config`, {
      notification_type: 'account_delinquency',
      time_offset: '-2 days',
    });
    expect(canopy.status).toBe(422);
    expect(canopy.body.error.message).toMatch(/account_delinquency does not allow negative offsets/);
    const word = await app.api<ErrorBody>('PUT', `${T}/accounts/acc/notification_config`, {
      notification_type: 'payment_due_date',
      time_offset: 'two days',
    });
    expect(word.body.error.message).toMatch(/^time_offset: "two days" does not start with a number/);
    expect((await app.api('GET', `${T}/accounts/acc/notification_config`)).body).toEqual({
      account_id: 'acc',
      data: [],
    });

    // Anchors: a zone that does not exist, a payload that cannot fit the type's schema.
    const zone = await put('/anchors/bad-zone', {
      event_type: 'minimum_payment_missed',
      subject: 'x',
      at: '2024-01-01T00:00:00Z',
      time_zone: 'Mars/Olympus',
      payload: MINPAY,
    });
    expect([zone.status, zone.body.error.code]).toEqual([422, 'invalid_time_zone']);
    const shape = await put('/anchors/bad-payload', {
      event_type: 'minimum_payment_missed',
      subject: 'x',
      at: '2024-01-01T00:00:00Z',
      payload: { account_id: 'a' },
    });
    expect([shape.status, shape.body.error.code]).toEqual([422, 'payload_invalid']);
    expect(shape.body.error.message).toMatch(/customer_id/);
  });

  it('"1 month" from January 31 is February 29; MONTHLY keeps to the month end', async () => {
    await put('/reminder-rules', {
      event_type: 'account_delinquency',
      subject: 'jan31',
      offsets: ['1 month'],
    });
    await put('/reminder-rules', {
      event_type: 'account_delinquency',
      subject: 'jan31m',
      periodic_interval: 'MONTHLY',
    });
    const anchor = {
      event_type: 'account_delinquency',
      at: '2024-01-31T10:00:00-06:00',
      time_zone: 'America/Chicago',
      payload: DELINQUENT,
    };
    await put('/anchors/jan31', { ...anchor, subject: 'jan31' });
    await put('/anchors/jan31m', { ...anchor, subject: 'jan31m' });
    expect(await plan('jan31')).toEqual(['offset:1 month 2024-02-29T16:00:00.000Z planned']);
    expect(await plan('jan31m')).toEqual([
      'periodic:MONTHLY:0 2024-01-31T16:00:00.000Z planned',
      'periodic:MONTHLY:1 2024-02-29T16:00:00.000Z planned',
      'periodic:MONTHLY:2 2024-03-31T15:00:00.000Z planned', // CDT since March 10
      'periodic:MONTHLY:3 2024-04-30T15:00:00.000Z planned',
    ]);
    // Done with these: resolve so later tests' clock jumps do not fire them.
    await app.api('POST', `${T}/anchors/jan31/resolve`);
    await app.api('POST', `${T}/anchors/jan31m/resolve`);
  });

  it('does calendar arithmetic in the anchor zone across DST (America/Chicago)', async () => {
    await put('/reminder-rules', {
      event_type: 'account_delinquency',
      subject: 'dst',
      offsets: ['1 day', '24 hours'],
    });
    const base = {
      event_type: 'account_delinquency',
      subject: 'dst',
      time_zone: 'America/Chicago',
      payload: DELINQUENT,
    };
    // Spring forward (2024-03-10 02:00): "1 day" is 23 hours, "24 hours" is an hour later on the wall clock.
    await put('/anchors/dst-spring', { ...base, at: '2024-03-09T12:00:00-06:00' });
    expect(await plan('dst-spring')).toEqual([
      'offset:1 day 2024-03-10T17:00:00.000Z planned',
      'offset:24 hours 2024-03-10T18:00:00.000Z planned',
    ]);
    // 01:30 on the eve of the fall-back change: "1 day" is 01:30 local the next day (an ambiguous
    // time, taken with the offset the anchor had), "24 hours" too, this once.
    await put('/anchors/dst-fall', { ...base, at: '2024-11-02T01:30:00-05:00' });
    expect(await plan('dst-fall')).toEqual([
      'offset:1 day 2024-11-03T06:30:00.000Z planned',
      'offset:24 hours 2024-11-03T06:30:00.000Z planned',
    ]);
    // A wall time that does not exist (02:30 on 2024-03-10) moves forward by the gap.
    await put('/anchors/dst-gap', { ...base, at: '2024-03-09T02:30:00-06:00' });
    expect((await plan('dst-gap'))[0]).toBe('offset:1 day 2024-03-10T08:30:00.000Z planned');
    // DAILY across fall-back: 09:00 local every day, 25 hours apart once.
    await put('/reminder-rules', {
      event_type: 'account_delinquency',
      subject: 'dst-daily',
      periodic_interval: 'DAILY',
    });
    await put('/anchors/dst-daily', { ...base, subject: 'dst-daily', at: '2024-11-02T09:00:00-05:00' });
    expect((await plan('dst-daily')).slice(0, 3)).toEqual([
      'periodic:DAILY:0 2024-11-02T14:00:00.000Z planned',
      'periodic:DAILY:1 2024-11-03T15:00:00.000Z planned',
      'periodic:DAILY:2 2024-11-04T15:00:00.000Z planned',
    ]);
    await app.api('POST', `${T}/anchors/dst-fall/resolve`);
    await app.api('POST', `${T}/anchors/dst-gap/resolve`);
    await app.api('POST', `${T}/anchors/dst-daily/resolve`);

    // Fired, the time_stamp is local with the new offset.
    expect(await fireAt('2024-03-10T17:00:00Z')).toBe(1);
    await rx.waitFor(1);
    expect(received('a').at(-1)).toMatchObject({
      time_stamp: '2024-03-10T12:00:00.000-05:00',
      number_of_days_delinquent: 1,
    });
    await app.api('POST', `${T}/anchors/dst-spring/resolve`);
  });

  it('moves fire times off weekends and holidays, and re-plans when the calendar changes', async () => {
    const cal = await app.api('PUT', `${T}/calendar`, {
      time_zone: 'America/New_York',
      weekend_days: [6, 7],
      holidays: ['2024-09-02'], // Labor Day, a Monday
    });
    expect(cal.status).toBe(200);
    expect(cal.body).toMatchObject({
      time_zone: 'America/New_York',
      weekend_days: [6, 7],
      holidays: ['2024-09-02'],
    });
    await put('/reminder-rules', {
      event_type: 'payment_due_date',
      subject: 'bd',
      offsets: ['-4 days', '-3 business days'],
      business_days: 'following',
    });
    // Due Wednesday 2024-09-04. "-4 days" is Saturday: the following business day is Tuesday,
    // since Monday is a holiday. "-3 business days" counts Tuesday, Friday, Thursday.
    const due = await put('/anchors/bd', {
      event_type: 'payment_due_date',
      subject: 'bd',
      at: '2024-09-04T10:00:00-04:00',
      payload: {
        ...MINPAY,
        account_id: 'bd',
        min_pay_due_cents: 1,
        min_pay_due_at: '2024-09-04',
        total_balance_cents: 1,
        delinquent_as_of_date: 'Not delinquent',
        min_pay_cents: 1,
        unpaid_min_pay_cents: 1,
      },
    });
    expect(due.status).toBe(201);
    expect(await plan('bd')).toEqual([
      'offset:-3 business days 2024-08-29T14:00:00.000Z planned',
      'offset:-4 days 2024-09-03T14:00:00.000Z planned',
    ]);
    // The anchor took the calendar's zone.
    expect((await get('/anchors/bd')).body).toMatchObject({ time_zone: 'America/New_York' });

    // Without the holiday, Saturday rolls to Monday and the count reaches Friday.
    await app.api('PUT', `${T}/calendar`, { time_zone: 'America/New_York', holidays: [] });
    expect(await plan('bd')).toEqual([
      'offset:-3 business days 2024-08-30T14:00:00.000Z planned',
      'offset:-4 days 2024-09-02T14:00:00.000Z planned',
    ]);
    const bad = await app.api<ErrorBody>('PUT', `${T}/calendar`, { holidays: ['2024-13-01'] });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'invalid_calendar']);

    expect(await fireAt('2024-08-30T14:00:00Z')).toBe(1);
    await rx.waitFor(2);
    expect(received('bd')).toHaveLength(1);
    await app.api('POST', `${T}/anchors/bd/resolve`);
  });

  it('re-plans what has not fired when an anchor moves; what fired stays fired', async () => {
    await put('/reminder-rules', {
      event_type: 'minimum_payment_missed',
      subject: 'mv',
      offsets: ['0 days', '3 days'],
    });
    const body = {
      event_type: 'minimum_payment_missed',
      subject: 'mv',
      at: '2024-10-01T12:00:00Z',
      payload: { ...MINPAY, account_id: 'mv' },
    };
    const first = await put('/anchors/mv', body);
    expect(first.body.version).toBe(1);
    expect(await fireAt('2024-10-01T12:00:00Z')).toBe(1);
    // The same PUT again (a producer retrying) changes nothing.
    const again = await put('/anchors/mv', body);
    expect([again.status, again.body.version]).toEqual([200, 1]);
    // The due date moves a week later.
    const moved = await put('/anchors/mv', { ...body, at: '2024-10-08T12:00:00Z' });
    expect(moved.body.version).toBe(2);
    expect(await plan('mv')).toEqual([
      'offset:0 days 2024-10-01T12:00:00.000Z fired',
      'offset:3 days 2024-10-11T12:00:00.000Z planned',
    ]);
    expect(moved.body.next_due_at).toBe('2024-10-11T12:00:00.000Z');
    expect(await fireAt('2024-10-04T12:00:00Z')).toBe(0);
    expect(await fireAt('2024-10-11T12:00:00Z')).toBe(1);
    await rx.waitFor(4);
    expect(received('mv')).toHaveLength(2);
  });

  it('after downtime fires each missed offset once and a periodic rule once, marked late', async () => {
    await put('/reminder-rules', {
      event_type: 'account_delinquency',
      subject: 'down',
      periodic_interval: 'DAILY',
    });
    await put('/anchors/down', {
      event_type: 'account_delinquency',
      subject: 'down',
      at: '2024-12-01T08:00:00Z',
      time_zone: 'UTC',
      payload: { ...DELINQUENT, account_id: 'down' },
    });
    await put('/reminder-rules', {
      event_type: 'minimum_payment_missed',
      subject: 'down2',
      offsets: ['1 day', '2 days'],
    });
    await put('/anchors/down2', {
      event_type: 'minimum_payment_missed',
      subject: 'down2',
      at: '2024-12-01T08:00:00Z',
      payload: { ...MINPAY, account_id: 'down2' },
    });
    expect(await fireAt('2024-12-01T08:00:00Z')).toBe(1);
    await rx.waitFor(5);
    // The scheduler is away for five and a half days.
    expect(await fireAt('2024-12-06T20:00:00Z')).toBe(3);
    await rx.waitFor(8);
    const daily = received('down');
    expect(daily).toHaveLength(2);
    expect(daily[0]).not.toHaveProperty('late');
    expect(daily[1]).toMatchObject({
      late: true,
      number_of_days_delinquent: 5,
      time_stamp: '2024-12-06T20:00:00.000Z',
    });
    const missed = received('down2');
    expect(missed).toHaveLength(2);
    expect(missed.every((p) => p.late === true)).toBe(true);

    const slots = (await get('/anchors/down')).body.slots;
    const byKey = Object.fromEntries(slots.map((s) => [s.key, s]));
    expect(byKey['periodic:DAILY:0']).toMatchObject({ state: 'fired', late: false });
    expect(byKey['periodic:DAILY:5']).toMatchObject({ state: 'fired', late: true });
    for (const k of ['periodic:DAILY:1', 'periodic:DAILY:2', 'periodic:DAILY:3']) {
      expect(byKey[k]).toMatchObject({ state: 'skipped', reason: 'superseded' });
    }
    expect(byKey['periodic:DAILY:6']).toMatchObject({ state: 'planned' });
    // And back on time the next day.
    expect(await fireAt('2024-12-07T08:00:00Z')).toBe(1);
    await rx.waitFor(9);
    expect(received('down').at(-1)).toMatchObject({ number_of_days_delinquent: 6 });
    expect(received('down').at(-1)).not.toHaveProperty('late');
    await app.api('POST', `${T}/anchors/down/resolve`);
  });

  it('asks refresh_url for the current payload; resolved, 404 and 410 resolve the anchor; failures back off', async () => {
    const rule = await put('/reminder-rules', {
      event_type: 'minimum_payment_missed',
      offsets: ['1 day'],
      refresh_url: `${producer.url}/current`,
    });
    expect(rule.status).toBe(201);
    const asked: string[] = [];
    produce = (q) => {
      const { anchor_id, payload } = q as { anchor_id: string; payload: Record<string, unknown> };
      asked.push(anchor_id);
      if (anchor_id === 'fresh')
        return { status: 200, body: JSON.stringify({ payload: { ...payload, statement_id: 'fresh-stmt' } }) };
      if (anchor_id === 'paid') return { status: 200, body: '{"resolved": true}' };
      if (anchor_id === 'gone') return { status: 410 };
      if (anchor_id === 'same') return { status: 204 };
      return { status: 503 };
    };
    for (const id of ['fresh', 'paid', 'gone', 'same', 'flaky']) {
      await put(`/anchors/${id}`, {
        event_type: 'minimum_payment_missed',
        subject: id,
        at: '2025-01-10T00:00:00Z',
        time_zone: 'UTC',
        payload: { ...MINPAY, account_id: id },
      });
    }
    expect(await fireAt('2025-01-11T00:00:00Z')).toBe(2);
    await rx.waitFor(11);
    expect(asked.sort()).toEqual(['flaky', 'fresh', 'gone', 'paid', 'same']);
    expect(received('fresh')).toEqual([
      { ...MINPAY, account_id: 'fresh', statement_id: 'fresh-stmt', time_stamp: '2025-01-11T00:00:00.000Z' },
    ]);
    expect(received('same')).toEqual([
      { ...MINPAY, account_id: 'same', time_stamp: '2025-01-11T00:00:00.000Z' },
    ]);
    for (const id of ['paid', 'gone']) {
      const a = (await get(`/anchors/${id}`)).body;
      expect(a).toMatchObject({ resolution: 'refresh' });
      expect(a.slots[0]).toMatchObject({ state: 'cancelled', reason: 'resolved' });
    }
    const flaky = (await get('/anchors/flaky')).body.slots[0]!;
    expect(flaky.state).toBe('planned');
    expect(flaky.last_error).toMatch(/503/);
    // Nothing goes out stale while the producer is down; once it answers, the reminder fires, late.
    expect(await fireAt('2025-01-11T00:00:01Z')).toBe(0);
    produce = () => ({ status: 204 });
    expect(await fireAt('2025-01-11T00:00:30Z')).toBe(1);
    await rx.waitFor(12);
    expect(received('flaky')).toEqual([
      { ...MINPAY, account_id: 'flaky', time_stamp: '2025-01-11T00:00:30.000Z' },
    ]);
    await app.api('DELETE', `${T}/reminder-rules?event_type=minimum_payment_missed`);
  });

  it("a subject's rule overrides the tenant default; deleting it falls back, deleting both stops", async () => {
    clock.set(new Date('2025-02-01T00:00:00Z'));
    await put('/reminder-rules', { event_type: 'account_delinquency', offsets: ['1 day'] });
    await put('/anchors/ov', {
      event_type: 'account_delinquency',
      subject: 'ov',
      at: '2025-03-01T00:00:00Z',
      payload: DELINQUENT,
    });
    expect(await plan('ov')).toEqual(['offset:1 day 2025-03-02T00:00:00.000Z planned']);
    await put('/reminder-rules', { event_type: 'account_delinquency', subject: 'ov', offsets: ['2 days'] });
    expect(await plan('ov')).toEqual([
      'offset:1 day 2025-03-02T00:00:00.000Z cancelled',
      'offset:2 days 2025-03-03T00:00:00.000Z planned',
    ]);
    const rules = await app.api<{ data: { subject: string | null; offsets: string[]; mode: string }[] }>(
      'GET',
      `${T}/reminder-rules?event_type=account_delinquency`,
    );
    expect(rules.body.data.map((r) => [r.subject, r.offsets])).toContainEqual([null, ['1 day']]);
    expect(rules.body.data.map((r) => [r.subject, r.offsets])).toContainEqual(['ov', ['2 days']]);
    expect(
      (await app.api('DELETE', `${T}/reminder-rules?event_type=account_delinquency&subject=ov`)).status,
    ).toBe(204);
    expect(await plan('ov')).toEqual([
      'offset:1 day 2025-03-02T00:00:00.000Z planned',
      'offset:2 days 2025-03-03T00:00:00.000Z cancelled',
    ]);
    expect((await app.api('DELETE', `${T}/reminder-rules?event_type=account_delinquency`)).status).toBe(204);
    expect(await plan('ov')).toEqual([
      'offset:1 day 2025-03-02T00:00:00.000Z cancelled',
      'offset:2 days 2025-03-03T00:00:00.000Z cancelled',
    ]);
    expect((await get('/anchors/ov')).body.slots[0]!.reason).toBe('no rule');
    expect((await app.api('DELETE', `${T}/reminder-rules?event_type=account_delinquency`)).status).toBe(404);
  });

  it('notification_config: repeated PUTs add offsets, DELETE removes one, the interval, or the type', async () => {
    const path = `${T}/accounts/can_5/notification_config`;
    for (const time_offset of ['1 day', '+1 day', '3 days']) {
      await app.api('PUT', path, { notification_type: 'account_delinquency', time_offset });
    }
    const periodic = await app.api('PUT', path, {
      notification_type: 'account_delinquency',
      periodic_interval: 'daily',
    });
    expect(periodic.body).toEqual({
      notification_type: 'account_delinquency',
      time_offsets: ['1 day', '3 days'],
      periodic_interval: 'DAILY',
    });
    // Removing the interval brings the offsets back; then remove one offset by query, one by body.
    await app.api('DELETE', `${path}?notification_type=account_delinquency&periodic_interval=DAILY`);
    const one = await app.api<{ data: unknown[] }>(
      'DELETE',
      `${path}?notification_type=account_delinquency&time_offset=1%20day`,
    );
    expect(one.body.data).toEqual([
      { notification_type: 'account_delinquency', time_offsets: ['3 days'], periodic_interval: null },
    ]);
    const missing = await app.api<ErrorBody>('DELETE', path, {
      notification_type: 'account_delinquency',
      time_offset: '7 days',
    });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'time_offset_not_found']);
    const last = await app.api<{ data: unknown[] }>('DELETE', path, {
      notification_type: 'account_delinquency',
      time_offset: '3 days',
    });
    expect(last.body.data).toEqual([]);
    await app.api('PUT', path, { notification_type: 'payment_due_date', time_offset: '-2 days' });
    await app.api('PUT', path, { notification_type: 'minimum_payment_missed' });
    expect((await app.api<{ data: unknown[] }>('GET', path)).body.data).toHaveLength(2);
    expect((await app.api<{ data: unknown[] }>('DELETE', path)).body.data).toEqual([]);
  });
});
