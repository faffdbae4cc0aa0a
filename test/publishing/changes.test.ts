import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { objectMembers } from '../../src/json/scan.js';
import { attachChanges, type Change, computeChanges } from '../../src/publishing/changes.js';

interface Doc {
  data: { changed_at: string; changes: Change[]; object: Record<string, unknown>; object_type: string };
}

const fixtureText = readFileSync(
  new URL('../fixtures/reference/canopy/account_update.json', import.meta.url),
  'utf8',
);
const doc = JSON.parse(fixtureText) as Doc;

/** The account before the update: the document's object with every listed change undone. */
function previousAccount(): Record<string, unknown> {
  const previous = structuredClone(doc.data.object);
  for (const c of doc.data.changes) {
    const parts = c.field_name.split('.');
    let node = previous;
    for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
    node[parts[parts.length - 1]!] = c.previous_value;
  }
  return previous;
}

const byName = (a: Change, b: Change) => a.field_name.localeCompare(b.field_name);

describe('computeChanges', () => {
  it('reproduces the account_update example of the Canopy reference', () => {
    const changes = computeChanges(previousAccount(), doc.data.object);
    expect(changes.find((c) => c.field_name === 'account_overview.account_status')).toStrictEqual({
      field_name: 'account_overview.account_status',
      previous_value: 'ACTIVE',
      new_value: 'SUSPENDED',
    });
    expect(changes.find((c) => c.field_name === 'account_overview.account_status_subtype')).toStrictEqual({
      field_name: 'account_overview.account_status_subtype',
      previous_value: '',
      new_value: 'BANKRUPTCY',
    });
    // Every entry of the document's list, and nothing else (is_active_scra and the other
    // unchanged fields are left out).
    expect(changes.length).toBe(14);
    expect([...changes].sort(byName)).toStrictEqual([...doc.data.changes].sort(byName));
  });

  it('lists them in the order of the current object', () => {
    // The document's list follows Canopy's account field order (that of its account_create
    // example), not the alphabetical object printed beside it; Tidings follows the object
    // it is given, here the document's.
    expect(computeChanges(previousAccount(), doc.data.object).map((c) => c.field_name)).toEqual([
      'account_overview.account_status',
      'account_overview.account_status_subtype',
      'additional_min_pay_details.unpaid_min_pay_cents',
      'additional_statement_min_pay_details.statement_current_min_pay_cents',
      'additional_statement_min_pay_details.statement_min_pay_fees_cents',
      'issuer_processor_details.lithic.account_token',
      'min_pay_due_cents.graced_due_date',
      'min_pay_due_cents.min_pay_cents',
      'min_pay_due_cents.statement_min_pay_cents',
      'summary.available_credit_cents',
      'summary.principal_cents',
      'summary.total_balance_cents',
      'summary.total_paid_to_date_cents',
      'summary.total_payoff_cents',
    ]);
  });

  it('shows a field that was missing, or null as a whole object, with previous_value null', () => {
    const current = { issuer_processor_details: { lithic: { account_token: '406101061835' } } };
    const expected = [
      {
        field_name: 'issuer_processor_details.lithic.account_token',
        previous_value: null,
        new_value: '406101061835',
      },
    ];
    expect(computeChanges({ issuer_processor_details: { lithic: null } }, current)).toStrictEqual(expected);
    expect(computeChanges({ issuer_processor_details: {} }, current)).toStrictEqual(expected);
    expect(computeChanges({}, current)).toStrictEqual(expected);
  });

  it('leaves unchanged fields out, nested or not', () => {
    const obj = { a: 1, b: { c: 'x', d: [1, 2], e: { f: null } }, g: false };
    expect(computeChanges(obj, structuredClone(obj))).toStrictEqual([]);
  });

  it('compares arrays as whole values', () => {
    expect(
      computeChanges({ tags: [1, { a: 1 }], same: [3] }, { tags: [1, { a: 2 }], same: [3] }),
    ).toStrictEqual([{ field_name: 'tags', previous_value: [1, { a: 1 }], new_value: [1, { a: 2 }] }]);
  });

  it('puts the current fields first, in their order, then the removed ones', () => {
    const previous = { gone: 1, x: { old: 'o', kept: 1 }, b: 1 };
    const current = { b: 2, x: { kept: 1, fresh: 'f' }, added: true };
    expect(computeChanges(previous, current)).toStrictEqual([
      { field_name: 'b', previous_value: 1, new_value: 2 },
      { field_name: 'x.fresh', previous_value: null, new_value: 'f' },
      { field_name: 'added', previous_value: null, new_value: true },
      { field_name: 'gone', previous_value: 1, new_value: null },
      { field_name: 'x.old', previous_value: 'o', new_value: null },
    ]);
  });

  it('treats null and absent as the same, and an object turned scalar as its leaves', () => {
    expect(computeChanges({ a: null }, {})).toStrictEqual([]);
    expect(computeChanges({}, { a: null })).toStrictEqual([]);
    expect(computeChanges({ a: { b: 1 } }, { a: 5 })).toStrictEqual([
      { field_name: 'a', previous_value: null, new_value: 5 },
      { field_name: 'a.b', previous_value: 1, new_value: null },
    ]);
  });

  it('tells a changed type from an equal value', () => {
    expect(computeChanges({ n: 0, s: '' }, { n: '0', s: '' })).toStrictEqual([
      { field_name: 'n', previous_value: 0, new_value: '0' },
    ]);
  });

  it('refuses anything but two objects', () => {
    expect(() => computeChanges([], {})).toThrow(TypeError);
    expect(() => computeChanges({}, 'x')).toThrow(TypeError);
  });
});

