import type { ApiContext, App } from '../context.js';

export async function healthRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await ctx.db.query('SELECT 1');
      return { status: 'ready', store: ctx.db.engine };
    } catch (err) {
      return reply
        .code(503)
        .send({ error: { code: 'store_unavailable', message: String(err), details: null } });
    }
  });
}
