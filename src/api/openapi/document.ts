// How the OpenAPI document is put together from the routes: the registry (operations.ts)
// gives each operation its id, tag and error codes; portal pages are left out; the webhooks
// section describes what receivers get. This only shapes the document: validation and
// serialisation use the routes' own schemas, untouched.
import type { Config } from '../../config.js';
import { OPERATIONS, TAGS } from '../operations.js';
import { errorCodes, errorResponseSchema, type RouteShape } from './errorResponses.js';
import { webhooksSection } from './webhooks.js';

type Json = Record<string, unknown>;

const SUCCESS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: queued',
  '204': 'Done; no body',
};

/** The base URL the document names: the deployment's public URL, else where it listens. */
export function documentServerUrl(config: Config): string {
  return (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '');
}

interface TransformInput {
  schema: Json | undefined;
  url: string;
  route: { method: string | string[]; url: string };
}

function shapeOf(method: string, url: string, schema: Json): RouteShape {
  const query = schema.querystring as { properties?: Json } | undefined;
  return {
    method,
    url,
    hasBody: schema.body !== undefined,
    queryKeys: Object.keys(query?.properties ?? {}),
    hasHeaders: schema.headers !== undefined,
  };
}

/** The per-route transform of @fastify/swagger. */
export function documentRoute({ schema, url, route }: TransformInput): { schema: Json; url: string } {
  const given = schema ?? {};
  if (url.startsWith('/portal')) return { schema: { ...given, hide: true }, url };
  if (given.hide) return { schema: given, url };
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const entry = OPERATIONS[`${method} ${url}`];
  const response: Json = {};
  for (const [status, s] of Object.entries((given.response as Json | undefined) ?? {})) {
    // Error answers are described below, from the registry; success ones get a description.
    if (Number(status) >= 400) continue;
    const own = s as Json;
    response[status] = own.description ? own : { ...own, description: SUCCESS[status] ?? 'OK' };
  }
  if (url.startsWith('/v1/')) {
    for (const [status, codes] of errorCodes(shapeOf(method, url, given), entry)) {
      response[status] = errorResponseSchema(status, codes);
    }
  }
  return {
    schema: {
      ...given,
      ...(entry?.body && given.body === undefined ? { body: entry.body.schema } : {}),
      ...(entry ? { operationId: entry.id, tags: [entry.tag] } : {}),
      ...(entry?.summary ? { summary: entry.summary } : {}),
      response,
    },
    url,
  };
}

/** The options @fastify/swagger is registered with. */
export function swaggerOptions(config: Config) {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tidings API',
        version: '1',
        description:
          'Webhook delivery for financial products. Operator calls carry the admin token; tenant tokens reach only their own tenant. Errors are `{"error": {"code", "message", "details"}}`; switch on `code`. Lists are paged with `limit` and the `next_cursor` of the previous page. What receivers get is in the webhooks section.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: documentServerUrl(config), description: 'This deployment' }],
      tags: [...TAGS, { name: 'webhooks', description: 'What Tidings POSTs to endpoints, by wire profile' }],
      components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      webhooks: webhooksSection(),
    },
    transform: documentRoute as never,
    refResolver: {
      buildLocalReference: (json: Json, _base: unknown, _frag: unknown, i: number) =>
        (json.$id as string) ?? `def-${i}`,
    },
  };
}
