// Who gets in, and what they reach, in a real browser: used, expired and unknown links are
// refused with a clear page; a session sees and changes its own tenant only, through the
// pages and through requests edited by hand; forms and API calls without the CSRF token are
// refused, also when another site posts them; sessions expire, can be revoked and signed
// out; the portal can be framed only by the origins the operator allows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type Browser, csrfOf, launchBrowser, pageFetch, portalLink, shoot, signIn } from './browser.js';

/** The system clock, moved forward by hand to let links and sessions expire. */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const MIN = 60_000;

describe('portal access, in Chromium', () => {
  let app: TestApp;
  let rx: Receiver;
  let elsewhere: Receiver;
  let b: Browser;
  const clock = new ShiftedClock();
  let rivalEndpoint = '';
  let rivalDelivery = '';
  let appOrigin = '';
  /** Pages of "other sites", by path. */
  const sitePages = new Map<string, string>();

  beforeAll(async () => {
    // Pages of "other sites", served from localhost (a different site from 127.0.0.1).
    const pageAt = (body: string) => ({ status: 200, headers: { 'content-type': 'text/html' }, body });
    rx = await startReceiver((req) =>
      req.path.startsWith('/site/') ? pageAt(sitePages.get(req.path) ?? '') : { status: 200 },
    );
    elsewhere = await startReceiver((req) => pageAt(sitePages.get(req.path) ?? ''));
    app = await startApp(
      'pglite',
      { TIDINGS_PORTAL_FRAME_ANCESTORS: `http://localhost:${rx.port}` },
      { clock },
    );
    appOrigin = app.url;
    await app.api('PUT', '/v1/event-types/bill.paid', { group: 'bills', description: 'A bill was paid.' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    await app.api('POST', '/v1/tenants', { id: 'rival', name: 'Rival' });
    expect((await app.api('POST', '/v1/tenants/acme/endpoints', { url: `${rx.url}/acme-hook` })).status).toBe(
      201,
    );
    const rival = await app.api<{ id: string }>('POST', '/v1/tenants/rival/endpoints', {
      url: `${rx.url}/rival-secret-hook`,
      description: 'Rival production',
    });
    rivalEndpoint = rival.body.id;
    const ev = await app.api<{ id: string }>('POST', '/v1/tenants/rival/events', {
      type: 'bill.paid',
      payload: { n: 1 },
    });
    const detail = await app.api<{ deliveries: { id: string }[] }>(
      'GET',
      `/v1/tenants/rival/events/${ev.body.id}`,
    );
    rivalDelivery = detail.body.deliveries[0]!.id;
    b = await launchBrowser();
  });
  afterAll(async () => {
    await b?.close();
    await app?.stop();
    await rx?.close();
    await elsewhere?.close();
  });

  const acmeEndpoint = async () =>
    (await app.api<{ data: { id: string; disabled: boolean }[] }>('GET', '/v1/tenants/acme/endpoints')).body
      .data[0]!;

  it('refuses a used link, on opening it and on continuing', async () => {
    const { page } = b;
    const url = await portalLink(app, 'acme');
    await signIn(page, url);
    const again = await page.goto(url);
    expect(again?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This link has already been used');
    await shoot(page, 'link-used');
    const token = new URL(url).searchParams.get('token')!;
    const post = await page.request.post(`${appOrigin}/portal/login`, { form: { token }, maxRedirects: 0 });
    expect(post.status()).toBe(410);
    expect(post.headers()['set-cookie']).toBeUndefined();
  });

  it('refuses an expired link and an unknown one', async () => {
    const { page } = b;
    const url = await portalLink(app, 'acme');
    clock.offsetMs = 16 * MIN;
    try {
      const res = await page.goto(url);
      expect(res?.status()).toBe(410);
      expect(await page.locator('h1').textContent()).toBe('This link has expired');
      await shoot(page, 'link-expired');
      const token = new URL(url).searchParams.get('token')!;
      expect(
        (await page.request.post(`${appOrigin}/portal/login`, { form: { token }, maxRedirects: 0 })).status(),
      ).toBe(410);
    } finally {
      clock.offsetMs = 0;
    }
    const unknown = await page.goto(`${appOrigin}/portal/login?token=not-a-token`);
    expect(unknown?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('This link is not valid');
  });

  it("shows a session its own tenant's endpoints only, through the pages", async () => {
    const { page } = b;
    await signIn(page, await portalLink(app, 'acme'));
    expect(await page.content()).toContain('/acme-hook');
    expect(await page.content()).not.toContain('rival-secret-hook');
    for (const path of [
      `/portal/endpoints/${rivalEndpoint}`,
      `/portal/endpoints/${rivalEndpoint}/edit`,
      `/portal/endpoints/${rivalEndpoint}/delete`,
      `/portal/deliveries/${rivalDelivery}`,
    ]) {
      const res = await page.goto(`${appOrigin}${path}`);
      expect(res?.status(), path).toBe(404);
      expect(await page.content()).not.toContain('rival-secret-hook');
      expect(await page.content()).not.toContain('Rival production');
    }
    await shoot(page, 'not-found');
  });

  it('refuses requests edited by hand to reach another tenant', async () => {
    const { page } = b;
    await page.goto(`${appOrigin}/portal`);
    const csrf = await csrfOf(page);
    // The session's own tenant answers, so the refusals below are the tenant check at work.
    const own = await pageFetch(page, 'GET', '/v1/tenants/acme/endpoints', { csrf });
    expect(own.status).toBe(200);
    const attempts: [string, string, unknown, number][] = [
      ['GET', '/v1/tenants/rival/endpoints', undefined, 404],
      ['GET', `/v1/tenants/rival/endpoints/${rivalEndpoint}`, undefined, 404],
      ['GET', `/v1/tenants/rival/endpoints/${rivalEndpoint}/secret`, undefined, 404],
      ['GET', `/v1/tenants/acme/endpoints/${rivalEndpoint}/secret`, undefined, 404],
      ['PATCH', `/v1/tenants/acme/endpoints/${rivalEndpoint}`, { description: 'mine now' }, 404],
      ['PATCH', `/v1/tenants/rival/endpoints/${rivalEndpoint}`, { url: `${rx.url}/stolen` }, 404],
      ['DELETE', `/v1/tenants/rival/endpoints/${rivalEndpoint}`, undefined, 404],
      ['GET', `/v1/tenants/rival/endpoints/${rivalEndpoint}/deliveries`, undefined, 404],
      ['GET', `/v1/tenants/rival/deliveries/${rivalDelivery}`, undefined, 404],
      ['GET', `/v1/tenants/acme/deliveries/${rivalDelivery}`, undefined, 404],
      ['POST', `/v1/tenants/rival/deliveries/${rivalDelivery}/resend`, undefined, 404],
      ['POST', `/v1/tenants/acme/endpoints/${rivalEndpoint}/test`, undefined, 404],
      // A portal session is a tenant: it cannot mint links or publish.
      ['POST', '/v1/tenants/rival/portal-links', undefined, 404],
      ['POST', '/v1/tenants/acme/portal-links', undefined, 403],
      ['POST', '/v1/tenants/acme/events', { type: 'bill.paid', payload: {} }, 403],
    ];
    for (const [method, url, body, want] of attempts) {
      const r = await pageFetch(page, method, url, { csrf, body });
      expect(r.status, `${method} ${url}`).toBe(want);
    }
    // Forms of the portal posted with this session's valid token, at the rival's ids.
    for (const action of ['delete', 'disable', 'rotate', 'test', 'secret']) {
      const r = await page.request.post(`${appOrigin}/portal/endpoints/${rivalEndpoint}/${action}`, {
        form: { _csrf: csrf },
        maxRedirects: 0,
      });
      expect(r.status(), action).toBe(404);
      expect(await r.text()).not.toContain('whsec_');
    }
    const after = await app.api<{ description: string; disabled: boolean; url: string }>(
      'GET',
      `/v1/tenants/rival/endpoints/${rivalEndpoint}`,
    );
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      description: 'Rival production',
      disabled: false,
      url: `${rx.url}/rival-secret-hook`,
    });
  });

  it('refuses forms and API calls without the CSRF token', async () => {
    const { page } = b;
    await page.goto(`${appOrigin}/portal`);
    const ep = await acmeEndpoint();
    for (const form of [{}, { _csrf: 'forged' }] as Record<string, string>[]) {
      const r = await page.request.post(`${appOrigin}/portal/endpoints/${ep.id}/disable`, {
        form,
        maxRedirects: 0,
      });
      expect(r.status()).toBe(403);
      expect(await r.text()).toContain('This form could not be accepted');
    }
    // Not a form at all: JSON shaped like the parsed form, valid token included, is refused.
    const json = await page.request.post(`${appOrigin}/portal/endpoints/${ep.id}/disable`, {
      data: { _csrf: [await csrfOf(page)] },
      maxRedirects: 0,
    });
    expect(json.status()).toBe(415);
    for (const csrf of [undefined, 'forged']) {
      const r = await pageFetch(page, 'GET', '/v1/tenants/acme/endpoints', csrf ? { csrf } : {});
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: { code: 'csrf_token_invalid' } });
    }
    expect((await acmeEndpoint()).disabled).toBe(false);
  });

  it('does not let another site post a form as the session, even with the token', async () => {
    const { page } = b;
    await page.goto(`${appOrigin}/portal`);
    const ep = await acmeEndpoint();
    const csrf = await csrfOf(page);
    // The worst case: the attacker even knows the CSRF token. SameSite=Strict keeps the
    // cookie home, so the post arrives without a session.
    sitePages.set(
      '/site/attack',
      `<form id="f" method="post" action="${appOrigin}/portal/endpoints/${ep.id}/disable">
<input type="hidden" name="_csrf" value="${csrf}"></form><script>document.getElementById('f').submit()</script>`,
    );
    const landed = page.waitForResponse((r) => r.url().includes(`/portal/endpoints/${ep.id}/disable`));
    await page.goto(`http://localhost:${rx.port}/site/attack`);
    expect((await landed).status()).toBe(401);
    expect((await acmeEndpoint()).disabled).toBe(false);
  });

  it('ends sessions that are revoked, expired or signed out', async () => {
    const { page } = b;
    await page.goto(`${appOrigin}/portal`);
    const csrf = await csrfOf(page);
    const revoked = await app.api<{ revoked: number }>('DELETE', '/v1/tenants/acme/portal-sessions');
    expect(revoked.body.revoked).toBeGreaterThanOrEqual(1);
    const res = await page.reload();
    expect(res?.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toBe('Your session has ended');
    await shoot(page, 'session-ended');
    const api = await pageFetch(page, 'GET', '/v1/tenants/acme/endpoints', { csrf });
    expect(api).toMatchObject({ status: 401, body: { error: { code: 'portal_session_ended' } } });

    await signIn(page, await portalLink(app, 'acme'));
    clock.offsetMs = 8 * 60 * MIN + MIN;
    try {
      expect((await page.reload())?.status()).toBe(401);
    } finally {
      clock.offsetMs = 0;
    }

    await signIn(page, await portalLink(app, 'acme'));
    const live = async () =>
      (await app.api<{ data: { id: string }[] }>('GET', '/v1/tenants/acme/portal-sessions')).body.data.length;
    const before = await live();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('You are signed out');
    await shoot(page, 'signed-out');
    expect((await page.goto(`${appOrigin}/portal`))?.status()).toBe(401);
    expect(await live()).toBe(before - 1);
  });

  it('marks the cookie Secure (and __Host-) when the request came over https', async () => {
    const url = await portalLink(app, 'acme');
    const token = new URL(url).searchParams.get('token')!;
    const res = await fetch(`${appOrigin}/portal/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ token }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-tidings_portal=[\w-]{40,};/);
    expect(cookie).toContain('; HttpOnly; SameSite=Strict; Secure');
    expect(cookie).toContain('; Path=/;');
  });

  it('can be framed by the allowed origin only', async () => {
    const { page } = b;
    const res = await fetch(`${appOrigin}/portal/login?token=x`);
    expect(res.headers.get('content-security-policy')).toContain(
      `frame-ancestors http://localhost:${rx.port}`,
    );
    expect(res.headers.get('x-frame-options')).toBeNull();
    const frame = (at: string) =>
      `<!doctype html><title>${at}</title><iframe id="p" src="${appOrigin}/portal/login?token=framed" width="600" height="400"></iframe>`;
    sitePages.set('/site/embed', frame('allowed host'));
    const shown = async (origin: string) => {
      const framed = page.waitForResponse((r) => r.url().includes('token=framed'));
      await page.goto(`${origin}/site/embed`);
      await framed;
      const child = page.frames().find((f) => f !== page.mainFrame());
      // A refused frame holds the browser's error page instead of the portal's.
      return (await child?.locator('link[href="/portal/assets/portal.css"]').count()) === 1;
    };
    expect(await shown(`http://localhost:${rx.port}`)).toBe(true);
    expect(await shown(`http://localhost:${elsewhere.port}`)).toBe(false);
  });
});
