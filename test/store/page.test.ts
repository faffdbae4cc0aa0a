// Cursors and pages (store/page.ts): a cursor we made decodes to its parts; one we did not make
// decodes to nothing; a page stops at its limit or its byte budget, with a cursor to go on.
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageOf } from '../../src/store/page.js';

describe('cursors', () => {
  it('round-trips the sort key', () => {
    expect(decodeCursor(encodeCursor(['msg_1', 42]), ['string', 'number'])).toEqual(['msg_1', 42]);
  });

  it.each([
    ['not base64 JSON', 'nope!'],
    ['another shape', encodeCursor(['a'])],
    ['a number that is not a safe integer', encodeCursor(['a', 2 ** 60])],
    ['a fraction', encodeCursor(['a', 1.5])],
    ['a NUL in a string part', encodeCursor(['a\u0000b', 1])],
    ['a string part too long', encodeCursor(['x'.repeat(301), 1])],
  ])('refuses %s', (_why, cursor) => {
    expect(decodeCursor(cursor, ['string', 'number'])).toBeUndefined();
  });
});

describe('pageOf', () => {
  const rows = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];

  it('cuts limit + 1 rows into a page and the cursor of its last row', () => {
    const page = pageOf(rows, 2, (r) => [r.id]);
    expect(page.data).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(decodeCursor(page.next_cursor!, ['string'])).toEqual(['b']);
    expect(pageOf(rows, 3, (r) => [r.id]).next_cursor).toBeNull();
  });

  it('stops before the row that would pass the byte budget, keeping at least one', () => {
    const page = pageOf(rows, 3, (r) => [r.id], 20);
    expect(page.data).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(decodeCursor(page.next_cursor!, ['string'])).toEqual(['b']);
    expect(pageOf(rows, 3, (r) => [r.id], 1).data).toEqual([{ id: 'a' }]);
  });
});
