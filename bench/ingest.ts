// The node:http ingest every reference system puts in front of its queue (the ceiling's no-store
// ingest, the pipeline ceiling, the durable floor, the pg-boss baseline): keep-alive, the whole
// body read and parsed as JSON, one handler per request, the answer written as JSON. Bad JSON is
// a 400, a handler that throws a 500.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A publish body: `{type, payload}`, or `{events: [{type, payload}, …]}` on a batch path. */
export interface IngestBody {
  type?: unknown;
  payload?: unknown;
  events?: { type?: unknown; payload?: unknown }[];
}

export interface IngestAnswer {
  status: number;
  body: unknown;
}

export type IngestHandler = (path: string, body: IngestBody) => IngestAnswer | Promise<IngestAnswer>;

function reply(res: http.ServerResponse, a: IngestAnswer): void {
  const text = JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function ingestServer(handle: IngestHandler): http.Server {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: IngestBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as IngestBody;
      } catch {
        reply(res, { status: 400, body: { error: 'bad JSON' } });
        return;
      }
      Promise.resolve()
        .then(() => handle(req.url ?? '/', body))
        .then(
          (a) => reply(res, a),
          (err: unknown) => reply(res, { status: 500, body: { error: (err as Error).message } }),
        );
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Listens on 127.0.0.1 on a free port; returns the origin. */
export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function close(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

/** The events of a body on a batch path (`{events: […]}`), or the body itself as one event. */
export function eventsOf(path: string, body: IngestBody): { payload?: unknown }[] | undefined {
  if (path.endsWith('/batch')) return Array.isArray(body.events) ? body.events : undefined;
  return [body];
}

/**
 * The answer to an accepted publish, shaped like Tidings's: `{id, deliveries}` for a single
 * publish, `{events: [{id, deliveries, duplicate}]}` in request order for a batch.
 */
export function accepted(path: string, ids: string[], deliveriesEach: number): IngestAnswer {
  if (!path.endsWith('/batch')) return { status: 202, body: { id: ids[0], deliveries: deliveriesEach } };
  return {
    status: 202,
    body: { events: ids.map((id) => ({ id, deliveries: deliveriesEach, duplicate: false })) },
  };
}

export const NOT_FOUND: IngestAnswer = { status: 404, body: { error: 'not found' } };
export const NO_EVENTS: IngestAnswer = { status: 422, body: { error: 'a batch needs "events": [...]' } };
