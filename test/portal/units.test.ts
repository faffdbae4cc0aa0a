// The portal's small pure parts: settings, response headers, escaping, form mapping, CSRF.
import { describe, expect, it } from 'vitest';
import { portalSettings } from '../../src/config/portal.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { endpointBody, endpointFormValues, localTime, parseForm } from '../../src/portal/form.js';
import { portalHeaders } from '../../src/portal/headers.js';
import { html } from '../../src/portal/html.js';
import { csrfFor, csrfMatches, sessionCookie } from '../../src/portal/session.js';

describe('portal settings', () => {
  it('has defaults: 15 minute links, 8 hour sessions, no framing', () => {
    expect(loadConfig({}).portal).toEqual({
      linkTtlMs: 15 * 60_000,
      sessionTtlMs: 8 * 3_600_000,
      name: 'Tidings',
      logoUrl: undefined,
      accent: '#2f55d4',
      frameAncestors: [],
    });
  });

  it('reads branding, lifetimes and frame ancestors', () => {
    const s = portalSettings({
      TIDINGS_PORTAL_LINK_TTL: '30m',
      TIDINGS_PORTAL_SESSION_TTL: '1d',
      TIDINGS_PORTAL_NAME: 'Highline Pay',
      TIDINGS_PORTAL_LOGO_URL: 'https://cdn.highline.example/logo.svg',
      TIDINGS_PORTAL_ACCENT: '#0F6E5F',
      TIDINGS_PORTAL_FRAME_ANCESTORS: "https://app.highline.example, https://*.highline.example 'self'",
    });
    expect(s).toMatchObject({
      linkTtlMs: 30 * 60_000,
      sessionTtlMs: 86_400_000,
      name: 'Highline Pay',
      accent: '#0F6E5F',
    });
    expect(s.frameAncestors).toEqual([
      'https://app.highline.example',
      'https://*.highline.example',
      "'self'",
    ]);
  });

  it.each([
    ['TIDINGS_PORTAL_ACCENT', 'red; background: url(x)'],
    ['TIDINGS_PORTAL_LOGO_URL', 'javascript:alert(1)'],
    ['TIDINGS_PORTAL_LINK_TTL', '1s'],
    ['TIDINGS_PORTAL_SESSION_TTL', 'forever'],
    ['TIDINGS_PORTAL_FRAME_ANCESTORS', '*'],
    ['TIDINGS_PORTAL_FRAME_ANCESTORS', "https://ok.example 'unsafe-inline'"],
  ])('refuses %s=%s, naming the setting', (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe(name);
  });
});

