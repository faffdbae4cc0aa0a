// Hostile values the security suites write into requests: strings that break parsers, paths,
// headers, SQL and encodings, and values of every JSON shape. Shared by fuzz.test.ts (every
// write route, operator and tenant tokens) and adversarial.test.ts (every tenant-writable
// field, with a real worker and scheduler running). No value names a host that resolves:
// the adversarial suite runs a worker, and nothing may dial out of the machine.
import fc from 'fast-check';

export const HOSTILE_TEXT = [
  '',
  ' ',
  '../../etc/passwd',
  '..%2f..%2f',
  '\u0000',
  '%00',
  '\r\nX-Injected: 1',
  'a\nb',
  "'; DROP TABLE tenants; --",
  '__proto__',
  'constructor',
  '☃💥\uFFFF',
  '\uD800',
  'x'.repeat(3000),
  'http://127.0.0.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://[::1]/',
  'https://example.invalid/',
  'whsec_',
  'whsk_AAAA',
  '2031-13-45T99:99:99Z',
  '-1 days',
  '1e309',
  'null',
  '{}',
];

export const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_TEXT),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, -1, 0, 1e308, -0, 2 ** 53 + 1, [], {}),
  fc.dictionary(hostileString, hostileString, { maxKeys: 4 }),
  fc.array(hostileString, { maxLength: 4 }),
);
