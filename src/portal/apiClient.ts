// How portal pages read and write: through the /v1 API, in process (Fastify's inject), as
// the signed-in session. The request carries the session cookie and CSRF header exactly as
// the page's own scripts do, so it passes the same auth hook, the same tenant check, the
// same validation: the portal has no data path of its own.
import type { HTTPMethods } from 'fastify';
import type { App } from '../api/context.js';
import { CSRF_HEADER, type PortalSession } from './session.js';

export interface ApiFailure {
  code: string;
  message: string;
  details: unknown;
}

export type ApiAnswer<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; error: ApiFailure };

export interface TenantApi {
  /** `/v1/tenants/{tid}`, for paths under the session's tenant. */
  readonly base: string;
  call<T>(method: HTTPMethods, path: string, body?: unknown): Promise<ApiAnswer<T>>;
}

/** `clientIp`: the browser's address, so that the API (audit log, limits) sees who called. */
export function tenantApi(app: App, session: PortalSession, clientIp?: string): TenantApi {
  return {
    base: `/v1/tenants/${encodeURIComponent(session.tenantId)}`,
    async call<T>(method: HTTPMethods, path: string, body?: unknown): Promise<ApiAnswer<T>> {
      const headers: Record<string, string> = {
        cookie: `tidings_portal=${session.token}`,
        [CSRF_HEADER]: session.csrf,
      };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await app.inject({
        method,
        url: path,
        headers,
        ...(clientIp ? { remoteAddress: clientIp } : {}),
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      let parsed: unknown = null;
      try {
        parsed = res.body ? JSON.parse(res.body) : null;
      } catch {
        parsed = null;
      }
      if (res.statusCode < 400) return { ok: true, status: res.statusCode, body: parsed as T };
      const err = (parsed as { error?: ApiFailure } | null)?.error;
      return {
        ok: false,
        status: res.statusCode,
        error: err ?? {
          code: 'unexpected',
          message: `The server answered ${res.statusCode}.`,
          details: null,
        },
      };
    },
  };
}
