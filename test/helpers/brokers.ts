// Brokers of a test's own, to stop and start while Tidings delivers to them: a Redis and a NATS
// (JetStream) server process on free ports, and a TCP relay in front of the machine's RabbitMQ
// that can be cut (every connection dropped, new ones refused) and restored. The shared
// servers on the standard ports are never stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface BrokerProcess {
  port: number;
  url: string;
  /** Kills the server (SIGKILL); its data folder stays for the next start. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  dispose(): Promise<void>;
}

function brokerProcess(scheme: string, command: string, args: (port: number, dir: string) => string[]) {
  return async (): Promise<BrokerProcess> => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), `tidings-${scheme}-`));
    let proc: ChildProcess | undefined;
    const b: BrokerProcess = {
      port,
      url: `${scheme}://127.0.0.1:${port}`,
      async start() {
        proc = spawn(command, args(port, dir), { stdio: 'ignore' });
        await waitForPort(port);
      },
      async stop() {
        const p = proc;
        proc = undefined;
        if (!p || p.exitCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      },
      async dispose() {
        await b.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await b.start();
    return b;
  };
}

/** redis-server with an append-only file synced on every write, so a kill loses nothing acknowledged. */
export const startRedis = brokerProcess('redis', 'redis-server', (port, dir) => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'yes',
  '--appendfsync',
  'always',
  '--dir',
  dir,
]);

/** nats-server with JetStream storing in its own folder. */
export const startNats = brokerProcess('nats', 'nats-server', (port, dir) => [
  '-a',
  '127.0.0.1',
  '-p',
  String(port),
  '-js',
  '-sd',
  dir,
]);

export interface Relay {
  port: number;
  /** Drops every connection and refuses new ones, as a broker that went away. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP relay on a free port to 127.0.0.1:`targetPort`. */
export async function startRelay(targetPort: number): Promise<Relay> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = async () => {
    server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
  };
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise((r) => s.close(r));
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}
