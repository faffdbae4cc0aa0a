import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  blockReason,
  type Cidr,
  checkUrl,
  classifyAddress,
  describeBlock,
  isAllowed,
} from '../../src/delivery/ssrf.js';

const none: Cidr[] = [];
const loopbackAllowed: Cidr[] = [ipaddr.parseCIDR('127.0.0.1/32')];

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud-metadata'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fec0::1', 'site-local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.10', 'documentation'],
    ['203.0.113.10', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['2001:2::1', 'benchmarking'],
    ['192.0.0.192', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['100::1', 'reserved'],
    // IPv4-compatible (deprecated) and anything else outside 2000::/3
    ['::7f00:1', 'reserved'],
    ['4000::1', 'reserved'],
    ['not-an-ip', 'invalid'],
    ['127.1', 'invalid'],
  ])('%s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'cloud-metadata'],
    ['::ffff:8.8.8.8', 'public'],
  ])('IPv4-mapped %s is judged by its IPv4 address: %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each([
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::1', 'reserved'],
  ])('NAT64 %s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each([
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
    ['2002:7f00:1::1', 'loopback'],
    ['2002:a9fe:a9fe::1', 'cloud-metadata'],
    ['2002:808:808::1', 'public'],
    // Teredo is always refused; the embedded server / inverted client address names the reason
    ['2001:0:7f00:1::1', 'loopback'],
    ['2001:0:808:808::f5ff:fffe', 'private'],
    ['2001:0:808:808::f7f7:f7f7', 'reserved'],
  ])('6to4 / Teredo %s is %s', (ip, expected) => {
    expect(classifyAddress(ip)).toBe(expected);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'])(
    '%s is public',
    (ip) => {
      expect(classifyAddress(ip)).toBe('public');
    },
  );
});

describe('isAllowed and blockReason', () => {
  it('an allowed CIDR lets a private address through, only that range', () => {
    const allow: Cidr[] = [ipaddr.parseCIDR('10.1.0.0/16')];
    expect(blockReason('10.1.2.3', allow)).toBeUndefined();
    expect(blockReason('10.2.0.1', allow)).toBe('private');
    expect(blockReason('8.8.8.8', none)).toBeUndefined();
  });

  it('IPv4 and IPv4-mapped IPv6 match each other', () => {
    expect(isAllowed('::ffff:127.0.0.1', loopbackAllowed)).toBe(true);
    const mapped: Cidr[] = [ipaddr.parseCIDR('::ffff:127.0.0.0/104')];
    expect(isAllowed('127.0.0.1', mapped)).toBe(true);
    expect(isAllowed('128.0.0.1', mapped)).toBe(false);
  });

  it('an IPv4 range does not allow unrelated IPv6 addresses', () => {
    expect(isAllowed('::1', loopbackAllowed)).toBe(false);
    expect(blockReason('::1', loopbackAllowed)).toBe('loopback');
  });

  it('an invalid address is never allowed, even by ::/0', () => {
    expect(blockReason('localhost', [ipaddr.parseCIDR('::/0'), ipaddr.parseCIDR('0.0.0.0/0')])).toBe(
      'invalid',
    );
  });

  it('describes the refusal by address and range', () => {
    expect(describeBlock('10.0.0.5', 'private')).toBe('refused: 10.0.0.5 is private');
    expect(describeBlock('169.254.169.254', 'cloud-metadata')).toBe(
      'refused: 169.254.169.254 is a cloud metadata address',
    );
  });
});

