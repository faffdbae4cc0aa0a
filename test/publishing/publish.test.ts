// The one way in for every producer (src/publishing/publish.ts): one fingerprint formula, one
// size limit, one schema check, with the errors the API answers.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CompiledType } from '../../src/publishing/eventTypeCache.js';
import {
  checkPayloadSchema,
  checkPayloadText,
  knownType,
  PublishRefused,
  publishFingerprint,
  publishInput,
} from '../../src/publishing/publish.js';

const now = new Date('2026-01-02T03:04:05.000Z');

function refusal(fn: () => unknown): PublishRefused {
  try {
    fn();
  } catch (err) {
    if (err instanceof PublishRefused) return err;
    throw err;
  }
  throw new Error('expected a PublishRefused');
}

describe('publishFingerprint', () => {
  it('is the formula events already stored were fingerprinted with (a repeat after an upgrade still matches)', () => {
    // The scheduler's reminders have deterministic ids: a slot fired again after a crash must
    // find its event a duplicate, not a conflict, so the formula may not change.
    const old = createHash('sha256')
      .update(JSON.stringify(['bill.due', '{"a":1}', ['b', 'c'], null]))
      .digest('base64');
    expect(publishFingerprint('bill.due', '{"a":1}', ['c', 'b'], null)).toBe(old);
    const withPrevious = createHash('sha256')
      .update(JSON.stringify(['t', '{}', [], 'k', '{"x":0}']))
      .digest('base64');
    expect(publishFingerprint('t', '{}', [], 'k', '{"x":0}')).toBe(withPrevious);
  });

  it('tells the parts apart: type, payload, channels, ordering key, previous', () => {
    const base = publishFingerprint('t', '{}', ['a'], null);
    expect(publishFingerprint('u', '{}', ['a'], null)).not.toBe(base);
    expect(publishFingerprint('t', '{ }', ['a'], null)).not.toBe(base);
    expect(publishFingerprint('t', '{}', ['b'], null)).not.toBe(base);
    expect(publishFingerprint('t', '{}', ['a'], 'k')).not.toBe(base);
    expect(publishFingerprint('t', '{}', ['a'], null, '{}')).not.toBe(base);
  });
});

describe('publishInput', () => {
  it('fingerprints what the producer sent, keeps channels once, and makes an id when none is given', () => {
    const input = publishInput({
      tenantId: 'acme',
      type: 't',
      payloadJson: '{"a":1,"changes":[]}',
      channels: ['x', 'y', 'x'],
      orderingKey: null,
      idempotencyKey: null,
      source: 'api',
      createdAt: now,
      fingerprintOf: { payloadText: '{"a":1}', previousText: '{"a":0}' },
    });
    expect(input.id).toMatch(/^msg_/);
    expect(input.channels).toEqual(['x', 'y']);
    expect(input.payloadJson).toBe('{"a":1,"changes":[]}');
    expect(input.requestHash).toBe(publishFingerprint('t', '{"a":1}', ['x', 'y'], null, '{"a":0}'));
    const plain = publishInput({ ...input, id: 'e1', channels: [], fingerprintOf: undefined });
    expect(plain.id).toBe('e1');
    expect(plain.requestHash).toBe(publishFingerprint('t', '{"a":1,"changes":[]}', [], null));
  });
});

describe('checks', () => {
  it('refuses a payload over the limit with 413 naming the batch item', () => {
    expect(() => checkPayloadText('{"a":1}', 7)).not.toThrow();
    const single = refusal(() => checkPayloadText('{"a":12}', 7));
    expect([single.status, single.code, single.details]).toEqual([
      413,
      'payload_too_large',
      { size: 8, limit: 7 },
    ]);
    expect(single.message).toBe('The payload is 8 bytes; the limit is 7 bytes (TIDINGS_MAX_PAYLOAD_BYTES).');
    const item = refusal(() => checkPayloadText('{"a":12}', 7, 'events[2]'));
    expect(item.details).toEqual({ size: 8, limit: 7, path: 'events[2].payload' });
    expect(item.message).toContain('payload of events[2]');
  });

  it('refuses an unknown type and a payload its schema does not allow with 422', () => {
    const compiled: CompiledType = {
      type: { name: 'bill.paid' } as CompiledType['type'],
      validate: (p) =>
        (p as { amount?: unknown }).amount === undefined ? [{ path: '/amount', message: 'is required' }] : [],
    };
    const types = new Map([['bill.paid', compiled]]);
    expect(knownType(types, 'bill.paid')).toBe(compiled);
    const unknown = refusal(() => knownType(types, 'nope', 'events[0]'));
    expect([unknown.status, unknown.code, unknown.details]).toEqual([
      422,
      'unknown_event_type',
      { type: 'nope', path: 'events[0].type' },
    ]);
    expect(() => checkPayloadSchema(compiled, { amount: 1 })).not.toThrow();
    const bad = refusal(() => checkPayloadSchema(compiled, {}, { path: 'events[1]' }));
    expect([bad.status, bad.code]).toEqual([422, 'payload_invalid']);
    expect(bad.details).toEqual({
      errors: [{ path: 'events[1].payload.amount', message: 'is required' }],
      path: 'events[1].payload.amount',
    });
    const noted = refusal(() => checkPayloadSchema(compiled, {}, { note: 'fields are added' }));
    expect(noted.message).toBe(
      'The payload does not match the schema of "bill.paid" (fields are added): /amount is required.',
    );
  });
});
