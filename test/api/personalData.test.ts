// Personal data, following canopy-event-types.txt: its account_create example carries a
// customer's ssn, date of birth and bank account numbers. The shipped catalog marks them
// `redact`: a tenant (token or portal) sees "[redacted]", the operator sees the payload, the
// receiver gets the body unchanged, and the values are never logged. Erase removes the
// payload and the kept bodies, keeping ids, hashes and a verifiable chain.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealAttempts, verifyChains } from '../../src/delivery/auditChain.js';
import { captureLog } from '../delivery/appLog.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Browser, launchBrowser, portalLink, signIn } from '../portal/browser.js';
import { canopyExample, createEndpoint, loadCatalog, publishRaw, settled } from '../providers/support.js';

const SSN = '888888888';
const DOB = '1985-06-20';
const NACHA_ACCOUNT = '987654321';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

type Json = Record<string, unknown>;

describe.each(engines())('personal data (%s)', (engine) => {
  let app: TestApp;
  let receiver: Receiver;
  let token = '';
  let eventId = '';
  let deliveryId = '';
  const logs = captureLog('trace');

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200 }));
    app = await startApp(engine, { TIDINGS_LOG_LEVEL: 'trace' }, { log: logs.log });
    await loadCatalog(app, 'canopy');
    expect((await app.api('POST', '/v1/tenants', { id: 'lendco', name: 'LendCo' })).status).toBe(201);
    await createEndpoint(app, 'lendco', { url: `${receiver.url}/canopy`, profile: 'canopy' });
    const t = await app.api<{ token: string }>('POST', '/v1/tenants/lendco/tokens', { name: 'client' });
    expect(t.status).toBe(201);
    token = t.body.token;
    const ex = canopyExample('account_create');
    const pub = await publishRaw(app, 'lendco', `{"type":"account_create","payload":${ex.data}}`);
    eventId = pub.id;
    const [d] = await settled(app, 'lendco', eventId);
    deliveryId = (d as unknown as { id: string }).id;
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('the catalog names the pointers; the wire body is unchanged', async () => {
    const types = await app.api<{ data: { name: string; redact: string[] | null }[] }>(
      'GET',
      '/v1/event-types',
    );
    expect(types.body.data.find((t) => t.name === 'account_create')!.redact).toContain(
      '/object/customers/*/ssn',
    );
    const got = receiver.requests.find((r) => r.headers['webhook-id'] === eventId)!;
    expect(got.body).toContain(`"ssn":"${SSN}"`);
    expect(got.body).toContain(`"date_of_birth":"${DOB}"`);
    expect(got.body).toContain(`"bank_account_number":"${NACHA_ACCOUNT}"`);
  });

  it('a tenant token reads the event and the sent body redacted; the operator reads them whole', async () => {
    const mine = await app.api<{ payload: Json }>('GET', `/v1/tenants/lendco/events/${eventId}`, undefined, {
      token,
    });
    expect(mine.status).toBe(200);
    const object = mine.body.payload.object as Json;
    const customer = (object.customers as Json[])[0]!;
    expect(customer.ssn).toBe('[redacted]');
    expect(customer.date_of_birth).toBe('[redacted]');
    expect(customer.name_first).toBe('Miriam'); // the rest is as published
    const controller = (customer.business_details as { controller: Json }).controller;
    expect(controller.ssn).toBe('[redacted]');
    expect(JSON.stringify(mine.body)).not.toContain(SSN);
    expect(JSON.stringify(mine.body)).not.toContain(NACHA_ACCOUNT);

    const list = await app.api<{ data: Json[] }>('GET', '/v1/tenants/lendco/events', undefined, { token });
    expect(JSON.stringify(list.body)).toContain('[redacted]');
    expect(JSON.stringify(list.body)).not.toContain(SSN);

    const operator = await app.api<{ payload: Json }>('GET', `/v1/tenants/lendco/events/${eventId}`);
    expect(JSON.stringify(operator.body.payload)).toContain(SSN);

    const got = receiver.requests.find((r) => r.headers['webhook-id'] === eventId)!;
    const body = await app.api<{ body: string; sha256: string; redacted: boolean }>(
      'GET',
      `/v1/tenants/lendco/deliveries/${deliveryId}/request-body`,
      undefined,
      { token },
    );
    expect(body.status).toBe(200);
    expect(body.body.redacted).toBe(true);
    expect(body.body.body).not.toContain(SSN);
    expect(body.body.body).not.toContain(DOB);
    expect(body.body.body).toContain('[redacted]');
    // The hash is of what was sent, not of the view.
    expect(body.body.sha256).toBe(sha256(got.body));
    const whole = await app.api<{ body: string; redacted: boolean }>(
      'GET',
      `/v1/tenants/lendco/deliveries/${deliveryId}/request-body`,
    );
    expect(whole.body.redacted).toBe(false);
    expect(whole.body.body).toBe(got.body);
  });

  it.runIf(engine === 'pglite')('the portal shows the sent body redacted (Chromium)', async () => {
    let b: Browser | undefined;
    try {
      b = await launchBrowser();
      await signIn(b.page, await portalLink(app, 'lendco'));
      await b.page.goto(`${app.url}/portal/deliveries/${deliveryId}`);
      const shown = (await b.page.locator('#request-body').textContent()) ?? '';
      expect(shown).toContain('[redacted]');
      expect(shown).not.toContain(SSN);
      expect(shown).not.toContain(NACHA_ACCOUNT);
      const got = receiver.requests.find((r) => r.headers['webhook-id'] === eventId)!;
      expect(await b.page.locator('#request-body-sha256').textContent()).toBe(sha256(got.body));
    } finally {
      await b?.close();
    }
  });

  it('never logs the values', () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    const all = logs.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(all).not.toContain(SSN);
    expect(all).not.toContain(DOB);
    expect(all).not.toContain(NACHA_ACCOUNT);
  });

  it('erase (operator) removes the payload and kept bodies; ids, hashes and the chain stay', async () => {
    const refused = await app.api('POST', `/v1/tenants/lendco/events/${eventId}/erase`, undefined, { token });
    expect(refused.status).toBe(403);
    const payloadText = (
      await app.testDb.db.query<{ p: string }>('SELECT payload::text AS p FROM events WHERE id = $1', [
        eventId,
      ])
    )[0]!.p;
    const r = await app.api<{ payload_sha256: string; bodies_removed: number }>(
      'POST',
      `/v1/tenants/lendco/events/${eventId}/erase`,
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.bodies_removed).toBe(1);
    expect(r.body.payload_sha256).toBe(sha256(payloadText));

    const ev = await app.api<{
      id: string;
      payload: unknown;
      erased_at: string | null;
      deliveries: unknown[];
    }>('GET', `/v1/tenants/lendco/events/${eventId}`);
    expect(ev.body.id).toBe(eventId);
    expect(ev.body.payload).toBeNull();
    expect(ev.body.erased_at).not.toBeNull();
    expect(ev.body.deliveries).toHaveLength(1);
    const gone = await app.api<{ error: { code: string; details: { sha256: string } } }>(
      'GET',
      `/v1/tenants/lendco/deliveries/${deliveryId}/request-body`,
    );
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('body_not_kept');
    const got = receiver.requests.find((r) => r.headers['webhook-id'] === eventId)!;
    expect(gone.body.error.details.sha256).toBe(sha256(got.body));
    const detail = await app.api<{ attempt_log: { body_sha256: string }[] }>(
      'GET',
      `/v1/tenants/lendco/deliveries/${deliveryId}`,
    );
    expect(detail.body.attempt_log[0]!.body_sha256).toBe(sha256(got.body));
    const resend = await app.api<{ error: { code: string } }>(
      'POST',
      `/v1/tenants/lendco/deliveries/${deliveryId}/resend`,
    );
    expect(resend.status).toBe(409);
    expect(resend.body.error.code).toBe('event_erased');
    // Nothing of the payload is left in the store.
    const left = await app.testDb.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE payload::text LIKE '%' || $1 || '%'`,
      [SSN],
    );
    expect(left[0]!.n).toBe(0);

    for (;;) {
      const n = await sealAttempts({ db: app.testDb.db, clock: app.tidings.ctx.clock, settleMs: 0 });
      if (n === 0) break;
      if (n < 0) await new Promise((res) => setTimeout(res, 20));
    }
    const report = await verifyChains(app.testDb.db, { tenant: 'lendco' });
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(1);
  });
});
