import type { ApiContext, App } from '../context.js';
import { readiness } from '../readiness.js';

export async function healthRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const r = await readiness({
      db: ctx.db,
      loops: ctx.loops,
      failingAfterMs: ctx.config.loopFailingAfterMs,
    });
    return reply.code(r.status).send(r.body);
  });
}
