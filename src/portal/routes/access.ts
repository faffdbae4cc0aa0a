// Signing in with a one-time link, and signing out.
//
// Opening the link (GET) only shows a "Continue" button; the POST it makes uses the link
// up. Mail scanners and chat previews fetch links by themselves: if GET used the link, they
// would sign in (and burn the link) before the person ever clicked it.
import type { FastifyRequest } from 'fastify';
import { ulid } from 'ulid';
import { hashToken } from '../../api/auth.js';
import type { ApiContext, App } from '../../api/context.js';
import { newToken } from '../../security/principal.js';
import { checkPortalLink, consumePortalLink, endSessionsBeyond } from '../../store/portal.js';
import { type FormData, field } from '../form.js';
import { html } from '../html.js';
import { linkProblemPage, notice, signedOutPage, signInPage } from '../pages/access.js';
import { clearedCookie, cookiesSecure, sessionCookie } from '../session.js';
import { isForm, sendHtml, signedIn } from '../signed.js';

const LINK_PROBLEM_STATUS = { unknown: 404, used: 410, expired: 410 } as const;

/**
 * A sign-in post must come from our own page. SameSite does not cover it (there is no
 * session yet), so the browser's own statement of where the request came from is checked.
 */
function fromElsewhere(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin';
  // Browsers without Fetch Metadata: compare the Origin they send with our host.
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export async function accessPages(app: App, ctx: ApiContext): Promise<void> {
  const settings = ctx.config.portal;

  app.get<{ Querystring: { token?: string } }>('/login', async (req, reply) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    if (!token || token.length > 100) return sendHtml(reply, 404, linkProblemPage(settings, 'unknown'));
    const check = await checkPortalLink(ctx.db, hashToken(token), ctx.clock.now());
    if (!check.ok)
      return sendHtml(reply, LINK_PROBLEM_STATUS[check.problem], linkProblemPage(settings, check.problem));
    return sendHtml(reply, 200, signInPage(settings, token, check.link.expires_at));
  });

  app.post('/login', async (req, reply) => {
    if (fromElsewhere(req)) {
      return sendHtml(
        reply,
        403,
        notice(
          settings,
          'Sign-in refused',
          html`<p>The sign-in did not come from this site. Open your link again.</p>`,
        ),
      );
    }
    const token = isForm(req) ? field((req.body as FormData | undefined) ?? {}, 'token') : '';
    if (!token || token.length > 100) return sendHtml(reply, 404, linkProblemPage(settings, 'unknown'));
    const sessionToken = newToken();
    const now = ctx.clock.now();
    const ttl = settings.sessionTtlMs;
    const r = await ctx.db.tx(async (q) => {
      const started = await consumePortalLink(
        q,
        hashToken(token),
        {
          id: `ps_${ulid().toLowerCase()}`,
          tokenSha256: hashToken(sessionToken),
          expiresAt: new Date(now.getTime() + ttl),
        },
        now,
      );
      // At the quota the tenant's oldest sessions end: a sign-in never locks anyone out.
      if (started.ok) {
        await endSessionsBeyond(q, started.session.tenant_id, ctx.config.quotas.portal_sessions, now);
      }
      return started;
    });
    if (!r.ok) return sendHtml(reply, LINK_PROBLEM_STATUS[r.problem], linkProblemPage(settings, r.problem));
    return reply
      .header('set-cookie', sessionCookie(sessionToken, ttl, cookiesSecure(ctx.config, req)))
      .redirect('/portal', 303);
  });

  app.post(
    '/logout',
    signedIn(app, ctx, async (v) => {
      await v.api.call('DELETE', `${v.api.base}/portal-sessions/${encodeURIComponent(v.session.id)}`);
      v.reply.header('set-cookie', clearedCookie(cookiesSecure(ctx.config, v.req)));
      return sendHtml(v.reply, 200, signedOutPage(settings));
    }),
  );
}
