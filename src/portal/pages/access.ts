// Pages about getting in: the sign-in link, and what a person sees when a link or session
// cannot be used. They say what happened and what to do, never show a stack trace.

import type { PortalSettings } from '../../config/portal.js';
import type { LinkProblem } from '../../store/portal.js';
import { type Html, html } from '../html.js';
import { page, time } from '../layout.js';

export function signInPage(settings: PortalSettings, token: string, expiresAt: Date): string {
  return page({
    title: 'Sign in',
    settings,
    body: html`<section class="card narrow">
  <h1>Your webhook settings</h1>
  <p>This link signs you in to manage the webhooks ${settings.name} sends you.</p>
  <form method="post" action="/portal/login">
    <input type="hidden" name="token" value="${token}">
    <button class="primary" type="submit">Continue</button>
  </form>
  <p class="muted small">The link works once and until ${time(expiresAt)}.
  It asks for a click so that mail scanners and link previews, which open links on their own, cannot use it up.</p>
</section>`,
  });
}

const PROBLEMS: Record<LinkProblem, { title: string; text: string }> = {
  unknown: {
    title: 'This link is not valid',
    text: 'The sign-in link is incomplete or unknown. Check that the whole link was copied.',
  },
  used: {
    title: 'This link has already been used',
    text: 'Each sign-in link works once. If you did not use it yourself, tell us.',
  },
  expired: {
    title: 'This link has expired',
    text: 'Sign-in links are valid for a short time only.',
  },
};

export function linkProblemPage(settings: PortalSettings, problem: LinkProblem): string {
  const p = PROBLEMS[problem];
  return notice(settings, p.title, html`<p>${p.text}</p><p>Ask ${settings.name} for a new link.</p>`);
}

export function sessionEndedPage(settings: PortalSettings): string {
  return notice(
    settings,
    'Your session has ended',
    html`<p>You are signed out: the session expired, was ended, or this browser never signed in.</p>
<p>To manage your webhooks, open a new sign-in link from ${settings.name}.</p>`,
  );
}

export function signedOutPage(settings: PortalSettings): string {
  return notice(settings, 'You are signed out', html`<p>Open a new sign-in link to come back.</p>`);
}

export function notice(settings: PortalSettings, title: string, body: Html): string {
  return page({
    title,
    settings,
    body: html`<section class="card narrow"><h1>${title}</h1>${body}</section>`,
  });
}
