// Every request has an id: the caller's x-request-id when it is well formed (so a request can
// be followed from a load balancer or a producer's own logs), a fresh UUID otherwise. It is
// echoed on every response, stamped on every log line of the request (request_id) and kept
// in the audit log.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { App } from './context.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Letters, digits and . _ : - (UUIDs, ULIDs, hex trace ids), at most 128 characters. */
const WELL_FORMED = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Fastify's genReqId. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const v = Array.isArray(given) ? given[0] : given;
  return v && WELL_FORMED.test(v) ? v : randomUUID();
}

export function registerRequestId(app: App): void {
  // First of the onRequest hooks: even a 401 or a 429 carries the id.
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
  // One line per request at debug level (TIDINGS_LOG_LEVEL=debug). The route's pattern, not
  // the URL: a URL may carry a one-time portal link.
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      {
        method: req.method,
        route: req.routeOptions.url ?? '(no route)',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
}
