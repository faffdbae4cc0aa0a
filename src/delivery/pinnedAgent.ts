// The undici dispatcher every delivery goes through. Its connector resolves the hostname itself,
// refuses the connection when any resolved address is not public (and not allowed by
// TIDINGS_ALLOW_PRIVATE_TARGETS), and dials exactly an address it checked. Nothing resolves the
// name a second time, so a DNS answer that changes between check and dial (rebinding) cannot
// send a request to an internal address. TLS still verifies the certificate against the
// hostname: the hostname goes in `servername` (SNI and the identity check), the IP in `hostname`.
//
// Redirects are not followed: undici's `request` never follows them unless a redirect
// interceptor is composed in, and none is. A 3xx is recorded as a failed attempt.
import dns from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, type Dispatcher, Pool, ProxyAgent } from 'undici';
import type { Config } from '../config.js';
import { type BlockReason, blockReason, type Cidr, describeBlock } from './ssrf.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a hostname to every address it has (dns.lookup with `all: true` by default). */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export interface PinnedAgentOptions {
  /** Ranges that may be reached although they are not public (TIDINGS_ALLOW_PRIVATE_TARGETS). */
  allow: readonly Cidr[];
  /** Budget for resolving and connecting (TCP and TLS) to one address. */
  connectTimeoutMs: number;
  keepAliveTimeoutMs?: number;
  /** Most sockets per origin (unlimited when unset). */
  connections?: number;
  /** Replaces DNS (tests). */
  lookup?: LookupFn;
  /** A client certificate (mutual TLS) and the CA bundle to trust, for an agent that serves one endpoint. */
  tls?: ClientTls;
}

export interface ClientTls {
  cert: string;
  key: string;
  /** Trusted instead of the system roots when given. */
  ca?: string;
  /** The endpoint's hostname: needed through a proxy, where the tunnel takes its TLS name from here. */
  servername?: string;
}

export class BlockedAddressError extends Error {
  readonly code = 'TARGET_BLOCKED';
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly reason: BlockReason,
  ) {
    super(
      hostname === address
        ? describeBlock(address, reason)
        : `${describeBlock(address, reason)} (resolved from ${hostname})`,
    );
    this.name = 'BlockedAddressError';
  }
}

export const systemLookup: LookupFn = (hostname) => dns.promises.lookup(hostname, { all: true });

