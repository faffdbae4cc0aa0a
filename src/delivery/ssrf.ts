// Which addresses an outbound webhook may reach. Tenants choose endpoint URLs, so every target
// is hostile until its address is known to be public: loopback, private networks, link-local
// (the cloud metadata service lives there), CGNAT, multicast, reserved and documentation ranges
// are refused unless the operator allows a CIDR (TIDINGS_ALLOW_PRIVATE_TARGETS).
//
// Two checks use this module. `checkUrl` runs when an endpoint is created or changed and refuses
// what is plainly private at once (IP literals in any spelling, localhost names). The delivery
// connector (pinnedAgent.ts) resolves the hostname at dial time, checks every address with
// `blockReason`, and dials exactly the address it checked.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type IP = ipaddr.IPv4 | ipaddr.IPv6;
export type Cidr = [IP, number];

export type BlockReason =
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cloud-metadata'
  | 'unique-local'
  | 'site-local'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved';

export type AddressClass = 'public' | BlockReason;

const REASON_TEXT: Record<BlockReason, string> = {
  invalid: 'not an IP address',
  unspecified: 'unspecified',
  loopback: 'loopback',
  private: 'private',
  'link-local': 'link-local',
  'cloud-metadata': 'a cloud metadata address',
  'unique-local': 'unique-local (fc00::/7)',
  'site-local': 'site-local (fec0::/10)',
  cgnat: 'carrier-grade NAT (100.64.0.0/10)',
  multicast: 'multicast',
  broadcast: 'broadcast',
  documentation: 'a documentation range',
  benchmarking: 'a benchmarking range',
  reserved: 'reserved',
};

/** "refused: 10.0.0.5 is private" — the text recorded on a refused attempt. */
export function describeBlock(ip: string, reason: BlockReason): string {
  return `refused: ${ip} is ${REASON_TEXT[reason]}`;
}

function cidr(text: string): Cidr {
  return ipaddr.parseCIDR(text);
}

// Order matters: the first matching range names the reason, so specific ranges (the metadata
// address inside link-local, benchmarking inside 2001::/23) come before the ranges holding them.
const V4_RANGES: [BlockReason, Cidr][] = [
  ['cloud-metadata', cidr('169.254.169.254/32')],
  ['unspecified', cidr('0.0.0.0/8')],
  ['loopback', cidr('127.0.0.0/8')],
  ['private', cidr('10.0.0.0/8')],
  ['private', cidr('172.16.0.0/12')],
  ['private', cidr('192.168.0.0/16')],
  ['link-local', cidr('169.254.0.0/16')],
  ['cgnat', cidr('100.64.0.0/10')],
  ['multicast', cidr('224.0.0.0/4')],
  ['broadcast', cidr('255.255.255.255/32')],
  ['documentation', cidr('192.0.2.0/24')],
  ['documentation', cidr('198.51.100.0/24')],
  ['documentation', cidr('203.0.113.0/24')],
  ['benchmarking', cidr('198.18.0.0/15')],
  // IETF protocol assignments (includes 192.0.0.192, Oracle Cloud's metadata address).
  ['reserved', cidr('192.0.0.0/24')],
  // Former 6to4 relay anycast.
  ['reserved', cidr('192.88.99.0/24')],
  ['reserved', cidr('240.0.0.0/4')],
];

const V6_RANGES: [BlockReason, Cidr][] = [
  ['unspecified', cidr('::/128')],
  ['loopback', cidr('::1/128')],
  ['cloud-metadata', cidr('fd00:ec2::254/128')],
  ['unique-local', cidr('fc00::/7')],
  ['link-local', cidr('fe80::/10')],
  ['site-local', cidr('fec0::/10')],
  ['multicast', cidr('ff00::/8')],
  ['documentation', cidr('2001:db8::/32')],
  ['documentation', cidr('3fff::/20')],
  ['benchmarking', cidr('2001:2::/48')],
  // Local-use NAT64 (RFC 8215): translated by a gateway on our own network, to anything.
  ['reserved', cidr('64:ff9b:1::/48')],
  // Discard-only, ORCHID, segment routing and the rest of the IETF block 2001::/23.
  ['reserved', cidr('100::/64')],
  ['reserved', cidr('2001::/23')],
  ['reserved', cidr('5f00::/16')],
];

