// One connection per broker (address, virtual host or database, credentials), opened on first
// use by whoever needs it first while the others wait for the same attempt, dropped when it
// failed or died so that the next send opens a new one, and closed when unused for a while.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { type LookupFn, resolveChecked, systemLookup } from '../pinnedAgent.js';
import type { Cidr } from '../ssrf.js';

export interface BrokerConnection {
  /** False once the client gave up (closed for good); the pool then opens a new one. */
  usable(): boolean;
  close(): Promise<void>;
}

interface Slot<C> {
  opening?: Promise<C>;
  conn?: C;
  lastUsed: number;
}

export class ConnectionPool<C extends BrokerConnection> {
  private readonly slots = new Map<string, Slot<C>>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly idleMs = 600_000) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, idleMs));
    this.sweeper.unref();
  }

  /** The open connection for `key`, or the one being opened, or a new one from `open`. */
  get(key: string, open: () => Promise<C>): Promise<C> {
    if (this.closed) return Promise.reject(new Error('destinations are closed'));
    let slot = this.slots.get(key);
    if (slot?.conn && !slot.conn.usable()) {
      void slot.conn.close().catch(() => {});
      this.slots.delete(key);
      slot = undefined;
    }
    if (!slot) {
      slot = { lastUsed: Date.now() };
      this.slots.set(key, slot);
    }
    slot.lastUsed = Date.now();
    if (slot.conn) return Promise.resolve(slot.conn);
    if (!slot.opening) {
      const s = slot;
      slot.opening = open().then(
        (conn) => {
          delete s.opening;
          if (this.closed || this.slots.get(key) !== s) {
            void conn.close().catch(() => {});
            throw new Error('destinations are closed');
          }
          s.conn = conn;
          return conn;
        },
        (err: unknown) => {
          // Not cached: the next send tries again (the retry schedule paces it).
          if (this.slots.get(key) === s) this.slots.delete(key);
          throw err;
        },
      );
    }
    return slot.opening as Promise<C>;
  }

  private closeIdle(): void {
    const before = Date.now() - this.idleMs;
    for (const [key, slot] of this.slots) {
      if (slot.lastUsed >= before || !slot.conn) continue;
      this.slots.delete(key);
      void slot.conn.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const conns = [...this.slots.values()].flatMap((s) => (s.conn ? [s.conn] : []));
    this.slots.clear();
    await Promise.allSettled(conns.map((c) => c.close()));
  }
}

export interface BrokerAddressOptions {
  allow: readonly Cidr[];
  connectTimeoutMs: number;
  lookup?: LookupFn;
}

export interface BrokerAddress {
  /** The checked IP address to dial. */
  address: string;
  port: number;
  /** The URL's hostname: the TLS server name. */
  hostname: string;
}

/**
 * Resolves a broker URL's host and checks every address against the SSRF rules, like the HTTP
 * connector does; the client library is then given the checked IP, so it never resolves the
 * name itself (and reconnects go to the same checked address).
 */
export async function resolveBroker(
  url: URL,
  defaultPort: number,
  o: BrokerAddressOptions,
): Promise<BrokerAddress> {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const [address] = await resolveChecked(hostname, o.allow, o.lookup ?? systemLookup, o.connectTimeoutMs);
  return { address: address!, port: url.port ? Number(url.port) : defaultPort, hostname };
}

/** The pool key of a broker: where, which vhost or database, and who (the password hashed). */
export function brokerKey(url: URL, username: string | null, password: string | null): string {
  const who = createHash('sha256')
    .update(`${username ?? ''}\n${password ?? ''}`)
    .digest('base64url');
  return `${url.protocol}//${url.host}${url.pathname}#${who}`;
}

/** host:port as a client library wants it (IPv6 in brackets). */
export function hostPort(a: BrokerAddress): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** TLS options naming the URL's host (SNI and the certificate check); none for an IP literal. */
export function tlsName(a: BrokerAddress): { servername?: string } {
  return isIP(a.hostname) === 0 ? { servername: a.hostname } : {};
}
