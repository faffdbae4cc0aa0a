// The ingest check of numbers PostgreSQL's numeric cannot hold agrees with PostgreSQL itself,
// on both engines: a payload it lets through always casts to jsonb (what payload filters need).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdsUnstorableNumber, numericCanHold } from '../../src/json/numberRange.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const TOKENS = [
  '0',
  '-1.5',
  '1e1001',
  '1e131071',
  '1e131072',
  '1.5e131071',
  '15e131071',
  '0.01e131073',
  '0.1e131073',
  '0e200000',
  '0e-20000',
  '1e-16383',
  '1e-16384',
  '0.5e-16382',
  '0.5e-16383',
  `0.${'0'.repeat(16381)}1`,
  `0.${'0'.repeat(16382)}1`,
  '1e99999999999999999999',
];

describe.each(engines())('numbers numeric can hold (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
  });
  afterAll(() => t?.drop());

  it('agrees with a cast to jsonb for every token', async () => {
    for (const token of TOKENS) {
      const held = await t.db.query('SELECT ($1::text)::json::jsonb AS v', [`{"x": ${token}}`]).then(
        () => true,
        () => false,
      );
      expect(numericCanHold(token), token.slice(0, 30)).toBe(held);
      expect(holdsUnstorableNumber(`{"x": [${token}], "s": "e12345"}`), token.slice(0, 30)).toBe(!held);
    }
    expect(TOKENS.filter((x) => !numericCanHold(x)).length).toBeGreaterThan(4);
  });

  it('does not mistake text inside strings for numbers', () => {
    expect(holdsUnstorableNumber('{"note": "1e999999", "id": "e12345"}')).toBe(false);
  });
});
