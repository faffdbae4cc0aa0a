// A tenant's whole journey through the portal in a real browser: sign in with a link,
// create an endpoint pointing at a real receiver, send a test event and see it arrive and
// show as delivered, open the attempt, rotate the secret and verify the next delivery with
// the new one, resend a failed delivery, edit, set reminders, disable and delete.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Browser, launchBrowser, pageProblems, portalLink, shoot } from './browser.js';

function verify(secret: string, got: Received): unknown {
  return new Webhook(secret).verify(got.body, {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  });
}

describe('the portal, in Chromium', () => {
  let app: TestApp;
  let rx: Receiver;
  let b: Browser;
  let endpointUrl = '';
  let endpointId = '';
  let secret = '';

  beforeAll(async () => {
    rx = await startReceiver(() => ({
      status: 200,
      body: '{"received":true}',
      headers: { 'content-type': 'application/json' },
    }));
    app = await startApp('pglite', { TIDINGS_PORTAL_NAME: 'Highline Pay', TIDINGS_PORTAL_ACCENT: '#0f6e5f' });
    const types = [
      ['bill_payments.paid', 'bill_payments', 'A bill payment was paid to the biller.', true],
      ['bill_payments.failed', 'bill_payments', 'A bill payment was returned or failed.', true],
      ['settlements.sent', 'settlements', 'A settlement was sent to your bank account.', false],
    ] as const;
    for (const [name, group, description, default_enabled] of types) {
      expect(
        (await app.api('PUT', `/v1/event-types/${name}`, { group, description, default_enabled })).status,
      ).toBeLessThan(300);
    }
    await app.api('PUT', '/v1/event-types/payment_due_date', {
      group: 'reminders',
      description: 'Sent ahead of a statement due date.',
      default_enabled: false,
      reminder: { anchor: 'statement due date', negative_offsets: true, periodic: false },
    });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Utilities' });
    b = await launchBrowser();
  });
  afterAll(async () => {
    await b?.close();
    await app?.stop();
    await rx?.close();
  });

  it('signs in with a one-time link', async () => {
    const { page } = b;
    const url = await portalLink(app, 'acme');
    await page.goto(url);
    await expect.poll(() => page.title()).toContain('Highline Pay');
    await shoot(page, 'sign-in');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/portal$/);
    expect(await page.locator('.tenant').textContent()).toBe('Acme Utilities');
    const cookie = (await b.context.cookies()).find((c) => c.name === 'tidings_portal');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    await shoot(page, 'endpoints-empty');
    // The keyboard's first stop skips the header.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toBe('#main');
  });

  it('creates an endpoint with chosen event types, a profile and an auth header', async () => {
    const { page } = b;
    await page.getByRole('link', { name: 'Add endpoint' }).click();
    endpointUrl = `${rx.url}/hooks/acme`;
    await page.getByLabel('Endpoint URL').fill(endpointUrl);
    await page.getByLabel('Description').fill('Production billing server');
    // The catalog, grouped by topic, default-enabled types marked.
    await expect
      .poll(() => page.locator('fieldset.group legend').allTextContents())
      .toEqual(['bill_payments', 'reminders', 'settlements']);
    expect(
      await page.locator('label.type', { hasText: 'bill_payments.paid' }).locator('.badge').textContent(),
    ).toBe('default');
    expect(await page.locator('label.type', { hasText: 'settlements.sent' }).locator('.badge').count()).toBe(
      0,
    );
    // The page script hides the list until "Only the event types I choose" is picked.
    expect(await page.locator('#types').isHidden()).toBe(true);
    await page.getByLabel('Only the event types I choose').check();
    await page.getByLabel(/bill_payments\.paid/).check();
    await page.getByLabel(/settlements\.sent/).check();
    await page.getByLabel('Payload format').selectOption('standard');
    await page.getByLabel('Header name').fill('X-Api-Key');
    await page.getByLabel('Header value').fill('key-live-1234567890');
    await shoot(page, 'endpoint-new');
    expect(await pageProblems(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.waitForURL(/\/portal\/endpoints\/ep_[^/?]+\?done=created$/);
    endpointId = /endpoints\/(ep_[^/?]+)/.exec(page.url())![1]!;
    await expect.poll(() => page.locator('.flash-ok').textContent()).toContain('Endpoint created');
    // The header value is masked from now on; the full value is nowhere on the page.
    expect(await page.locator('code.masked').first().textContent()).toBe('X-Api-Key: ****90');
    expect(await page.content()).not.toContain('key-live-1234567890');
    const api = await app.api<{ event_types: string[]; headers: Record<string, string> }>(
      'GET',
      `/v1/tenants/acme/endpoints/${endpointId}`,
    );
    expect(api.body.event_types).toEqual(['bill_payments.paid', 'settlements.sent']);
  });

  it('reveals the secret on click', async () => {
    const { page } = b;
    const code = page.locator('#secret');
    expect(await code.textContent()).toContain('••••');
    await page.getByRole('button', { name: 'Reveal' }).click();
    await expect.poll(() => code.textContent()).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    secret = (await code.textContent()) ?? '';
    const api = await app.api<{ secret: string }>('GET', `/v1/tenants/acme/endpoints/${endpointId}/secret`);
    expect(secret).toBe(api.body.secret);
  });

  it('sends a test event: it arrives signed, and shows as delivered', async () => {
    const { page } = b;
    await page.getByRole('button', { name: 'Send test event' }).click();
    const outcome = page.locator('[data-test-outcome]');
    await expect.poll(() => outcome.getAttribute('data-test-outcome'), { timeout: 20_000 }).toBe('delivered');
    expect(await outcome.textContent()).toMatch(/Delivered: HTTP 200 in \d+ ms/);
    const [got] = await rx.waitFor(1);
    expect(got!.path).toBe('/hooks/acme');
    expect(got!.headers['x-api-key']).toBe('key-live-1234567890');
    expect(verify(secret, got!)).toMatchObject({ type: 'tidings.test', data: { endpoint_id: endpointId } });
    // Sent to this endpoint only, although it does not subscribe to tidings.test.
    expect(rx.requests).toHaveLength(1);
    await page.reload();
    await expect.poll(() => page.locator('table.log tbody tr').count()).toBe(1);
    expect(await page.locator('table.log tbody tr .badge').textContent()).toBe('Delivered');
    expect(await page.locator('.health .badge').textContent()).toBe('Healthy');
    expect(await pageProblems(page)).toEqual([]);
    await shoot(page, 'endpoint');
  });

  it('opens the attempt: request headers and body, response status and body, duration', async () => {
    const { page } = b;
    await page
      .locator('table.log tbody tr')
      .first()
      .getByRole('link', { name: /Details/ })
      .click();
    await page.waitForURL(/\/portal\/deliveries\/dlv_\d+$/);
    const attempt = page.locator('details.attempt').first();
    expect(await attempt.locator('summary').textContent()).toMatch(/Attempt 1\s+HTTP 200\s+\d+ ms/);
    const requestHeaders = attempt.locator('table.headers').first();
    expect(
      await requestHeaders.locator('tr', { hasText: 'webhook-signature' }).locator('td').textContent(),
    ).toMatch(/^v1,/);
    // The static header is recorded masked in the attempt log.
    expect(await requestHeaders.locator('tr', { hasText: 'X-Api-Key' }).locator('td').textContent()).toBe(
      '****90',
    );
    expect(await attempt.locator('pre.body').textContent()).toBe('{"received":true}');
    // The request body shown is byte for byte the one the receiver got.
    expect(await page.locator('#request-body').textContent()).toBe(rx.requests[0]!.body);
    await shoot(page, 'delivery');
  });

  it('rotates the secret; the next delivery verifies with the new one', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal/endpoints/${endpointId}`);
    const rotation = app.tidings.api!.hasRoute({
      method: 'POST',
      url: '/v1/tenants/:tid/endpoints/:eid/secret/rotate',
    });
    expect(rotation).toBe(true);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.waitForURL(/done=rotated/);
    await page.getByRole('button', { name: 'Reveal' }).click();
    await expect.poll(() => page.locator('#secret').textContent()).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    const fresh = (await page.locator('#secret').textContent()) ?? '';
    expect(fresh).not.toBe(secret);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect
      .poll(() => page.locator('[data-test-outcome]').getAttribute('data-test-outcome'), { timeout: 20_000 })
      .toBe('delivered');
    const [, second] = await rx.waitFor(2);
    expect(verify(fresh, second!)).toMatchObject({ type: 'tidings.test' });
    secret = fresh;
  });

  it('resends a failed delivery from the log', async () => {
    const { page } = b;
    const before = rx.requests.length;
    rx.setResponder(() => ({ status: 503, body: 'maintenance' }));
    await page.goto(`${app.url}/portal/endpoints/${endpointId}`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect
      .poll(() => page.locator('[data-test-outcome]').getAttribute('data-test-outcome'), { timeout: 20_000 })
      .toBe('failed');
    // Retries every 100-300 ms in tests; four attempts, then it gives up.
    await rx.waitFor(before + 4);
    await page.getByLabel('Failed only').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/failed=1/);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('table.log tbody tr .badge').allTextContents();
        },
        { timeout: 20_000 },
      )
      .toEqual(['Failed']);
    expect(await page.locator('.health .badge').textContent()).toBe('Failing');
    await shoot(page, 'endpoint-failed');
    rx.setResponder(() => ({ status: 200, body: 'back' }));
    await page
      .locator('table.log tbody tr')
      .first()
      .getByRole('button', { name: /Resend/ })
      .click();
    await page.waitForURL(/done=resent/);
    expect(await page.locator('.flash-ok').textContent()).toContain('Queued for another attempt');
    await rx.waitFor(before + 5);
    await page.getByRole('link', { name: 'Clear' }).click();
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('table.log tbody tr .badge').first().textContent();
        },
        { timeout: 20_000 },
      )
      .toBe('Delivered');
    await page
      .locator('table.log tbody tr')
      .first()
      .getByRole('link', { name: /Details/ })
      .click();
    expect(await page.locator('details.attempt').count()).toBe(5);
    expect(await page.locator('details.attempt summary').first().textContent()).toMatch(
      /Attempt 5\s+HTTP 200/,
    );
  });

  it('recovers every failed delivery since a time', async () => {
    const { page } = b;
    if (!app.tidings.api!.hasRoute({ method: 'POST', url: '/v1/tenants/:tid/endpoints/:eid/recover' }))
      return;
    const before = rx.requests.length;
    rx.setResponder(() => ({ status: 500, body: 'broken' }));
    await page.goto(`${app.url}/portal/endpoints/${endpointId}`);
    for (let i = 0; i < 2; i++) {
      await page.getByRole('button', { name: 'Send test event' }).click();
      await expect
        .poll(() => page.locator('[data-test-outcome]').getAttribute('data-test-outcome'), {
          timeout: 20_000,
        })
        .toBe('failed');
      await page.locator('#test-result').evaluate('(el) => el.replaceChildren()');
    }
    const failed = async () =>
      (
        await app.api<{ data: unknown[] }>(
          'GET',
          `/v1/tenants/acme/endpoints/${endpointId}/deliveries?state=failed`,
        )
      ).body.data.length;
    await expect.poll(failed, { timeout: 20_000 }).toBe(2);
    rx.setResponder(() => ({ status: 200 }));
    // Ten minutes ago, in the browser's own time zone (the page sends its offset along).
    const since = await page.evaluate(`(() => {
      const d = new Date(Date.now() - 600000);
      const p = (n) => String(n).padStart(2, '0');
      return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
    })()`);
    await page.getByLabel('Every failed delivery since').fill(String(since));
    await page.getByRole('button', { name: 'Send them again' }).click();
    await page.waitForURL(/done=recovered/);
    // The delivery given up in the resend test was resent and delivered; these two are new.
    expect(await page.locator('.flash-ok').textContent()).toBe('2 failed deliveries queued again.');
    // Four attempts each before, one more each now.
    await rx.waitFor(before + 2 * 4 + 2);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.locator('table.log tbody tr .badge').allTextContents();
        },
        { timeout: 20_000 },
      )
      .toEqual(['Delivered', 'Delivered', 'Delivered', 'Delivered', 'Delivered']);
    expect(await failed()).toBe(0);
  });

  it('filters the log by event type and time range', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal/endpoints/${endpointId}`);
    const rows = () => page.locator('table.log tbody tr').count();
    const all = await rows();
    expect(all).toBeGreaterThan(0);
    await page.getByLabel('Event type').selectOption('bill_payments.paid');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/type=bill_payments\.paid/);
    expect(await rows()).toBe(0);
    expect(await page.locator('#deliveries').textContent()).toContain('No deliveries match these filters.');
    await page.getByLabel('Event type').selectOption('tidings.test');
    await page.getByLabel('From').fill('2000-01-01T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/type=tidings\.test/);
    expect(await rows()).toBe(all);
    // Up to a time long past: nothing.
    await page.getByLabel('To').fill('2000-01-02T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/to=2000/);
    expect(await rows()).toBe(0);
  });

  it('edits the endpoint and keeps the auth header it was not given again', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal/endpoints/${endpointId}/edit`);
    expect(await page.getByLabel('Endpoint URL').inputValue()).toBe(endpointUrl);
    expect(await page.getByLabel(/settlements\.sent/).isChecked()).toBe(true);
    await shoot(page, 'endpoint-edit');
    await page.getByLabel('Description').fill('Billing server (primary)');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(/done=saved/);
    const api = await app.api<{ description: string; headers: Record<string, string> }>(
      'GET',
      `/v1/tenants/acme/endpoints/${endpointId}`,
    );
    expect(api.body).toMatchObject({
      description: 'Billing server (primary)',
      headers: { 'X-Api-Key': '****90' },
    });
  });

  it('shows what the API refuses, with the form as it was typed', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal/endpoints/new`);
    await page.getByLabel('Endpoint URL').fill('ftp://example.com/x');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await expect.poll(() => page.locator('#form-problem').textContent()).toMatch(/http/i);
    expect(await page.getByLabel('Endpoint URL').inputValue()).toBe('ftp://example.com/x');
    // The page script moved the focus to the problem, for keyboard and screen reader users.
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('form-problem');
  });

  it('sets when a reminder is sent', async () => {
    const { page } = b;
    if (!app.tidings.api!.hasRoute({ method: 'GET', url: '/v1/tenants/:tid/reminder-rules' })) return;
    await page.goto(`${app.url}/portal/reminders`);
    const card = page.locator('section.card', { hasText: 'payment_due_date' });
    await card.getByLabel('Offsets').fill('-5 days, -1 day');
    await card.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/done=saved/);
    expect(await page.locator('[data-rule="payment_due_date"]').textContent()).toContain('-5 days, -1 day');
    const rules = await app.api<{ data: { event_type: string; offsets: string[] }[] }>(
      'GET',
      '/v1/tenants/acme/reminder-rules',
    );
    expect(rules.body.data).toMatchObject([
      { event_type: 'payment_due_date', offsets: ['-5 days', '-1 day'] },
    ]);
    await shoot(page, 'reminders');
  });

  it('disables, enables and deletes the endpoint', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal`);
    await shoot(page, 'endpoints');
    await page.getByRole('link', { name: endpointUrl }).click();
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.waitForURL(/done=disabled/);
    expect(await page.getByRole('button', { name: 'Send test event' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.waitForURL(/done=enabled/);
    await page.getByRole('link', { name: 'Delete' }).click();
    await shoot(page, 'endpoint-delete');
    await page.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.waitForURL(/\/portal\?done=deleted$/);
    expect(await page.locator('.card.empty').count()).toBe(1);
    expect((await app.api('GET', `/v1/tenants/acme/endpoints/${endpointId}`)).status).toBe(404);
  });
});
