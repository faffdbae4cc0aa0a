// The ops listener (TIDINGS_OPS_PORT): /metrics, /healthz and /readyz for any combination of
// roles, so a worker-only or scheduler-only process can be probed and scraped. /healthz and
// /readyz are the api's own handlers (routes/health.ts), registered here too; /metrics is the
// same route the api role serves.
import Fastify, { LogController } from 'fastify';
import type { ApiContext, App } from '../api/context.js';
import { requestId } from '../api/requestId.js';
import { healthRoutes } from '../api/routes/health.js';
import { TidingsMetrics } from './metrics.js';

/** GET /metrics: the store-wide gauges are computed now (bounded queries), then everything is rendered. */
export function metricsRoute(metrics: TidingsMetrics, ctx: ApiContext): (app: App) => Promise<void> {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      await metrics.refreshStoreGauges(ctx.db, ctx.clock, ctx.log);
      return reply.type(TidingsMetrics.contentType).send(await metrics.render());
    });
  };
}

export interface OpsServer {
  app: App;
  url: string;
}

export async function startOpsServer(
  ctx: ApiContext,
  metrics: TidingsMetrics | undefined,
  listen: { port: number; host: string },
): Promise<OpsServer> {
  const app = Fastify({
    loggerInstance: ctx.log,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestId,
  }) as unknown as App;
  await healthRoutes(app, ctx);
  if (metrics) await metricsRoute(metrics, ctx)(app);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        code: 'route_not_found',
        message: `No route ${req.method} ${req.url} on the ops listener (/metrics, /healthz, /readyz).`,
        details: null,
      },
    }),
  );
  const url = await app.listen(listen);
  return { app, url };
}