describe('attachChanges', () => {
  // The document's account_update data without the two members Tidings is to compute.
  const published = (() => {
    const m = objectMembers(fixtureText)!.find((x) => x.key === 'data')!;
    const members = objectMembers(m.text)!.filter((x) => x.key !== 'changes' && x.key !== 'changed_at');
    return `{${members.map((x) => `${JSON.stringify(x.key)}:${x.text}`).join(',')}}`;
  })();

  it('turns previous + new object into Canopy data with changed_at and changes', () => {
    const result = attachChanges(published, previousAccount(), new Date('2023-07-18T21:51:20.511Z'));
    if (!result.ok) throw new Error(result.error);
    const data = JSON.parse(result.payloadJson) as Doc['data'];
    expect(Object.keys(data)).toEqual(['changed_at', 'changes', 'object', 'object_type']);
    expect(data.changed_at).toBe(doc.data.changed_at);
    expect([...data.changes].sort(byName)).toStrictEqual([...doc.data.changes].sort(byName));
    expect(Object.keys(data.changes[0]!)).toEqual(['field_name', 'previous_value', 'new_value']);
    expect(data.object).toStrictEqual(doc.data.object);
    // The producer's text is untouched after the two spliced members.
    expect(result.payloadJson.endsWith(published.slice(1))).toBe(true);
  });

  it('compares the whole payload when it has no object member, and keeps a given changed_at', () => {
    const result = attachChanges(
      '{"status":"PAID", "changed_at":"2024-01-01T00:00:00Z"}',
      { status: 'DUE' },
      new Date(),
    );
    expect(result).toStrictEqual({
      ok: true,
      payloadJson:
        '{"changes":[{"field_name":"status","previous_value":"DUE","new_value":"PAID"}],"status":"PAID", "changed_at":"2024-01-01T00:00:00Z"}',
      changes: [{ field_name: 'status', previous_value: 'DUE', new_value: 'PAID' }],
    });
  });

  it('works on an empty object', () => {
    const result = attachChanges(' {} ', { a: 1 }, new Date('2024-01-01T00:00:00Z'));
    expect(result.ok && JSON.parse(result.payloadJson)).toStrictEqual({
      changed_at: '2024-01-01T00:00:00.000Z',
      changes: [{ field_name: 'a', previous_value: 1, new_value: null }],
    });
  });

  it('refuses what it cannot do, saying why', () => {
    expect(attachChanges('[1]', {}, new Date())).toStrictEqual({
      ok: false,
      error: 'payload must be a JSON object to carry changes',
    });
    expect(attachChanges('{}', [1], new Date())).toStrictEqual({
      ok: false,
      error: 'previous must be a JSON object',
    });
    const both = attachChanges('{"changes":[]}', {}, new Date());
    expect(both.ok).toBe(false);
    expect(!both.ok && both.error).toMatch(/either changes or previous/);
  });
});
