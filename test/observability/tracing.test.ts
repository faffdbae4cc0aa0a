// OpenTelemetry end to end: an api process and a worker process, started as an operator
// would with the standard OTEL_* variables, export to a small OTLP/HTTP receiver on
// 127.0.0.1. One event's publish, claim, attempt and ack spans arrive, linked: the attempt
// (in the other process) links to the publish through the trace context stored with the
// event; pg and undici spans are children of Tidings' own.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/app.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';
import { type Child, spawnTidings } from '../helpers/processes.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: OtlpValue }[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpExport {
  resourceSpans: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans: { scope?: { name: string }; spans: OtlpSpan[] }[];
  }[];
}
interface Seen extends OtlpSpan {
  service: string;
  scope: string;
  attrs: Record<string, string | number | boolean>;
}

function flatten(attrs: { key: string; value: OtlpValue }[] = []): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of attrs) {
    const v = a.value;
    out[a.key] =
      v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));
  }
  return out;
}

/** A minimal OTLP/HTTP trace receiver (JSON encoding): POST /v1/traces. */
async function startCollector(): Promise<{ url: string; spans: Seen[]; close(): Promise<void> }> {
  const spans: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
        for (const rs of body.resourceSpans) {
          const service = String(flatten(rs.resource?.attributes)['service.name'] ?? '');
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans)
              spans.push({ ...s, service, scope: ss.scope?.name ?? '', attrs: flatten(s.attributes) });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!engines().includes('pg'))('traces over OTLP (pg, two processes)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let rx: Receiver;
  let db: TestDb;
  let api: Child | undefined;
  let worker: Child | undefined;

  beforeAll(async () => {
    collector = await startCollector();
    rx = await startReceiver();
    db = await freshDb('pg');
  });
  afterAll(async () => {
    await api?.kill('SIGTERM');
    await worker?.kill('SIGTERM');
    await db?.drop();
    await rx?.close();
    await collector?.close();
  });

  it('sees the publish, claim, attempt and ack spans of one event, linked, with pg and undici below them', async () => {
    const env = {
      DATABASE_URL: db.url!,
      TIDINGS_DB_SCHEMA: db.schema!,
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_LOG_FORMAT: 'json',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    api = spawnTidings(['serve', '--roles', 'api', '--port', '0'], {
      ...env,
      OTEL_SERVICE_NAME: 'tidings-api',
    });
    worker = spawnTidings(['serve', '--roles', 'worker'], env);
    await Promise.all([
      api.waitForOutput(/"msg":"tidings started"/),
      worker.waitForOutput(/"msg":"tidings started"/),
    ]);
    const line = api
      .output()
      .split('\n')
      .find((l) => l.includes('"tidings started"'))!;
    const url = (JSON.parse(line) as { url: string }).url;
    const call = async (method: string, path: string, body: unknown) => {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    await call('PUT', '/v1/event-types/ping', {});
    await call('POST', '/v1/tenants', { id: 'tr', name: 'Traced' });
    const ep = await call('POST', '/v1/tenants/tr/endpoints', { url: `${rx.url}/traced` });
    expect(ep.status).toBe(201);
    const pub = await call('POST', '/v1/tenants/tr/events', { type: 'ping', payload: { n: 1 } });
    expect(pub.status).toBe(202);
    const eventId = pub.body.id as string;
    await rx.waitFor(1);

    const spans = collector.spans;
    const find = (name: string, pred: (s: Seen) => boolean = () => true) =>
      spans.find((s) => s.name === name && pred(s));
    const ack = await until(
      () => find('tidings.ack', (s) => (s.links ?? []).length > 0),
      'the ack span (spans seen so far: ' + spans.map((s) => s.name).join(', ') + ')',
    );

    const publish = find('tidings.publish', (s) => s.attrs['tidings.event_id'] === eventId)!;
    expect(publish).toBeDefined();
    expect(publish.service).toBe('tidings-api');
    expect(publish.attrs).toMatchObject({
      'tidings.event_type': 'ping',
      'tidings.tenant_id': 'tr',
      'tidings.deliveries': 1,
    });

    // The group-commit transaction links to the publish; its statements are pg spans below it.
    const batch = find('tidings.publish.batch', (s) =>
      (s.links ?? []).some((l) => l.spanId === publish.spanId),
    )!;
    expect(batch).toBeDefined();
    const pgUnderBatch = spans.filter((s) => s.parentSpanId === batch.spanId && s.scope.includes('pg'));
    expect(pgUnderBatch.length).toBeGreaterThan(0);

    // The worker (another process, service "tidings") claimed it: the claim links to the publish.
    const attempt = find('tidings.attempt', (s) => s.attrs['tidings.event_id'] === eventId)!;
    expect(attempt).toBeDefined();
    expect(attempt.service).toBe('tidings');
    expect(attempt.attrs).toMatchObject({
      'tidings.endpoint_id': ep.body.id as string,
      'http.response.status_code': 200,
      'tidings.next': 'succeeded',
      'tidings.attempt': 1,
    });
    expect(Number(attempt.attrs['tidings.duration_ms'])).toBeGreaterThanOrEqual(0);
    expect(attempt.links).toEqual([
      expect.objectContaining({ traceId: publish.traceId, spanId: publish.spanId }),
    ]);
    const claim = spans.find((s) => s.spanId === attempt.parentSpanId)!;
    expect(claim.name).toBe('tidings.claim');
    expect((claim.links ?? []).map((l) => l.spanId)).toContain(publish.spanId);
    // The claim is one statement whose result decides whether there is a span at all (idle
    // polls make none), so it runs before the span and is not a pg span below it; the
    // publish's trace context comes back with the claimed rows, with no lookup of its own.
    expect(claim.attrs['tidings.batch_size']).toBeDefined();

    // The HTTP request is undici's span, a child of the attempt.
    const request = spans.find((s) => s.parentSpanId === attempt.spanId);
    expect(request?.scope).toContain('undici');
    expect(String(request?.attrs['url.full'])).toBe(`${rx.url}/traced`);

    // The ack links to the attempt it recorded.
    expect((ack.links ?? []).map((l) => l.spanId)).toContain(attempt.spanId);
  });
});
