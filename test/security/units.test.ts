// Small pure pieces of the security work: static header rules, the signature header built
// from live secrets, the scope of the audit log, NUL detection.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { auditAction } from '../../src/api/audit.js';
import { checkHeaders } from '../../src/api/endpointInput.js';
import type { ApiError } from '../../src/api/errors.js';
import { holdsUnstorable } from '../../src/api/inputGuard.js';
import { buildRequest } from '../../src/delivery/request.js';
import { newKeyPair, verifyEd25519 } from '../../src/signing/ed25519.js';
import { newSecret } from '../../src/signing/hmac.js';
import {
  afterRotation,
  MAX_PREVIOUS_SECRETS,
  type PreviousSecret,
  signatureHeader,
} from '../../src/signing/secrets.js';
import type { ClaimedDelivery } from '../../src/store/deliveries/types.js';
import { plainCodec } from '../../src/store/secrets.js';

function refusal(headers: Record<string, string>): string | undefined {
  try {
    checkHeaders(headers);
    return undefined;
  } catch (err) {
    return (err as ApiError).code;
  }
}

describe('static header rules', () => {
  it.each([
    [{ Host: 'evil.example' }, 'reserved_header'],
    [{ 'content-length': '0' }, 'reserved_header'],
    [{ 'Transfer-Encoding': 'chunked' }, 'reserved_header'],
    [{ 'Webhook-Signature': 'v1,forged' }, 'reserved_header'],
    [{ 'webhook-id': 'x' }, 'reserved_header'],
    [{ 'X-Forwarded-For': '10.0.0.1' }, 'reserved_header'],
    [{ Connection: 'close' }, 'reserved_header'],
    [{ 'Proxy-Authorization': 'Basic x' }, 'reserved_header'],
    [{ 'Bad Name': 'x' }, 'invalid_header'],
    [{ 'X:Colon': 'x' }, 'invalid_header'],
    [{ '': 'x' }, 'invalid_header'],
    [{ 'X-Key': 'a\r\nInjected: yes' }, 'invalid_header'],
    [{ 'X-Key': 'a\nb' }, 'invalid_header'],
    [{ 'X-Key': 'a\u0000b' }, 'invalid_header'],
    [{ 'X-Key': ' padded' }, 'invalid_header'],
    [{ 'X-Key': 'x'.repeat(4097) }, 'invalid_header'],
    [{ 'X-Key': '☃' }, 'invalid_header'],
    [{ 'X-Key': 'a', 'x-key': 'b' }, 'duplicate_header'],
    [Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v'])), 'too_many_headers'],
  ])('refuses %j (%s)', (headers, code) => {
    expect(refusal(headers)).toBe(code);
  });

  it('accepts ordinary credentials', () => {
    expect(
      refusal({ Authorization: 'Basic dXNlcjpwYXNz', 'X-Api-Key': 'k\tv 1', 'X-Empty': '' }),
    ).toBeUndefined();
  });

  it('a stored reserved header (written before the rules) is never sent', () => {
    const d: ClaimedDelivery = {
      id: 1,
      attempts: 0,
      tenant_id: 't',
      endpoint_id: 'ep',
      url: 'https://example.com',
      profile: 'standard',
      secret: newSecret(),
      headers: JSON.stringify({ 'WEBHOOK-SIGNATURE': 'v1,forged', host: 'evil', 'X-Ok': 'fine-value-123' }),
      event_id: 'msg_1',
      event_type: 't.x',
      event_created_at: new Date(0),
      payload: '{}',
      ordering_key: null,
      sequence: null,
    } as ClaimedDelivery;
    const built = buildRequest(d, plainCodec, new Date(1_700_000_000_000));
    if (!built.ok) throw new Error(built.error);
    expect(
      Object.keys(built.headers)
        .map((h) => h.toLowerCase())
        .filter((h) => h === 'webhook-signature' || h === 'host'),
    ).toEqual(['webhook-signature']);
    expect(built.headers['webhook-signature']).not.toBe('v1,forged');
    expect(built.headers['X-Ok']).toBe('fine-value-123');
    expect(built.recordedHeaders['X-Ok']).toBe('****3');
  });
});

describe('the signature header from live secrets', () => {
  const now = new Date('2031-01-01T00:00:00Z');
  const later = (s: number) => new Date(now.getTime() + s * 1000).toISOString();

  it('signs with the current secret first, then each unexpired previous one, HMAC and Ed25519 alike', () => {
    const current = newSecret();
    const old = newKeyPair();
    const expired = newSecret();
    const previous: PreviousSecret[] = [
      { secret: old.secretKey, expires_at: later(60) },
      { secret: expired, expires_at: later(-1) },
    ];
    const header = signatureHeader(current, previous, now, 'msg_x', 1924992000, '{"a":1}');
    const parts = header.split(' ');
    expect(parts.map((p) => p.split(',')[0])).toEqual(['v1', 'v1a']);
    expect(parts[0]).toBe(new Webhook(current).sign('msg_x', new Date(1924992000 * 1000), '{"a":1}'));
    expect(verifyEd25519(old.publicKey, 'msg_x', 1924992000, '{"a":1}', header)).toBe(true);
  });

  it('after a rotation keeps the replaced secret until its grace ends, drops expired ones, caps the list', () => {
    const a = newSecret();
    let list: PreviousSecret[] = [];
    list = afterRotation(a, list, new Date(now.getTime() + 3600_000), now);
    expect(list).toEqual([{ secret: a, expires_at: later(3600) }]);
    // No grace: the replaced secret stops at once.
    expect(afterRotation(newSecret(), list, now, now)).toEqual(list);
    // Expired entries go.
    expect(afterRotation(newSecret(), list, now, new Date(now.getTime() + 3600_000))).toEqual([]);
    for (let i = 0; i < 10; i++)
      list = afterRotation(newSecret(), list, new Date(now.getTime() + 7200_000), now);
    expect(list).toHaveLength(MAX_PREVIOUS_SECRETS);
  });
});

describe('what the audit log records', () => {
  it.each([
    ['POST', '/v1/tenants/:tid/endpoints', true],
    ['PATCH', '/v1/tenants/:tid/endpoints/:eid', true],
    ['DELETE', '/v1/tenants/:tid', true],
    ['PUT', '/v1/event-types/:name', true],
    ['GET', '/v1/tenants/:tid/endpoints/:eid/secret', true],
    ['GET', '/v1/tenants/:tid/endpoints', false],
    ['POST', '/v1/tenants/:tid/events', false],
    ['PUT', '/v1/tenants/:tid/anchors/:anchor_id', false],
    ['POST', '/v1/tenants/:tid/anchors/:anchor_id/resolve', false],
    ['POST', '/portal/endpoints', false],
  ])('%s %s → %s', (method, route, recorded) => {
    expect(auditAction(method, route) !== undefined).toBe(recorded);
  });
});

describe('unstorable text detection', () => {
  it('finds a NUL or an unpaired surrogate in any key or value, or escaped in raw text', () => {
    expect(holdsUnstorable({ a: [{ b: 'x\u0000' }] })).toBe(true);
    expect(holdsUnstorable({ 'k\u0000': 1 })).toBe(true);
    expect(holdsUnstorable('{"a":"\\u0000"}')).toBe(true);
    expect(holdsUnstorable({ a: ['fine', 1, null, { b: 'ok' }] })).toBe(false);
    // Unpaired surrogates, which PostgreSQL's json and jsonb refuse; a pair (an emoji) is fine.
    expect(holdsUnstorable({ '\ud800': '' })).toBe(true);
    expect(holdsUnstorable({ a: ['x\udc00y'] })).toBe(true);
    expect(holdsUnstorable({ a: 'end\ud83d' })).toBe(true);
    expect(holdsUnstorable({ a: 'pay 💸 now', ключ: '€' })).toBe(false);
    expect(holdsUnstorable('{"a":"\\ud800"}')).toBe(true);
    expect(holdsUnstorable('{"a":"\\ud83d\\udcb8"}')).toBe(false);
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(holdsUnstorable(deep)).toBe(false);
  });
});
