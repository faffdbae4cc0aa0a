// Throughput of each destination kind through the destinations module (the worker's one call),
// beside plain HTTP: an HTTP receiver, an HTTPS receiver requiring a client certificate (mTLS),
// NATS JetStream, RabbitMQ with publisher confirms, and a Redis stream, on this machine.
//
//   npx tsx bench/destinations.ts [--seconds 10] [--concurrency 64] [--only http,mtls,nats,amqp,redis]
//                                 [--nats 127.0.0.1:4222] [--amqp 127.0.0.1:5672] [--redis 127.0.0.1:6379]
//
// Each kind gets the same signed 1 KiB standard-profile request, sent by `concurrency` loops
// for `seconds`; figures are sends per second and the latency of one send. The receivers are
// child processes (the HTTP ones) or the brokers' own servers, so the sender has its process to
// itself. Measure on a quiet machine; a short run (--seconds 1) only shows that it works.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import { Connection } from 'rabbitmq-client';
import { createDestinations } from '../src/delivery/destinations/index.js';
import type { EndpointTarget, OutboundRequest } from '../src/delivery/destinations/types.js';
import { createPinnedAgent, type PinnedAgentOptions } from '../src/delivery/pinnedAgent.js';
import { buildRequest } from '../src/delivery/request.js';
import type { Cidr } from '../src/delivery/ssrf.js';
import { createLogger } from '../src/log.js';
import { newSecret } from '../src/signing/hmac.js';
import { plainCodec } from '../src/store/secrets.js';

type Kind = 'http' | 'mtls' | 'nats' | 'amqp' | 'redis';
const KINDS: Kind[] = ['http', 'mtls', 'nats', 'amqp', 'redis'];

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const seconds = Number(arg('seconds', '10'));
const concurrency = Number(arg('concurrency', '64'));
const only = arg('only', KINDS.join(',')).split(',') as Kind[];
const natsAddr = arg('nats', '127.0.0.1:4222');
const amqpAddr = arg('amqp', '127.0.0.1:5672');
const redisAddr = arg('redis', '127.0.0.1:6379');
const tag = `${process.pid}`;

function request(): OutboundRequest {
  const built = buildRequest(
    {
      id: 1,
      attempts: 0,
      tenant_id: 't',
      endpoint_id: 'ep',
      url: 'unused',
      profile: 'standard',
      secret: newSecret(),
      headers: null,
      event_id: `msg_bench_${tag}`,
      event_type: 'loan.updated',
      event_created_at: new Date(),
      payload: JSON.stringify({ pad: 'x'.repeat(960) }),
      ordering_key: null,
      sequence: null,
    },
    plainCodec,
    new Date(),
  );
  if (!built.ok) throw new Error(built.error);
  return {
    headers: built.headers,
    body: built.body,
    timeoutMs: 15_000,
    bodyLimit: 4096,
    eventType: 'loan.updated',
  };
}

// A receiver in its own process: plain HTTP, or HTTPS requiring a client certificate.
const RECEIVER = `
const tls = process.env.TLS ? JSON.parse(process.env.TLS) : null;
const mod = require(tls ? 'node:https' : 'node:http');
const handler = (q, r) => { q.resume(); q.on('end', () => { r.writeHead(200); r.end('ok'); }); };
const srv = tls ? mod.createServer({ ...tls, requestCert: true, rejectUnauthorized: true }, handler) : mod.createServer(handler);
srv.keepAliveTimeout = 60000;
srv.listen(0, '127.0.0.1', () => process.stdout.write(String(srv.address().port) + '\\n'));
`;

async function startReceiver(tls?: object): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['-e', RECEIVER], {
    env: { ...process.env, ...(tls ? { TLS: JSON.stringify(tls) } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
    proc.once('exit', () => reject(new Error('receiver exited')));
  });
  return { port, proc };
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function certificates() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-bench-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench ca']);
  const leaf = (name: string, ext: string) => {
    writeFileSync(path.join(dir, `${name}.cnf`), ext);
    run(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    run(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-days',
        '2',
        '-extfile',
        `${name}.cnf`,
        '-out',
        `${name}.pem`,
      ]),
    );
    return {
      cert: readFileSync(path.join(dir, `${name}.pem`), 'utf8'),
      key: readFileSync(path.join(dir, `${name}.key`), 'utf8'),
    };
  };
  const server = leaf('server', 'subjectAltName=IP:127.0.0.1\n');
  const client = leaf('client', 'extendedKeyUsage=clientAuth\n');
  const ca = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { ca, server, client };
}

