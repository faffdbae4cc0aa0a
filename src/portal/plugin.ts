// The tenant portal: server-rendered pages under /portal, plus the /v1 routes it needs
// (sign-in links and sessions, an endpoint's delivery log, test events), which any API
// client may use too.
import type { FastifyError } from 'fastify';
import type { ApiContext, App } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { endpointDeliveryRoutes } from '../api/routes/portalEndpointDeliveries.js';
import { portalLinkRoutes } from '../api/routes/portalLinks.js';
import { testEventRoutes } from '../api/routes/portalTestEvents.js';
import type { ServerOptions } from '../api/server.js';
import { assetRoutes } from './assets.js';
import { parseForm } from './form.js';
import { portalHeaders } from './headers.js';
import { html } from './html.js';
import { notice } from './pages/access.js';
import { accessPages } from './routes/access.js';
import { catalogPages } from './routes/catalog.js';
import { deliveryPages } from './routes/deliveries.js';
import { endpointPages } from './routes/endpoints.js';
import { eventExportPages } from './routes/eventExport.js';
import { reminderPages } from './routes/reminders.js';
import { replayPages } from './routes/replay.js';
import { portalPrincipal } from './session.js';
import { sendHtml } from './signed.js';

export async function portalPlugin(app: App, ctx: ApiContext): Promise<void> {
  await portalLinkRoutes(app, ctx);
  await endpointDeliveryRoutes(app, ctx);
  await testEventRoutes(app, ctx);

  const settings = ctx.config.portal;
  const headers = portalHeaders(settings);
  // Its own scope: the form parser, headers and HTML error pages apply to /portal only.
  await app.register(
    async (scope) => {
      const portal = scope as unknown as App;
      portal.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 256 * 1024 },
        (_req, body, done) => done(null, parseForm(body as string)),
      );
      portal.addHook('onSend', async (_req, reply, payload) => {
        for (const [k, v] of Object.entries(headers)) if (!reply.hasHeader(k)) reply.header(k, v);
        return payload;
      });
      portal.setNotFoundHandler((_req, reply) =>
        sendHtml(
          reply,
          404,
          notice(settings, 'Page not found', html`<p><a href="/portal">Go to your webhook endpoints</a></p>`),
        ),
      );
      portal.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
        const code = err instanceof ApiError ? err.status : err.statusCode;
        const status = code && code >= 400 && code < 500 ? code : 500;
        // The route pattern, not the URL: a sign-in URL carries its token.
        if (status === 500) req.log.error({ err, route: req.routeOptions.url }, 'portal page failed');
        return sendHtml(
          reply,
          status,
          notice(
            settings,
            status === 500 ? 'Something went wrong' : 'This request could not be handled',
            html`<p>${status === 500 ? 'It is on our side; please try again in a moment.' : err.message}</p>
<p><a href="/portal">Go to your webhook endpoints</a></p>`,
          ),
        );
      });
      assetRoutes(portal, settings);
      await accessPages(portal, ctx);
      await endpointPages(portal, ctx);
      await deliveryPages(portal, ctx);
      await eventExportPages(portal, ctx);
      await reminderPages(portal, ctx);
      await replayPages(portal, ctx);
      await catalogPages(portal, ctx);
    },
    { prefix: '/portal' },
  );
}

/** Server options with the portal: its routes, and its session cookie as a way to call /v1. */
export function withPortal(ctx: ApiContext, opts: ServerOptions = {}): ServerOptions {
  return {
    ...opts,
    resolveSession: opts.resolveSession ?? portalPrincipal(ctx),
    plugins: [...(opts.plugins ?? []), portalPlugin],
  };
}