describe('portal response headers', () => {
  it('refuse framing and foreign scripts by default', () => {
    const h = portalHeaders(portalSettings({}));
    expect(h['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(h['content-security-policy']).toContain("script-src 'self'");
    expect(h['content-security-policy']).not.toContain('unsafe');
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['referrer-policy']).toBe('same-origin');
  });

  it('allow the listed frame ancestors, and the logo’s origin for images', () => {
    const h = portalHeaders(
      portalSettings({
        TIDINGS_PORTAL_FRAME_ANCESTORS: 'https://app.example.com',
        TIDINGS_PORTAL_LOGO_URL: 'https://cdn.example.com/l.png',
      }),
    );
    expect(h['content-security-policy']).toContain('frame-ancestors https://app.example.com');
    expect(h['content-security-policy']).toContain("img-src 'self' data: https://cdn.example.com");
    expect(h['x-frame-options']).toBeUndefined();
  });
});

describe('html', () => {
  it('escapes every interpolated value', () => {
    const url = 'https://x.example/"><script>alert(1)</script>';
    expect(html`<a href="${url}">${url}</a>`.text).toBe(
      '<a href="https://x.example/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">https://x.example/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>',
    );
    expect(html`<p>${[html`<b>${"'"}</b>`, null, false, 0]}</p>`.text).toBe('<p><b>&#39;</b>0</p>');
  });
});

describe('the endpoint form', () => {
  const form = (fields: Record<string, string | string[]>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) q.append(k, x);
    return endpointFormValues(parseForm(q.toString()));
  };

  it('becomes the API body an API client would send', () => {
    expect(
      endpointBody(
        form({
          url: ' https://a.example/h ',
          types_mode: 'chosen',
          event_types: ['a.b', 'c.d', 'a.b'],
          channels: 'bank_account:BA-1\nbank_account:BA-2, bank_account:BA-1',
          profile: 'billie',
          header_name: 'X-Api-Key',
          header_value: 'k-123',
        }),
      ),
    ).toEqual({
      ok: true,
      body: {
        url: 'https://a.example/h',
        description: '',
        event_types: ['a.b', 'c.d'],
        channels: ['bank_account:BA-1', 'bank_account:BA-2'],
        profile: 'billie',
        headers: { 'X-Api-Key': 'k-123' },
      },
    });
    // "Every default type" ignores ticked boxes: null is the API's "default-enabled types".
    expect(
      endpointBody(form({ url: 'https://a.example', types_mode: 'default', event_types: 'a.b' })),
    ).toMatchObject({
      ok: true,
      body: { event_types: null, channels: null },
    });
  });

  it('says what is missing in words', () => {
    expect(endpointBody(form({ url: 'https://a', types_mode: 'chosen' }))).toMatchObject({ ok: false });
    expect(endpointBody(form({ url: 'https://a', header_value: 'secret' }))).toMatchObject({ ok: false });
    expect(endpointBody(form({ url: 'https://a', header_name: 'X-Key' }))).toMatchObject({ ok: false });
  });

  it('keeps a stored header when an edit leaves its value empty, removes it when asked', () => {
    const current = { headerNames: ['X-Api-Key'] };
    const keep = endpointBody(form({ url: 'https://a', header_name: 'X-Api-Key' }), current);
    expect(keep.ok && 'headers' in keep.body).toBe(false);
    expect(
      endpointBody(form({ url: 'https://a', header_name: 'X-Api-Key', header_remove: '1' }), current),
    ).toMatchObject({
      ok: true,
      body: { headers: {} },
    });
    expect(endpointBody(form({ url: 'https://a', header_name: 'Authorization' }), current)).toMatchObject({
      ok: false,
    });
  });

  it('reads datetime-local values in the browser’s zone', () => {
    expect(localTime('2026-05-01T12:30', '')?.toISOString()).toBe('2026-05-01T12:30:00.000Z');
    // getTimezoneOffset() is -120 in UTC+2: 12:30 there is 10:30 UTC.
    expect(localTime('2026-05-01T12:30', '-120')?.toISOString()).toBe('2026-05-01T10:30:00.000Z');
    expect(localTime('yesterday', '0')).toBeUndefined();
  });
});

describe('session cookie and CSRF token', () => {
  it('derives a token per session that only matches its own session', () => {
    expect(csrfFor('a')).not.toBe(csrfFor('b'));
    expect(csrfMatches('a', csrfFor('a'))).toBe(true);
    expect(csrfMatches('a', csrfFor('b'))).toBe(false);
    expect(csrfMatches('a', '')).toBe(false);
    expect(csrfMatches('a', undefined)).toBe(false);
  });

  it('is HttpOnly and SameSite=Strict, and Secure with the __Host- prefix over https', () => {
    expect(sessionCookie('t', 60_000, false)).toBe(
      'tidings_portal=t; Path=/; Max-Age=60; HttpOnly; SameSite=Strict',
    );
    expect(sessionCookie('t', 60_000, true)).toBe(
      '__Host-tidings_portal=t; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure',
    );
  });
});

describe('a parked endpoint on the portal', () => {
  it('says it is stopped, why (escaped), and how to resume', async () => {
    const { healthLine } = await import('../../src/portal/pages/endpoints.js');
    const line = healthLine({
      disabled: false,
      disabled_reason: null,
      disabled_at: null,
      health: {
        state: 'healthy',
        consecutive_failures: 0,
        last_success_at: null,
        last_failure_at: null,
        failing_since: null,
      },
      fault: { at: '2031-01-01T00:00:00Z', error: 'RangeError: <script>x</script>' },
    }).toString();
    expect(line).toContain('Stopped');
    expect(line).toContain('RangeError: &lt;script&gt;x&lt;/script&gt;');
    expect(line).toContain('save the endpoint to resume');
  });
});