interface Figures {
  kind: Kind;
  sends: number;
  failures: number;
  firstError: string | null;
  perSecond: number;
  p50: number;
  p99: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(
  kind: Kind,
  send: () => Promise<{ ok: boolean; error: string | null }>,
): Promise<Figures> {
  // A short warm-up opens connections and agents outside the measured time.
  await Promise.all(Array.from({ length: Math.min(concurrency, 8) }, () => send()));
  const latencies: number[] = [];
  let failures = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const r = await send();
        latencies.push(performance.now() - t0);
        if (!r.ok) {
          failures += 1;
          firstError ??= r.error;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    kind,
    sends: latencies.length,
    failures,
    firstError,
    perSecond: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

async function main(): Promise<void> {
  const allow: Cidr[] = [ipaddr.parseCIDR('127.0.0.1/32')];
  const agent: PinnedAgentOptions = { allow, connectTimeoutMs: 5000, keepAliveTimeoutMs: 30_000 };
  const dispatcher = createPinnedAgent(agent);
  const d = createDestinations({ dispatcher, agent, log: createLogger('warn'), tokenTimeoutMs: 15_000 });
  const req = request();
  const results: Figures[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const target = (url: string, more: Partial<EndpointTarget> = {}): EndpointTarget => ({
    id: `ep_${url}`,
    url,
    version: 1,
    mtls: null,
    oauth: null,
    broker: null,
    ...more,
  });
  const broker = {
    subject: null,
    exchange: null,
    routing_key: null,
    stream: null,
    max_len: null,
    username: null,
    password: null,
  };

  try {
    for (const kind of only) {
      if (kind === 'http') {
        const rx = await startReceiver();
        cleanups.push(async () => rx.proc.kill());
        const t = target(`http://127.0.0.1:${rx.port}/hooks`);
        results.push(await measure(kind, () => d.send(t, req)));
      } else if (kind === 'mtls') {
        const c = certificates();
        const rx = await startReceiver({ key: c.server.key, cert: c.server.cert, ca: c.ca });
        cleanups.push(async () => rx.proc.kill());
        const t = target(`https://127.0.0.1:${rx.port}/hooks`, {
          mtls: { current: { certificate: c.client.cert, key: c.client.key }, previous: [], ca: c.ca },
        });
        results.push(await measure(kind, () => d.send(t, req)));
      } else if (kind === 'nats') {
        const nc = await connect({ servers: natsAddr });
        const jsm = await jetstreamManager(nc);
        const stream = `BENCH_DEST_${tag}`;
        await jsm.streams.add({
          name: stream,
          subjects: [`bench.${tag}.>`],
          storage: 'file' as never,
          max_msgs: 100_000,
        });
        cleanups.push(async () => {
          await jsm.streams.delete(stream).catch(() => {});
          await nc.close();
        });
        const t = target(`nats://${natsAddr}`, { broker: { ...broker, subject: `bench.${tag}.{type}` } });
        // Each send needs its own webhook-id, or the stream takes the repeats for duplicates.
        let n = 0;
        results.push(
          await measure(kind, () =>
            d.send(t, { ...req, headers: { ...req.headers, 'webhook-id': `msg_bench_${tag}_${++n}` } }),
          ),
        );
      } else if (kind === 'amqp') {
        const admin = new Connection(`amqp://guest:guest@${amqpAddr}`);
        const queue = `bench.destinations.${tag}`;
        await admin.queueDeclare({ queue, durable: true, arguments: { 'x-max-length': 100_000 } });
        cleanups.push(async () => {
          await admin.queueDelete({ queue }).catch(() => {});
          await admin.close();
        });
        const t = target(`amqp://${amqpAddr}`, {
          broker: { ...broker, exchange: '', routing_key: queue, username: 'guest', password: 'guest' },
        });
        results.push(await measure(kind, () => d.send(t, req)));
      } else if (kind === 'redis') {
        const [host, port] = redisAddr.split(':');
        const client = new Redis({ host: host!, port: Number(port) });
        const key = `bench:destinations:${tag}`;
        cleanups.push(async () => {
          await client.del(key);
          await client.quit();
        });
        const t = target(`redis://${redisAddr}/0`, { broker: { ...broker, stream: key, max_len: 100_000 } });
        results.push(await measure(kind, () => d.send(t, req)));
      }
    }
  } finally {
    await d.close();
    await dispatcher.close();
    for (const c of cleanups) await c().catch(() => {});
  }

  console.log(
    `\nDestinations, ${seconds} s per kind, ${concurrency} sends in flight, 1 KiB standard-profile body\n`,
  );
  console.log('| kind | sends/s | send p50 | send p99 | sends | failed |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    console.log(
      `| ${r.kind} | ${Math.round(r.perSecond).toLocaleString('en')} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.sends} | ${r.failures}${r.firstError ? ` (${r.firstError.slice(0, 80)})` : ''} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
