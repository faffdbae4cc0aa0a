// The page shell and the small pieces every page uses. No external asset: styles and the
// script come from /portal/assets, the accent colour from /portal/assets/theme.css.

import type { PortalSettings } from '../config/portal.js';
import { type Html, html } from './html.js';
import { CSRF_FIELD } from './session.js';

export interface Signed {
  csrf: string;
  /** `/v1/tenants/{tid}`: where the page's script sends its API calls. */
  apiBase: string;
  tenantName: string;
  /** The menu entry of this page. */
  section: 'endpoints' | 'reminders' | 'catalog';
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export interface PageOptions {
  title: string;
  settings: PortalSettings;
  signed?: Signed;
  flash?: Flash | undefined;
  body: Html;
}

export function page(o: PageOptions): string {
  const s = o.settings;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title} · ${s.name}</title>
<link rel="stylesheet" href="/portal/assets/portal.css">
<link rel="stylesheet" href="/portal/assets/theme.css">
${o.signed ? html`<meta name="csrf-token" content="${o.signed.csrf}"><meta name="tidings-api" content="${o.signed.apiBase}">` : ''}
<script src="/portal/assets/portal.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <div class="wrap top-row">
    <a class="brand" href="/portal">${s.logoUrl ? html`<img src="${s.logoUrl}" alt="" height="28">` : ''}<span>${s.name}</span><span class="brand-sub">Webhooks</span></a>
    ${
      o.signed
        ? html`<div class="who"><span class="tenant" title="Signed in as">${o.signed.tenantName}</span>
    <form method="post" action="/portal/logout">${csrfField(o.signed.csrf)}<button class="link" type="submit">Sign out</button></form></div>`
        : ''
    }
  </div>
  ${
    o.signed
      ? html`<nav class="wrap nav" aria-label="Sections"><a href="/portal"${o.signed.section === 'endpoints' ? html` aria-current="page"` : ''}>Endpoints</a><a href="/portal/reminders"${o.signed.section === 'reminders' ? html` aria-current="page"` : ''}>Reminders</a><a href="/portal/catalog"${o.signed.section === 'catalog' ? html` aria-current="page"` : ''}>Event catalog</a></nav>`
      : ''
  }
</header>
<main id="main" class="wrap" tabindex="-1">
${o.flash ? html`<p class="flash flash-${o.flash.kind}" role="${o.flash.kind === 'error' ? 'alert' : 'status'}">${o.flash.text}</p>` : ''}
${o.body}
</main>
</body>
</html>`.text;
}

export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrf}">`;
}

/** A time as UTC text; the page script rewrites it in the reader's own time zone. */
export function time(t: string | Date | null | undefined): Html {
  if (!t) return html`<span class="muted">—</span>`;
  const d = typeof t === 'string' ? new Date(t) : t;
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

const STATE_LABELS: Record<string, string> = {
  pending: 'Pending',
  delivering: 'Sending',
  succeeded: 'Delivered',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** A delivery's state for people: a pending delivery that has failed before is retrying. */
export function stateBadge(state: string, attempts: number): Html {
  if (state === 'pending' && attempts > 0) return html`<span class="badge badge-warn">Retrying</span>`;
  const kind = state === 'succeeded' ? 'ok' : state === 'failed' ? 'bad' : 'neutral';
  return html`<span class="badge badge-${kind}">${STATE_LABELS[state] ?? state}</span>`;
}
