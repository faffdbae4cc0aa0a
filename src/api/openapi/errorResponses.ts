// The error answers of one operation, for the OpenAPI document: every status the route can
// answer, each with the error shape and the codes it carries. Most are derived from the
// route's shape; the rest come from its entry in operations.ts.
import { type ErrorStatus, type OperationEntry, PARAM_NOT_FOUND } from '../operations.js';
import { TENANT_READABLE } from '../tenantScope.js';

const TITLES: Record<ErrorStatus, string> = {
  400: 'Malformed request',
  401: 'No valid token',
  403: 'Not allowed with this token',
  404: 'Not found',
  409: 'Conflict with the current state',
  410: 'No longer kept',
  413: 'Too large',
  415: 'Not JSON',
  422: 'Invalid content',
  429: 'Rate limited',
};

/** What the document needs to know of a route. */
export interface RouteShape {
  method: string;
  /** The Fastify route, e.g. /v1/tenants/:tid. */
  url: string;
  hasBody: boolean;
  queryKeys: string[];
  hasHeaders: boolean;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function pathParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

/** The codes per status the route can answer. */
export function errorCodes(route: RouteShape, entry: OperationEntry | undefined): Map<ErrorStatus, string[]> {
  const out = new Map<ErrorStatus, Set<string>>();
  const add = (status: ErrorStatus, ...codes: string[]) => {
    const set = out.get(status) ?? new Set<string>();
    for (const c of codes) set.add(c);
    out.set(status, set);
  };
  const params = pathParams(route.url);
  const readsBody = BODY_METHODS.has(route.method);

  // Before the handler: routing, the NUL guard, parsing and validation.
  add(400, 'bad_url', 'invalid_character');
  if (params.length > 0) add(400, 'invalid_params', 'path_parameter_too_long');
  if (route.queryKeys.length > 0) add(400, 'invalid_querystring');
  if (route.queryKeys.includes('cursor')) add(400, 'invalid_cursor');
  if (route.hasHeaders) add(400, 'invalid_headers');
  if (readsBody) {
    add(400, 'malformed_json', 'json_too_deep', 'bad_content_length', 'bad_content_type');
    add(413, 'body_too_large');
    add(415, 'unsupported_media_type');
  }
  if (route.hasBody) add(422, 'invalid_request');

  // Who may call: any token may be refused or limited; a portal session needs its CSRF header.
  add(401, 'unauthorized', 'portal_session_ended');
  add(403, 'csrf_token_invalid');
  const tenantRoute = route.url.startsWith('/v1/tenants/:tid');
  if (entry?.admin || (!tenantRoute && !TENANT_READABLE.has(`${route.method} ${route.url}`))) {
    add(403, 'forbidden');
  }
  add(429, 'rate_limited');

  // What the path names may not exist (another tenant's id looks the same as a missing one).
  const notFound = entry?.notFound ?? params.map((p) => PARAM_NOT_FOUND[p]).filter((c) => c !== undefined);
  if (notFound.length > 0) add(404, ...notFound);

  for (const [status, codes] of Object.entries(entry?.errors ?? {})) {
    add(Number(status) as ErrorStatus, ...(codes ?? []));
  }
  const sorted = [...out.entries()].sort(([a], [b]) => a - b);
  return new Map(sorted.map(([s, codes]) => [s, [...codes]]));
}

/** The response object (as a Fastify response schema, which @fastify/swagger converts). */
export function errorResponseSchema(status: ErrorStatus, codes: string[]): Record<string, unknown> {
  return {
    description: `${TITLES[status]}: ${codes.map((c) => `\`${c}\``).join(', ')}`,
    // The shape once (components/schemas/Error), narrowed to this answer's codes.
    allOf: [
      { $ref: 'Error' },
      {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code'],
            properties: { code: { type: 'string', enum: codes } },
          },
        },
      },
    ],
    ...(status === 429
      ? {
          headers: {
            'retry-after': {
              type: 'integer',
              minimum: 1,
              description: 'Seconds to wait before trying again',
            },
          },
        }
      : {}),
  };
}
