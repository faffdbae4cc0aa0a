// What every signed-in page handler gets: the session, an API client acting as it, and
// helpers to answer with a page. Handlers are wrapped so that no page runs without a live
// session, and no form post without the session's CSRF token.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext, App } from '../api/context.js';
import { type TenantApi, tenantApi } from './apiClient.js';
import type { FormData } from './form.js';
import type { Html } from './html.js';
import { html } from './html.js';
import { type Flash, page, type Signed } from './layout.js';
import { notice, sessionEndedPage } from './pages/access.js';
import { CSRF_FIELD, csrfMatches, currentSession, type PortalSession } from './session.js';

export interface Visit {
  req: FastifyRequest;
  reply: FastifyReply;
  session: PortalSession;
  api: TenantApi;
  signed: Signed;
  /** The posted form (empty for GET). */
  form: FormData;
  /** Answers with a page in the signed-in layout. */
  show(status: number, title: string, body: Html, flash?: Flash): FastifyReply;
  notFound(what: string): FastifyReply;
}

export function sendHtml(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(text);
}

/** Posted as an HTML form (what our parser turned into FormData), not JSON or anything else. */
export function isForm(req: FastifyRequest): boolean {
  return (
    (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() ===
    'application/x-www-form-urlencoded'
  );
}

export type VisitHandler = (v: Visit) => Promise<FastifyReply>;

export function signedIn(app: App, ctx: ApiContext, handler: VisitHandler) {
  const settings = ctx.config.portal;
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const session = await currentSession(ctx, req);
    if (!session) return sendHtml(reply, 401, sessionEndedPage(settings));
    if (req.method === 'POST' && !isForm(req)) {
      return sendHtml(
        reply,
        415,
        notice(settings, 'This request could not be handled', html`<p>Pages here post HTML forms only.</p>`),
      );
    }
    const form = (req.method === 'POST' ? (req.body as FormData | undefined) : undefined) ?? {};
    if (req.method === 'POST' && !csrfMatches(session.token, form[CSRF_FIELD]?.[0])) {
      return sendHtml(
        reply,
        403,
        notice(
          settings,
          'This form could not be accepted',
          html`<p>It did not carry this page’s security token, so it may not have come from this site.</p>
<p><a href="/portal">Go back to your endpoints</a> and try again.</p>`,
        ),
      );
    }
    const api = tenantApi(app, session, req.ip);
    const tenant = await api.call<{ name: string }>('GET', api.base);
    if (!tenant.ok && tenant.status === 429) {
      return sendHtml(
        reply,
        429,
        notice(settings, 'Too many requests', html`<p>${tenant.error.message}</p>`),
      );
    }
    // The tenant is gone (deleted while signed in), or the session ended between the two looks.
    if (!tenant.ok) return sendHtml(reply, 401, sessionEndedPage(settings));
    const signed: Signed = {
      csrf: session.csrf,
      apiBase: api.base,
      tenantName: tenant.body.name,
      section: req.url.startsWith('/portal/reminders')
        ? 'reminders'
        : req.url.startsWith('/portal/catalog')
          ? 'catalog'
          : 'endpoints',
    };
    const visit: Visit = {
      req,
      reply,
      session,
      api,
      signed,
      form,
      show(status, title, body, flash) {
        return sendHtml(reply, status, page({ title, settings, signed, flash, body }));
      },
      notFound(what) {
        return visit.show(
          404,
          'Not found',
          html`<section class="card narrow"><h1>Not found</h1>
<p>There is no ${what} here, or it is not yours.</p><p><a href="/portal">Back to your endpoints</a></p></section>`,
        );
      },
    };
    return handler(visit);
  };
}
