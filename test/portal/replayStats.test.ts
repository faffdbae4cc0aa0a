// The endpoint page's 7-day chart (server-drawn SVG) and replaying failed deliveries after
// seeing how many there are, in Chromium against a real receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { type Browser, launchBrowser, pageProblems, portalLink, shoot, signIn } from './browser.js';

describe('portal: endpoint stats and replay, in Chromium', () => {
  let app: TestApp;
  let rx: Receiver;
  let b: Browser;
  let eid = '';
  let healthy = false;

  const failedCount = async () =>
    (await app.api<{ data: unknown[] }>('GET', `/v1/tenants/acme/endpoints/${eid}/deliveries?state=failed`))
      .body.data.length;

  beforeAll(async () => {
    rx = await startReceiver(() => (healthy ? { status: 200 } : { status: 500 }));
    app = await startApp('pglite', { TIDINGS_RETRY_SCHEDULE: '50ms' });
    await app.api('PUT', '/v1/event-types/bill_payments.paid', { description: 'A bill was paid' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Utilities' });
    eid = (await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/hook` }))
      .body.id;
    for (let i = 0; i < 3; i++) {
      await app.api('POST', '/v1/tenants/acme/events', { type: 'bill_payments.paid', payload: { i } });
    }
    await until(async () => (await failedCount()) === 3, 'three failed deliveries', 30_000);
    await app.tidings.worker!.rollUpStats(new Date());
    b = await launchBrowser();
    await signIn(b.page, await portalLink(app, 'acme'));
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await app?.stop();
    await rx?.close();
  });

  it('draws success rate and latency for the last 7 days', async () => {
    const { page } = b;
    await page.goto(`${app.url}/portal/endpoints/${eid}`);
    const stats = page.locator('#stats');
    await expect.poll(() => stats.locator('[data-stat="attempts"]').textContent()).toBe('6');
    expect(await stats.locator('[data-stat="success-rate"]').textContent()).toBe('0%');
    expect(await stats.locator('[data-stat="deliveries"]').textContent()).toBe('0 / 3');
    for (const id of ['chart-success', 'chart-latency']) {
      const svg = page.locator(`svg#${id}`);
      expect(await svg.getAttribute('role')).toBe('img');
      const box = await svg.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(200);
      // One point for the hour with attempts: the line starts there.
      expect(await svg.locator('path.line').first().getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+/);
    }
    // The failing hour sits at the bottom of the success chart (0 %).
    const d = (await page.locator('svg#chart-success path.line').getAttribute('d')) ?? '';
    expect(d).toMatch(/,118\.0/);
    // Seven day labels under each chart.
    expect(await page.locator('svg#chart-success text.tick').count()).toBe(3 + 7);
    await shoot(page, 'endpoint-stats');
    expect(await pageProblems(page)).toEqual([]);
  });

  it('replays failed deliveries after showing how many there are', async () => {
    const { page } = b;
    healthy = true;
    const before = rx.requests.length;
    await page.goto(`${app.url}/portal/endpoints/${eid}`);
    const since = await page.evaluate(`(() => {
      const d = new Date(Date.now() - 600000);
      const p = (n) => String(n).padStart(2, '0');
      return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
    })()`);
    await page.getByLabel('Failed since').fill(String(since));
    await page.getByRole('button', { name: 'Count them' }).click();
    await page.waitForURL(/\/replay\?/);
    expect(await page.locator('#replay-count strong').textContent()).toBe('3 failed deliveries');
    // Counting queued nothing.
    expect(await failedCount()).toBe(3);
    expect(rx.requests.length).toBe(before);
    await shoot(page, 'replay-confirm');
    await page.getByRole('button', { name: 'Replay 3 failed deliveries' }).click();
    await page.waitForURL(/done=replayed/);
    expect(await page.locator('.flash-ok').textContent()).toBe('3 failed deliveries queued again.');
    await rx.waitFor(before + 3);
    await until(async () => (await failedCount()) === 0, 'no failed delivery left');
  });
});
