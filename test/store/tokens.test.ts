// store/tokens.ts: a token is found by its hash only while it is live (not revoked, not
// expired); lists page by id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../src/store/tenants.js';
import { createToken, findActiveToken, listTokens, revokeToken, touchToken } from '../../src/store/tokens.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const now = new Date('2026-03-01T10:00:00Z');
const later = new Date('2026-03-02T10:00:00Z');

describe.each(engines())('tenant tokens (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
    await createTenant(t.db, { id: 'acme', name: 'Acme' }, now);
    for (const [id, expiresAt] of [
      ['tok_a', null],
      ['tok_b', new Date('2026-03-01T12:00:00Z')],
      ['tok_c', null],
    ] as const) {
      await createToken(
        t.db,
        { id, tenantId: 'acme', name: id, sha256: `sha_${id}`, hint: 'abcd', expiresAt },
        now,
      );
    }
  });
  afterAll(() => t?.drop());

  it('finds a live token by its hash, and not once it expired or was revoked', async () => {
    expect((await findActiveToken(t.db, 'sha_tok_a', now))?.id).toBe('tok_a');
    expect((await findActiveToken(t.db, 'sha_tok_b', now))?.id).toBe('tok_b');
    expect(await findActiveToken(t.db, 'sha_tok_b', later)).toBeUndefined();
    expect(await revokeToken(t.db, 'acme', 'tok_c', now)).toBe(true);
    expect(await revokeToken(t.db, 'acme', 'tok_c', later)).toBe(true);
    expect(await findActiveToken(t.db, 'sha_tok_c', now)).toBeUndefined();
    expect(await revokeToken(t.db, 'other', 'tok_a', now)).toBe(false);
    expect(await findActiveToken(t.db, 'sha_nope', now)).toBeUndefined();
  });

  it('records the last use and pages the list by id', async () => {
    await touchToken(t.db, 'tok_a', later);
    const first = await listTokens(t.db, 'acme', 2);
    expect(first!.data.map((x) => x.id)).toEqual(['tok_a', 'tok_b']);
    expect(first!.data[0]!.last_used_at?.getTime()).toBe(later.getTime());
    const second = await listTokens(t.db, 'acme', 2, first!.next_cursor!);
    expect(second!.data.map((x) => x.id)).toEqual(['tok_c']);
    expect(second!.data[0]!.revoked_at?.getTime()).toBe(now.getTime());
    expect(await listTokens(t.db, 'acme', 2, 'garbage!')).toBeUndefined();
  });
});
