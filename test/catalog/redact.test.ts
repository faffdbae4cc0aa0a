// The catalog's `redact` pointers: what a view replaces, and what it leaves alone.
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog/catalogFile.js';
import { REDACTED, redactJsonText, redactPayload } from '../../src/catalog/redact.js';

describe('redact', () => {
  const payload = {
    ssn: '123-45-6789',
    name: 'Ana',
    bank_account: { number: '987654321', routing: '012345678' },
    customers: [{ ssn: '1' }, { ssn: '2', dob: '1990-01-01' }],
    'a/b': { '~x': 'weird' },
  };

  it('replaces the values at the pointers that exist, with * for every element', () => {
    const out = redactPayload(payload, [
      '/ssn',
      '/bank_account/number',
      '/customers/*/ssn',
      '/a~1b/~0x',
      '/missing/x',
    ]);
    expect(out).toEqual({
      ssn: REDACTED,
      name: 'Ana',
      bank_account: { number: REDACTED, routing: '012345678' },
      customers: [{ ssn: REDACTED }, { ssn: REDACTED, dob: '1990-01-01' }],
      'a/b': { '~x': REDACTED },
    });
    // The input is left as it was.
    expect(payload.ssn).toBe('123-45-6789');
    expect(redactPayload(payload, ['/customers/1/dob'])).toMatchObject({
      customers: [{ ssn: '1' }, { ssn: '2', dob: REDACTED }],
    });
  });

  it('finds the payload inside a body wherever the profile puts it', () => {
    const body = `{"type":"t","timestamp":"x","data":${JSON.stringify(payload)}}`;
    const shown = JSON.parse(redactJsonText(body, ['/ssn'], ['', '/data'])) as { data: { ssn: string } };
    expect(shown.data.ssn).toBe(REDACTED);
    // Nothing to redact: the text is returned exactly as it was (key order, spacing).
    const text = '{ "b": 1,  "a": 2 }';
    expect(redactJsonText(text, ['/ssn'], ['', '/data'])).toBe(text);
    expect(redactJsonText('not json', ['/ssn'])).toBe('not json');
    expect(redactJsonText(text, null)).toBe(text);
  });

  it('a catalog file may list pointers; a malformed one is refused with its place', () => {
    const file = (redact: unknown) =>
      JSON.stringify({
        name: 'c',
        event_types: [{ name: 'account_create', description: 'd', default_enabled: true, redact }],
      });
    const ok = parseCatalog(file(['/ssn', '/customers/*/ssn']), 'c.json');
    expect(ok.ok && ok.catalog.event_types[0]!.redact).toEqual(['/ssn', '/customers/*/ssn']);
    const bad = parseCatalog(file(['ssn']), 'c.json');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.join('\n')).toContain('event_types[0].redact[0]');
  });
});
