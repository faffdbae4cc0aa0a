// Issue 15 in the portal, in Chromium: the event catalog page (descriptions, schema, example,
// deprecation); the payload filter edited on the endpoint page and tried on a sample payload
// of a type (its catalog example, then an edit of it) before it is saved; a test event of a
// chosen type reaches the receiver with its example and `tidings-test: true`; and real events
// are filtered by what was saved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Browser, launchBrowser, pageProblems, portalLink, shoot, signIn } from './browser.js';

const PAID_EXAMPLE = { invoice_id: 'inv_1', amount_cents: 150000, currency: 'EUR' };
const VOID_EXAMPLE = { invoice_id: 'inv_2', reason: 'duplicate' };

describe('catalog, payload filter and typed test events in the portal, in Chromium', () => {
  let app: TestApp;
  let rx: Receiver;
  let b: Browser;
  let endpointId = '';

  beforeAll(async () => {
    rx = await startReceiver();
    app = await startApp('pglite');
    const put = (name: string, body: Record<string, unknown>) =>
      app.api('PUT', `/v1/event-types/${name}`, body);
    expect(
      (
        await put('invoice.paid', {
          description: 'An invoice was paid in full.',
          schema: { type: 'object', required: ['invoice_id', 'amount_cents'] },
          examples: [PAID_EXAMPLE],
        })
      ).status,
    ).toBe(201);
    expect(
      (await put('invoice.voided', { description: 'An invoice was voided.', examples: [VOID_EXAMPLE] }))
        .status,
    ).toBe(201);
    expect(
      (
        await put('invoice.cancelled', {
          description: 'Old name.',
          deprecated: { reason: 'Use invoice.voided.' },
        })
      ).status,
    ).toBe(201);
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    const ep = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${rx.url}/hooks`,
      event_types: ['invoice.paid', 'invoice.voided'],
    });
    expect(ep.status).toBe(201);
    endpointId = ep.body.id;
    b = await launchBrowser();
    await signIn(b.page, await portalLink(app, 'acme'));
  });
  afterAll(async () => {
    await b?.close();
    await app?.stop();
    await rx?.close();
  });

  it('shows the event catalog: descriptions, schema, an example, deprecation', async () => {
    const { page } = b;
    await page.getByRole('link', { name: 'Event catalog' }).click();
    await page.waitForURL(/\/portal\/catalog$/);
    const paid = page.locator('[data-event-type="invoice.paid"]');
    expect(await paid.textContent()).toContain('An invoice was paid in full.');
    expect(JSON.parse((await paid.locator('[data-example]').textContent()) ?? '')).toEqual(PAID_EXAMPLE);
    await paid.getByText('Payload schema').click();
    expect(JSON.parse((await paid.locator('[data-schema]').textContent()) ?? '')).toMatchObject({
      required: ['invoice_id', 'amount_cents'],
    });
    const old = page.locator('[data-event-type="invoice.cancelled"]');
    expect(await old.locator('[data-deprecated]').textContent()).toContain('Use invoice.voided.');
    expect(await pageProblems(page)).toEqual([]);
    await shoot(page, 'event-catalog');
  });

  it('edits the filter and tests it against a sample payload of the type before saving', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal/endpoints/${endpointId}`);
    await page
      .getByLabel('Filter (JSON)')
      .fill('{"amount_cents": {"$gte": 100000}, "currency": {"$in": ["EUR", "USD"]}}');
    await page.getByLabel('Sample payload of type').selectOption('invoice.paid');
    await page.getByRole('button', { name: 'Use its example' }).click();
    expect(JSON.parse(await page.getByLabel('Sample payload', { exact: true }).inputValue())).toEqual(
      PAID_EXAMPLE,
    );
    // What was typed in the filter is kept across the reload.
    expect(await page.getByLabel('Filter (JSON)').inputValue()).toContain('$gte');
    await page.getByRole('button', { name: 'Test against the sample' }).click();
    expect(await page.locator('[data-filter-result]').getAttribute('data-filter-result')).toBe('match');
    await page
      .getByLabel('Sample payload', { exact: true })
      .fill('{"invoice_id": "inv_3", "amount_cents": 900, "currency": "EUR"}');
    await page.getByRole('button', { name: 'Test against the sample' }).click();
    expect(await page.locator('[data-filter-result]').getAttribute('data-filter-result')).toBe('no-match');
    // A bad filter is explained, not saved.
    await page.getByLabel('Filter (JSON)').fill('{"amount_cents": {"$between": [1, 2]}}');
    await page.getByRole('button', { name: 'Save filter' }).click();
    expect(await page.locator('[data-filter-result="error"]').textContent()).toContain(
      'amount_cents.$between',
    );
    expect(
      (await app.api<{ filter: unknown }>('GET', `/v1/tenants/acme/endpoints/${endpointId}`)).body.filter,
    ).toBeNull();
    await page.getByLabel('Filter (JSON)').fill('{"amount_cents": {"$gte": 100000}}');
    await page.getByRole('button', { name: 'Save filter' }).click();
    await page.waitForURL(/done=filter-saved/);
    expect(await pageProblems(page)).toEqual([]);
    await shoot(page, 'endpoint-filter');
    const saved = await app.api<{ filter: unknown }>('GET', `/v1/tenants/acme/endpoints/${endpointId}`);
    expect(saved.body.filter).toEqual({ amount_cents: { $gte: 100000 } });
  });

  it('sends a test event of a chosen type: the receiver gets its example with tidings-test: true', async () => {
    const { page } = b;
    await page.locator('#test-type').selectOption('invoice.voided');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect
      .poll(() => page.locator('[data-test-outcome]').getAttribute('data-test-outcome'), { timeout: 20_000 })
      .toBe('delivered');
    const [got] = await rx.waitFor(1);
    expect(got!.headers['tidings-test']).toBe('true');
    // The filter does not apply to a test event: it is addressed to this endpoint.
    expect(JSON.parse(got!.body)).toMatchObject({ type: 'invoice.voided', data: VOID_EXAMPLE });
  });

  it('the saved filter decides which real events arrive', async () => {
    for (const amount_cents of [50, 250000]) {
      const r = await app.api('POST', '/v1/tenants/acme/events', {
        type: 'invoice.paid',
        payload: { invoice_id: `inv_${amount_cents}`, amount_cents },
      });
      expect(r.status).toBe(202);
    }
    await rx.waitFor(2);
    await new Promise((r) => setTimeout(r, 300));
    const real = rx.requests.filter((r) => r.headers['tidings-test'] === undefined);
    expect(real.map((r) => JSON.parse(r.body).data.amount_cents)).toEqual([250000]);
  });
});
