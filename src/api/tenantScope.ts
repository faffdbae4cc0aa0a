// A guard in front of every route, so isolation does not rest on each handler remembering
// its requireTenant call (handlers still make it; this is the second lock on the door):
//
// - a /v1 route without a token answers 401 before its body is even validated;
// - a tenant token on a route with a :tid parameter for another tenant answers 404, as if the
//   tenant did not exist, before validation (so a 422 cannot hint that the route would work);
// - a tenant token on a /v1 route outside /v1/tenants/:tid/… answers 403, except reading the
//   catalog. Operator-only routes under a tenant (publishing, tokens) still check in their handler.
//
// A route that must be reachable without a token sets `config: { public: true }`.

import { unauthorized } from './auth.js';
import type { App } from './context.js';
import { ApiError } from './errors.js';

/** /v1 routes a tenant token may call although they name no tenant. */
export const TENANT_READABLE = new Set(['GET /v1/event-types', 'GET /v1/whoami']);

export function registerTenantScope(app: App): void {
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    if (route === undefined || !route.startsWith('/v1/')) return;
    const p = req.principal;
    if (!p) {
      if ((req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
      throw unauthorized();
    }
    if (p.kind !== 'tenant') return;
    const tid = (req.params as Record<string, string> | undefined)?.tid;
    if (route.startsWith('/v1/tenants/:tid')) {
      if (tid !== p.tenantId) throw new ApiError(404, 'tenant_not_found', `No tenant with id "${tid}".`);
      return;
    }
    if (!TENANT_READABLE.has(`${req.method} ${route}`)) {
      throw new ApiError(403, 'forbidden', 'This call needs the operator token.');
    }
  });
}
