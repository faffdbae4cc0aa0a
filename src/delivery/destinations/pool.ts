// One connection per broker (address, virtual host or database, credentials), opened on first
// use by whoever needs it first while the others wait for the same attempt, dropped when it
// failed or died so that the next send opens a new one, and closed when unused for a while.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from '../../log.js';
import type { BrokerSettings } from '../../store/endpointTargets.js';
import { type LookupFn, resolveChecked, systemLookup } from '../pinnedAgent.js';
import type { Cidr } from '../ssrf.js';
import {
  type Deadline,
  type Destination,
  describeError,
  type EndpointTarget,
  failure,
  type OutboundRequest,
  type SendResult,
  withinDeadline,
} from './types.js';

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
    slot.opening ??= this.open(key, slot, open);
    return slot.opening;
  }

  private open(key: string, slot: Slot<C>, open: () => Promise<C>): Promise<C> {
    return open().then(
      (conn) => {
        delete slot.opening;
        if (this.closed || this.slots.get(key) !== slot) {
          void conn.close().catch(() => {});
          throw new Error('destinations are closed');
        }
        slot.conn = conn;
        return conn;
      },
      (err: unknown) => {
        // Not cached: the next send tries again (the retry schedule paces it).
        if (this.slots.get(key) === slot) this.slots.delete(key);
        throw err;
      },
    );
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

export interface BrokerDestinationOptions extends BrokerAddressOptions {
  log: Logger;
  /** Connections unused this long are closed (default 10 min). */
  idleMs?: number;
}

/** What nats.ts, amqp.ts and redis.ts share: one pooled connection per broker, failures as results. */
export abstract class BrokerDestination<C extends BrokerConnection> implements Destination {
  private readonly pool: ConnectionPool<C>;

  constructor(
    /** The attempt errors' prefix: nats, amqp, redis. */
    private readonly name: string,
    protected readonly o: BrokerDestinationOptions,
  ) {
    this.pool = new ConnectionPool(o.idleMs);
  }

  async send(target: EndpointTarget, req: OutboundRequest, deadline: Deadline): Promise<SendResult> {
    const b = target.broker;
    if (!b) return failure(`${this.name}: the endpoint has no broker settings`, deadline);
    const url = new URL(target.url);
    let conn: C;
    try {
      conn = await withinDeadline(
        this.pool.get(brokerKey(url, b.username, b.password), () => this.open(url, b)),
        deadline,
        `no connection to ${url.host}`,
      );
    } catch (err) {
      return failure(`${this.name}: ${describeError(err)}`, deadline);
    }
    return this.publish(conn, b, req, deadline, url);
  }

  /** Opens a connection to the broker of `url` (resolved and checked with `resolveBroker`). */
  protected abstract open(url: URL, b: BrokerSettings): Promise<C>;

  /** Puts one message on the broker; resolves with the attempt's result. */
  protected abstract publish(
    conn: C,
    b: BrokerSettings,
    req: OutboundRequest,
    deadline: Deadline,
    url: URL,
  ): Promise<SendResult>;

  close(): Promise<void> {
    return this.pool.close();
  }
}
