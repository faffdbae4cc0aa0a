// Highline's portal, in Chromium: with Highline's catalog loaded (its endpoint_defaults fix
// the highline profile), a client adds an endpoint in the portal without being offered a
// format, and what arrives is Highline's {topic, event, data}. Then it downloads the export of
// its events from the start page.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { highlineExample, loadCatalog, verifyStandardWebhooks } from '../providers/support.js';
import { type Browser, launchBrowser, pageProblems, portalLink, signIn } from './browser.js';

describe('Highline portal and the export download, in Chromium', () => {
  let app: TestApp;
  let rx: Receiver;
  let b: Browser;
  let endpointId = '';
  let eventId = '';
  let eventType = '';

  beforeAll(async () => {
    rx = await startReceiver();
    app = await startApp('pglite', { TIDINGS_PORTAL_NAME: 'Highline' });
    await loadCatalog(app, 'highline');
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Payroll' });
    b = await launchBrowser();
  });
  afterAll(async () => {
    await b?.close();
    await app?.stop();
    await rx?.close();
  });

  it('creates an endpoint whose format the catalog fixes', async () => {
    const { page } = b;
    await signIn(page, await portalLink(app, 'acme'));
    await page.getByRole('link', { name: 'Add endpoint' }).click();
    await page.getByLabel('Endpoint URL').fill(`${rx.url}/highline`);
    // No choice of format: the catalog's is shown.
    expect(await page.locator('select#profile').count()).toBe(0);
    expect(await page.locator('#profile-fixed code').textContent()).toBe('highline');
    expect(await pageProblems(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.waitForURL(/\/portal\/endpoints\/ep_[^/?]+\?done=created$/);
    endpointId = /endpoints\/(ep_[^/?]+)/.exec(page.url())![1]!;
    const ep = await app.api<{ profile: string }>('GET', `/v1/tenants/acme/endpoints/${endpointId}`);
    expect(ep.body.profile).toBe('highline');
  });

  it("delivers Highline's {topic, event, data} to it", async () => {
    const ex = highlineExample('bill_payments');
    const pub = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', undefined, {
      rawBody: `{"type": "${ex.doc.topic}.${ex.doc.event}", "payload": ${ex.data}}`,
    });
    expect(pub.status).toBe(202);
    eventId = pub.body.id;
    eventType = `${ex.doc.topic}.${ex.doc.event}`;
    const [got] = await rx.waitFor(1);
    expect(got!.body).toBe(`{"topic":"${ex.doc.topic}","event":"${ex.doc.event}","data":${ex.data}}`);
    const secret = await app.api<{ secret: string }>(
      'GET',
      `/v1/tenants/acme/endpoints/${endpointId}/secret`,
    );
    expect(verifyStandardWebhooks(got!, secret.body.secret)).toStrictEqual(ex.doc);
    await vi.waitFor(async () => {
      const e = await app.api<{ deliveries: { state: string }[] }>(
        'GET',
        `/v1/tenants/acme/events/${eventId}`,
      );
      expect(e.body.deliveries[0]!.state).toBe('succeeded');
    });
  });

  it('downloads the export of a period from the start page', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal`);
    const local = (d: Date) => {
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    await page.getByLabel('From', { exact: true }).fill(local(new Date(Date.now() - 3_600_000)));
    await page.getByLabel('To', { exact: true }).fill(local(new Date(Date.now() + 3_600_000)));
    await page.getByLabel('Format').selectOption('jsonl');
    expect(await pageProblems(page)).toEqual([]);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^events-acme-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.jsonl$/);
    const file = await download.path();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      id: eventId,
      type: eventType,
      deliveries: [{ endpoint_id: endpointId, state: 'succeeded', attempts: 1 }],
    });
  });
});