const V6_GLOBAL_UNICAST = cidr('2000::/3');
const V6_MAPPED = cidr('::ffff:0:0/96');
const V6_TRANSLATED = cidr('::ffff:0:0:0/96');
const V6_NAT64 = cidr('64:ff9b::/96');
const V6_6TO4 = cidr('2002::/16');
const V6_TEREDO = cidr('2001::/32');

function matches(ip: IP, [range, bits]: Cidr): boolean {
  return ip.kind() === range.kind() && ip.match(range, bits);
}

function v4FromWords(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function classifyV4(ip: ipaddr.IPv4): AddressClass {
  for (const [reason, range] of V4_RANGES) if (matches(ip, range)) return reason;
  return 'public';
}

function classifyV6(ip: ipaddr.IPv6): AddressClass {
  const p = ip.parts;
  // Forms that carry an IPv4 address are judged by that address: the kernel (mapped), a NAT64
  // gateway or a 6to4 relay would deliver the packet there.
  if (matches(ip, V6_MAPPED) || matches(ip, V6_TRANSLATED) || matches(ip, V6_NAT64)) {
    return classifyV4(v4FromWords(p[6]!, p[7]!));
  }
  if (matches(ip, V6_6TO4)) return classifyV4(v4FromWords(p[1]!, p[2]!));
  // Teredo: server address in bits 32–63, client address (inverted) in bits 96–127. No webhook
  // receiver needs a Teredo address, so it is always refused; the embedded addresses only pick
  // the most telling reason.
  if (matches(ip, V6_TEREDO)) {
    const server = classifyV4(v4FromWords(p[2]!, p[3]!));
    if (server !== 'public') return server;
    const client = classifyV4(v4FromWords(p[6]! ^ 0xffff, p[7]! ^ 0xffff));
    return client === 'public' ? 'reserved' : client;
  }
  for (const [reason, range] of V6_RANGES) if (matches(ip, range)) return reason;
  // Outside 2000::/3 nothing is routable on the public internet today (IPv4-compatible ::/96,
  // the rest of ::/8, unassigned space).
  return matches(ip, V6_GLOBAL_UNICAST) ? 'public' : 'reserved';
}

function parse(ip: string): IP | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // Only the plain forms a resolver or a normalised URL produces; ipaddr.js would also accept
  // "127.1" or "0x7f000001", which are no addresses to dial.
  if (isIP(bare.split('%')[0] ?? '') === 0) return undefined;
  try {
    return ipaddr.parse(bare);
  } catch {
    return undefined;
  }
}

/** 'public', or the name of the non-public range the address falls in. */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parse(ip);
  if (!parsed) return 'invalid';
  return parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6);
}

// An IPv4-mapped address and its IPv4 form are the same destination; compare them as IPv4 so
// that allowing 127.0.0.1/32 also allows ::ffff:127.0.0.1, and the reverse.
function unmap(ip: IP): IP {
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()
    ? (ip as ipaddr.IPv6).toIPv4Address()
    : ip;
}