// A name with several addresses is tried in order when a dial fails (as net.connect's own
// happy-eyeballs would); bounded so an unreachable name cannot hold a worker for long.
const MAX_DIAL_ATTEMPTS = 3;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out`), { code: 'ETIMEOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The addresses a connection to `hostname` may use, every one checked. All of them must pass:
 * a name that answers with both a public and a private address is refused outright rather than
 * trusted to pick the right one.
 */
export async function resolveChecked(
  hostname: string,
  allow: readonly Cidr[],
  lookup: LookupFn,
  timeoutMs: number,
): Promise<string[]> {
  const literal = isIP(hostname) !== 0;
  const answers = literal
    ? [hostname]
    : (await withTimeout(lookup(hostname), timeoutMs, `DNS lookup of ${hostname}`)).map((a) => a.address);
  if (answers.length === 0) {
    throw Object.assign(new Error(`DNS lookup of ${hostname} returned no address`), { code: 'ENOTFOUND' });
  }
  for (const address of answers) {
    // Only plain literals are dialled; anything else would make net.connect resolve again.
    const reason = isIP(address) === 0 ? 'invalid' : blockReason(address, allow);
    if (reason) throw new BlockedAddressError(hostname, address, reason);
  }
  return answers;
}

function hostWithPort(address: string, port: string): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port ? `${host}:${port}` : host;
}

function dialOnce(
  connect: buildConnector.connector,
  options: buildConnector.Options,
): Promise<Parameters<buildConnector.Callback>[1]> {
  return new Promise((resolve, reject) => {
    connect(options, (err, socket) => (err ? reject(err) : resolve(socket)));
  });
}

/**
 * Wraps a connector (direct, or a proxy tunnel) so that it only ever connects to checked
 * addresses. `host` is rewritten too, because a proxy tunnel asks for `CONNECT host`: the proxy
 * is then told the checked IP, not a name it would resolve itself.
 */
export function pinnedConnector(
  inner: buildConnector.connector,
  opts: Pick<PinnedAgentOptions, 'allow' | 'connectTimeoutMs' | 'lookup'>,
): buildConnector.connector {
  const lookup = opts.lookup ?? systemLookup;
  return (options, callback) => {
    const { hostname } = options;
    const servername = isIP(hostname) === 0 ? hostname : undefined;
    (async () => {
      const addresses = await resolveChecked(hostname, opts.allow, lookup, opts.connectTimeoutMs);
      let lastError: unknown;
      for (const address of addresses.slice(0, MAX_DIAL_ATTEMPTS)) {
        try {
          return await dialOnce(inner, {
            ...options,
            hostname: address,
            host: hostWithPort(address, options.port),
            servername: options.servername || servername,
          });
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError;
    })().then(
      (socket) => callback(null, socket!),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}

/** A keep-alive agent (one pool per origin) whose every connection goes to a checked address. */
export function createPinnedAgent(opts: PinnedAgentOptions): Agent {
  const tls = opts.tls && { cert: opts.tls.cert, key: opts.tls.key, ...(opts.tls.ca && { ca: opts.tls.ca }) };
  const direct = buildConnector({ timeout: opts.connectTimeoutMs, ...tls });
  return new Agent({
    connect: pinnedConnector(direct, opts),
    ...(opts.keepAliveTimeoutMs !== undefined && { keepAliveTimeout: opts.keepAliveTimeoutMs }),
    ...(opts.connections !== undefined && { connections: opts.connections }),
  });
}

/**
 * Egress through an HTTP(S) proxy (TIDINGS_HTTP_PROXY). The proxy opens the TCP connection, but
 * we still resolve and check the target first and tunnel to the checked IP (`CONNECT ip:port`),
 * so the proxy never resolves a tenant's hostname itself. Requests to http:// targets are
 * tunnelled as well (proxyTunnel), for the same reason. SOCKS proxies are not supported.
 */
export function createProxyAgent(proxyUrl: string, opts: PinnedAgentOptions): ProxyAgent {
  const url = new URL(proxyUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`TIDINGS_HTTP_PROXY: proxy URL must be http or https, got ${url.protocol}`);
  }
  return new ProxyAgent({
    uri: proxyUrl,
    proxyTunnel: true,
    proxyTls: { timeout: opts.connectTimeoutMs },
    // A client certificate goes in requestTls, with the endpoint's hostname as servername (see
    // below): such an agent serves one endpoint, so its one origin names it.
    ...(opts.tls && { requestTls: { ...opts.tls, timeout: opts.connectTimeoutMs } }),
    ...(opts.keepAliveTimeoutMs !== undefined && { keepAliveTimeout: opts.keepAliveTimeoutMs }),
    ...(opts.connections !== undefined && { connections: opts.connections }),
    // ProxyAgent hands each origin's pool its tunnel-opening connector in `connect`; wrap it.
    // (`requestTls` stays unset for the shared agent: when present, ProxyAgent takes the TLS
    // servername from it and would drop the hostname we set.)
    factory: (origin, options) => {
      const tunnel = (options as { connect?: unknown }).connect;
      if (typeof tunnel !== 'function') throw new Error('undici ProxyAgent gave no tunnel connector');
      return new Pool(origin, {
        ...(options as Pool.Options),
        connect: pinnedConnector(tunnel as buildConnector.connector, opts),
      });
    },
  });
}

/** The dispatcher for deliveries: through the proxy when one is configured, else direct. */
export function createOutboundAgent(opts: OutboundAgentOptions): Dispatcher {
  return opts.proxyUrl ? createProxyAgent(opts.proxyUrl, opts) : createPinnedAgent(opts);
}

export type OutboundAgentOptions = PinnedAgentOptions & { proxyUrl?: string };

/**
 * The deployment's outbound agent settings, for every request Tidings makes to a tenant's URL
 * (deliveries, reminder refresh_url): the private ranges allowed, a connect budget within the
 * request timeout, kept-alive sockets, the proxy.
 */
export function outboundAgentOptions(
  config: Pick<Config, 'allowPrivateTargets' | 'requestTimeoutMs' | 'httpProxy'>,
): OutboundAgentOptions {
  return {
    allow: config.allowPrivateTargets,
    connectTimeoutMs: Math.min(10_000, config.requestTimeoutMs),
    keepAliveTimeoutMs: 30_000,
    ...(config.httpProxy ? { proxyUrl: config.httpProxy } : {}),
  };
}
