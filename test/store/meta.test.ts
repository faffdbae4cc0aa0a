// store/meta.ts: the first value put under a key wins, on both engines (the admin token hash
// and the encryption canary rely on it when several processes start at once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMeta, putMetaOnce } from '../../src/store/meta.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

describe.each(engines())('meta (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
  });
  afterAll(() => t?.drop());

  it('keeps the first value and answers it to every later put', async () => {
    expect(await getMeta(t.db, 'k')).toBeUndefined();
    expect(await putMetaOnce(t.db, 'k', 'first')).toBe('first');
    expect(await putMetaOnce(t.db, 'k', 'second')).toBe('first');
    expect(await getMeta(t.db, 'k')).toBe('first');
  });

  it('lets concurrent puts agree on one winner', async () => {
    const answers = await Promise.all(['a', 'b', 'c'].map((v) => putMetaOnce(t.db, 'race', v)));
    expect(new Set(answers).size).toBe(1);
    expect(await getMeta(t.db, 'race')).toBe(answers[0]);
  });
});