function unmapCidr([range, bits]: Cidr): Cidr {
  if (range.kind() === 'ipv6' && bits >= 96 && (range as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(range as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [range, bits];
}

/** Whether the operator's allow list covers this address. */
export function isAllowed(ip: string, allowCidrs: readonly Cidr[]): boolean {
  const parsed = parse(ip);
  if (!parsed) return false;
  const addr = unmap(parsed);
  return allowCidrs.some((c) => matches(addr, unmapCidr(c)));
}

/** Why this address may not be dialled, or undefined when it may (public, or allowed). */
export function blockReason(ip: string, allowCidrs: readonly Cidr[]): BlockReason | undefined {
  const cls = classifyAddress(ip);
  if (cls === 'public') return undefined;
  if (cls !== 'invalid' && isAllowed(ip, allowCidrs)) return undefined;
  return cls;
}

export interface CheckUrlOptions {
  allow: readonly Cidr[];
  /** Refuse plain http (TIDINGS_REQUIRE_HTTPS). */
  requireHttps?: boolean;
  /** Schemes accepted, without the colon (default http and https; brokers where allowed). */
  schemes?: readonly string[];
  /** Longest URL accepted, in characters (default 2048). */
  maxLength?: number;
}

export type UrlCheckCode = 'URL_INVALID' | 'URL_TOO_LONG' | 'URL_SCHEME' | 'URL_USERINFO' | 'TARGET_BLOCKED';

export type UrlCheck = { ok: true; url: URL } | { ok: false; code: UrlCheckCode; message: string };

export const DEFAULT_MAX_URL_LENGTH = 2048;

// Names that resolve to this machine (RFC 6761 .localhost) or to a private network by
// convention (.local is mDNS, .internal is reserved for private use and used by cloud
// providers, e.g. metadata.google.internal).
function isLocalName(host: string): 'loopback' | 'private' | undefined {
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (host.endsWith('.local') || host.endsWith('.internal')) return 'private';
  return undefined;
}

/**
 * The quick check when an endpoint is created or its URL changed. It refuses what is plainly
 * not allowed without resolving anything; other hostnames pass and are checked again, against
 * their resolved addresses, every time a delivery dials them.
 */
export function checkUrl(text: string, opts: CheckUrlOptions): UrlCheck {
  const maxLength = opts.maxLength ?? DEFAULT_MAX_URL_LENGTH;
  if (text.length > maxLength) {
    return { ok: false, code: 'URL_TOO_LONG', message: `URL is longer than ${maxLength} characters` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, code: 'URL_INVALID', message: 'not a valid absolute URL' };
  }
  const schemes = opts.schemes ?? ['http', 'https'];
  const scheme = url.protocol.slice(0, -1);
  if (!schemes.includes(scheme)) {
    return {
      ok: false,
      code: 'URL_SCHEME',
      message:
        schemes.length === 2 && schemes.includes('http') && schemes.includes('https')
          ? 'URL scheme must be http or https'
          : `URL scheme must be one of ${schemes.join(', ')}`,
    };
  }
  if (opts.requireHttps && scheme === 'http') {
    return { ok: false, code: 'URL_SCHEME', message: 'URL scheme must be https (TIDINGS_REQUIRE_HTTPS)' };
  }
  const web = scheme === 'http' || scheme === 'https';
  if (url.username !== '' || url.password !== '') {
    return {
      ok: false,
      code: 'URL_USERINFO',
      message: web
        ? 'URL must not contain credentials; use static headers instead'
        : 'URL must not contain credentials; give them as broker.username and broker.password (stored encrypted)',
    };
  }
  // A broker URL without a host (nats:orders) parses, but names nothing to connect to.
  if (url.hostname === '') return { ok: false, code: 'URL_INVALID', message: 'URL has no host' };
  // The WHATWG parser has already turned every IPv4 spelling (127.1, 0x7f000001, 2130706433,
  // 0177.0.0.1) into dotted decimal and compressed IPv6, so a literal is recognised here.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0) {
    const reason = blockReason(host, opts.allow);
    if (reason) return { ok: false, code: 'TARGET_BLOCKED', message: describeBlock(host, reason) };
    return { ok: true, url };
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const local = isLocalName(name);
  if (local === 'loopback' && !isAllowed('127.0.0.1', opts.allow) && !isAllowed('::1', opts.allow)) {
    return { ok: false, code: 'TARGET_BLOCKED', message: `refused: ${name} is loopback` };
  }
  // A .local or .internal name resolves to a private address; let it through only when the
  // operator allows some private range, and leave the decision to the delivery-time check.
  if (local === 'private' && opts.allow.length === 0) {
    return { ok: false, code: 'TARGET_BLOCKED', message: `refused: ${name} is a private name` };
  }
  return { ok: true, url };
}