describe('checkUrl', () => {
  it('accepts an ordinary https URL and returns the parsed URL', () => {
    const r = checkUrl('https://hooks.example.com/tidings?x=1', { allow: none });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.url.hostname).toBe('hooks.example.com');
  });

  // The WHATWG parser normalises every IPv4 spelling to dotted decimal; each must be refused.
  it.each([
    ['http://127.0.0.1/', '127.0.0.1', 'loopback'],
    ['http://127.1/', '127.0.0.1', 'loopback'],
    ['http://0x7f000001/', '127.0.0.1', 'loopback'],
    ['http://2130706433/', '127.0.0.1', 'loopback'],
    ['http://0177.0.0.1/', '127.0.0.1', 'loopback'],
    ['http://017700000001/', '127.0.0.1', 'loopback'],
    ['http://0x7f.1/', '127.0.0.1', 'loopback'],
    ['http://127.0.0.1./', '127.0.0.1', 'loopback'],
    ['http://[::1]/', '::1', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'loopback'],
    ['http://[::ffff:7f00:1]/', '::ffff:7f00:1', 'loopback'],
    ['http://0/', '0.0.0.0', 'unspecified'],
    ['http://0.0.0.0/', '0.0.0.0', 'unspecified'],
    ['http://[::]/', '::', 'unspecified'],
    ['http://10.0.0.5/', '10.0.0.5', 'private'],
    ['http://100.64.1.1/', '100.64.1.1', 'carrier-grade NAT (100.64.0.0/10)'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'a cloud metadata address'],
    ['http://0xa9fea9fe/', '169.254.169.254', 'a cloud metadata address'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254', 'a cloud metadata address'],
    ['http://[fe80::1]/', 'fe80::1', 'link-local'],
    ['http://[fd12::1]/', 'fd12::1', 'unique-local (fc00::/7)'],
    ['http://224.0.0.1/', '224.0.0.1', 'multicast'],
    ['http://[64:ff9b::a9fe:a9fe]/', '64:ff9b::a9fe:a9fe', 'a cloud metadata address'],
  ])('%s is refused as %s', (url, ip, text) => {
    const r = checkUrl(url, { allow: none });
    expect(r).toEqual({ ok: false, code: 'TARGET_BLOCKED', message: `refused: ${ip} is ${text}` });
  });

  it.each(['http://localhost:8080/', 'http://LOCALHOST/', 'http://localhost./', 'http://api.localhost/'])(
    '%s is refused as loopback unless loopback is allowed',
    (url) => {
      const refused = checkUrl(url, { allow: none });
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.message).toMatch(/loopback$/);
      expect(checkUrl(url, { allow: loopbackAllowed }).ok).toBe(true);
      expect(checkUrl(url, { allow: [ipaddr.parseCIDR('::1/128')] }).ok).toBe(true);
      expect(checkUrl(url, { allow: [ipaddr.parseCIDR('10.0.0.0/8')] }).ok).toBe(false);
    },
  );

  it.each(['http://printer.local/', 'http://metadata.google.internal/', 'http://host.docker.internal/'])(
    '%s is refused while no private range is allowed',
    (url) => {
      expect(checkUrl(url, { allow: none })).toMatchObject({ ok: false, code: 'TARGET_BLOCKED' });
      expect(checkUrl(url, { allow: [ipaddr.parseCIDR('10.0.0.0/8')] }).ok).toBe(true);
    },
  );

  it('an allowed CIDR lets an IP literal through', () => {
    expect(checkUrl('http://127.0.0.1:9999/hook', { allow: loopbackAllowed }).ok).toBe(true);
    expect(checkUrl('http://127.1:9999/hook', { allow: loopbackAllowed }).ok).toBe(true);
    expect(checkUrl('http://127.0.0.2:9999/hook', { allow: loopbackAllowed }).ok).toBe(false);
  });

  it('passes other hostnames; they are checked again at delivery', () => {
    expect(checkUrl('http://internal-looking-but-public.example/', { allow: none }).ok).toBe(true);
  });

  it.each([
    ['ftp://example.com/', 'URL_SCHEME'],
    ['file:///etc/passwd', 'URL_SCHEME'],
    ['gopher://example.com/', 'URL_SCHEME'],
    ['javascript:alert(1)', 'URL_SCHEME'],
    ['https://user:pass@example.com/', 'URL_USERINFO'],
    ['https://user@example.com/', 'URL_USERINFO'],
    ['not a url', 'URL_INVALID'],
    ['/relative/path', 'URL_INVALID'],
    ['http://256.1.1.1/', 'URL_INVALID'],
    ['http://1.2.3.4.5/', 'URL_INVALID'],
  ])('%s → %s', (url, code) => {
    expect(checkUrl(url, { allow: none })).toMatchObject({ ok: false, code });
  });

  it('refuses plain http when https is required', () => {
    expect(checkUrl('http://example.com/', { allow: none, requireHttps: true })).toMatchObject({
      ok: false,
      code: 'URL_SCHEME',
    });
    expect(checkUrl('https://example.com/', { allow: none, requireHttps: true }).ok).toBe(true);
  });

  it('limits the length (2048 by default)', () => {
    const base = 'https://example.com/';
    expect(checkUrl(base + 'a'.repeat(2048 - base.length), { allow: none }).ok).toBe(true);
    expect(checkUrl(base + 'a'.repeat(2049 - base.length), { allow: none })).toMatchObject({
      ok: false,
      code: 'URL_TOO_LONG',
    });
    expect(checkUrl(base + 'a'.repeat(20), { allow: none, maxLength: 30 })).toMatchObject({
      ok: false,
      code: 'URL_TOO_LONG',
    });
  });
});
