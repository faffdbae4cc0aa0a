import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Catalog, formatJsonPath, parseCatalog } from '../../src/catalog/catalogFile.js';
import { scanJson } from '../../src/json/scan.js';
import { createPayloadAjv } from '../../src/publishing/payloadSchema.js';
import { PAYMENT_DUE_DATE_SAMPLE } from '../providers/support.js';

function shipped(name: string): Catalog {
  const text = readFileSync(new URL(`../../catalogs/${name}.json`, import.meta.url), 'utf8');
  const result = parseCatalog(text, `catalogs/${name}.json`);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.catalog;
}

function type(catalog: Catalog, name: string) {
  const t = catalog.event_types.find((x) => x.name === name);
  if (!t) throw new Error(`${catalog.name} has no ${name}`);
  return t;
}

/** Validates a payload against a catalog type's schema, as ingest would. */
function accepts(catalog: Catalog, name: string, payload: unknown): boolean {
  const schema = type(catalog, name).schema;
  if (schema === undefined) throw new Error(`${name} has no schema`);
  return createPayloadAjv().compile(schema)(payload);
}

function canopyExampleData(name: string): unknown {
  const url = new URL(`../fixtures/reference/canopy/${name}.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { data: unknown }).data;
}

describe('shipped catalogs', () => {
  it('highline: every topic.event of the document, plus the two its examples use', () => {
    const c = shipped('highline');
    expect(c.profile).toBe('highline');
    expect(c.event_types.map((t) => t.name)).toEqual([
      'bill_payments.paid',
      'bill_payments.created',
      'bill_payments.payments_initiated',
      'bill_payments.needs_attention',
      'bill_payments.excess_funds_transfer_initiated',
      'bill_payments.insufficient_funds_transfer_initiated',
      'settlements.created',
      'settlements.sent',
      'settlements.completed',
      'settlements.canceled',
      'settlements.pending',
      'pay_allocations.active',
      'pay_allocations.pending',
      'pay_allocations.sent',
      'enrollments.active',
      'enrollments.completed',
    ]);
    for (const t of c.event_types) {
      expect(t.group).toBe(t.name.split('.')[0]);
      expect(t.default_enabled).toBe(true);
      expect(t.schema).toBeDefined();
    }
    expect(type(c, 'bill_payments.paid').description).toBe('A bill was paid successfully');
    for (const name of ['settlements.pending', 'pay_allocations.sent']) {
      expect(type(c, name).description).toMatch(
        /Not in the reference document's .* table; used by its .* example/,
      );
    }
  });

  it("highline: the document's example data satisfy the schemas; data without metadata does not", () => {
    const c = shipped('highline');
    const metadata = { product_id: '24de3...' };
    expect(accepts(c, 'bill_payments.paid', { bill_payment_id: 'da345...', metadata })).toBe(true);
    expect(accepts(c, 'settlements.pending', { settlement_id: 'da345...', metadata })).toBe(true);
    expect(accepts(c, 'pay_allocations.sent', { pay_allocation_id: 'da345...', metadata })).toBe(true);
    expect(accepts(c, 'enrollments.active', { pay_allocation_id: 'da345...', metadata })).toBe(true);
    expect(accepts(c, 'bill_payments.paid', { bill_payment_id: 'da345...' })).toBe(false);
    expect(accepts(c, 'settlements.sent', { bill_payment_id: 'x', metadata })).toBe(false);
    expect(accepts(c, 'enrollments.active', { metadata })).toBe(false);
  });

  it('bank payments: the nine supported events, all on by default', () => {
    const c = shipped('bank-payments');
    expect(c.event_types.map((t) => t.name)).toEqual([
      'IncomingPaymentProcessed',
      'IncomingPaymentBooked',
      'OutgoingPaymentRejected',
      'OutgoingPaymentBooked',
      'OutgoingPaymentProcessed',
      'MissingFunding',
      'Reversed',
      'PaymentRouting',
      'OutgoingDirectDebitPendingProcessing',
    ]);
    expect(c.event_types.every((t) => t.default_enabled && t.group !== null)).toBe(true);
    expect(type(c, 'MissingFunding').description).toMatch(/rejected after 2 days$/);
  });

  it('canopy: default types on, configurable ones off with their reminder forms', () => {
    const c = shipped('canopy');
    expect(c.profile).toBe('canopy');
    expect(c.event_types.filter((t) => t.default_enabled).map((t) => t.name)).toEqual([
      'account_create',
      'account_update',
      'line_item_create',
      'line_item_update',
      'statement_generation',
      'account_calculations_change',
      'loans_restructure',
      'payment_reversed',
    ]);
    expect(c.event_types.every((t) => t.group === (t.default_enabled ? 'default' : 'configurable'))).toBe(
      true,
    );
    expect(type(c, 'payment_due_date')).toMatchObject({
      default_enabled: false,
      reminder: { anchor: 'statement due date', negative_offsets: true, periodic: false },
    });
    expect(type(c, 'minimum_payment_missed')).toMatchObject({
      default_enabled: false,
      reminder: { anchor: 'due date plus grace period', negative_offsets: false, periodic: false },
    });
    expect(type(c, 'account_delinquency')).toMatchObject({
      default_enabled: false,
      reminder: { anchor: 'moment of delinquency', negative_offsets: false, periodic: true },
    });
    expect(c.event_types.filter((t) => t.reminder).length).toBe(3);
  });

  it("canopy: every example's data satisfies its type's schema", () => {
    const c = shipped('canopy');
    for (const name of [
      'account_create',
      'account_update',
      'line_item_update',
      'payment_reversed',
      'account_delinquency',
    ]) {
      expect(accepts(c, name, canopyExampleData(name)), name).toBe(true);
    }
    const reversed = canopyExampleData('payment_reversed') as Record<string, unknown>;
    expect(accepts(c, 'payment_reversed', { ...reversed, reversal_original_amount_cents: '-5000' })).toBe(
      false,
    );
    const { cure_amount: _, ...noCure } = canopyExampleData('account_delinquency') as Record<string, unknown>;
    expect(accepts(c, 'account_delinquency', noCure)).toBe(false);
  });

  it('canopy: the payload fields the document lists for the configurable types', () => {
    const c = shipped('canopy');
    const due = { ...PAYMENT_DUE_DATE_SAMPLE, statement_id: 'stmt_1' };
    expect(accepts(c, 'payment_due_date', due)).toBe(true);
    expect(
      accepts(c, 'payment_due_date', { ...due, delinquent_as_of_date: '2024-01-30T13:23:00.487411-05:00' }),
    ).toBe(true);
    expect(accepts(c, 'payment_due_date', { ...due, delinquent_as_of_date: 'soon' })).toBe(false);
    const { days_past_due: _, ...noDays } = due;
    expect(accepts(c, 'payment_due_date', noDays)).toBe(false);
    const missed = {
      account_id: 'a',
      customer_id: 'c',
      statement_id: 's',
      time_stamp: '2024-03-05T00:00:00Z',
    };
    expect(accepts(c, 'minimum_payment_missed', missed)).toBe(true);
    expect(accepts(c, 'minimum_payment_missed', { ...missed, statement_id: undefined })).toBe(false);
  });

  it('billie: every event of every section, with the body fields as schema', () => {
    const c = shipped('billie');
    expect(c.profile).toBe('billie');
    const groups = new Map<string, string[]>();
    for (const t of c.event_types) groups.set(t.group ?? '', [...(groups.get(t.group ?? '') ?? []), t.name]);
    expect(Object.fromEntries(groups)).toEqual({
      'Order State Transitions': ['order_waiting', 'order_shipped', 'order_canceled'],
      'Invoice State Transitions': ['invoice_paid_out', 'invoice_late', 'invoice_canceled'],
      'Waiting State': ['order_approved', 'order_declined'],
      'Webhooks for Dunning & Collections': [
        'reminder_email_1',
        'reminder_email_2',
        'dunning_letter_1',
        'dunning_email_1',
        'reminder_email_3',
        'dunning_letter_2',
        'dunning_email_2',
        'reminder_email_4',
        'dca_email',
      ],
      Payments: ['payment'],
    });
    const body = { order_id: 'O-1', order_uuid: 'u', invoice_uuid: 'i' };
    expect(accepts(c, 'payment', body)).toBe(true);
    expect(accepts(c, 'payment', { ...body, amount: '150.00', open_amount: '0.00' })).toBe(true);
    expect(accepts(c, 'payment', { ...body, created_at: '2024-05-02T10:11:12Z' })).toBe(true);
    expect(accepts(c, 'payment', { ...body, amount: 150 })).toBe(false);
    expect(accepts(c, 'payment', { ...body, created_at: 'yesterday' })).toBe(false);
    expect(accepts(c, 'dca_email', { order_uuid: 'u', invoice_uuid: 'i' })).toBe(false);
  });
});

describe('refused catalog files', () => {
  const good = (types: string) => `{
  "name": "demo",
  "event_types": [
${types}
  ]
}`;
  const refused = (text: string): string[] => {
    const r = parseCatalog(text, 'demo.json');
    if (r.ok) throw new Error('accepted');
    return r.errors;
  };

  it('accepts a small valid file and fills the defaults', () => {
    const r = parseCatalog(
      good('    { "name": "a.b", "description": "d", "default_enabled": false }'),
      'demo.json',
    );
    expect(r).toStrictEqual({
      ok: true,
      catalog: {
        name: 'demo',
        description: '',
        profile: 'standard',
        event_types: [{ name: 'a.b', description: 'd', group: null, default_enabled: false }],
      },
    });
  });

  it('refuses a reminder window that does not parse or runs backwards (validateReminderSettings)', () => {
    const withWindow = (window: string) =>
      good(
        `    { "name": "bill.due", "description": "d", "default_enabled": false, "reminder": { "anchor": "due date", "negative_offsets": true, "periodic": false, "window": ${window} } }`,
      );
    expect(parseCatalog(withWindow('{ "start": "-31 days", "end": "31 days" }'), 'demo.json').ok).toBe(true);
    const unparsable = refused(withWindow('{ "start": "soon", "end": "31 days" }'));
    expect(unparsable).toHaveLength(1);
    expect(unparsable[0]).toContain('event_types[0].reminder.window');
    expect(unparsable[0]).toContain('reminder.window.start');
    const backwards = refused(withWindow('{ "start": "31 days", "end": "-31 days" }'));
    expect(backwards).toHaveLength(1);
    expect(backwards[0]).toContain('start "31 days" is after end "-31 days"');
  });

  it('points at a syntax error by line and column', () => {
    // The mistake of Highline's own examples: a comma before a closing brace.
    const text = '{\n  "name": "demo",\n  "event_types": [],\n}';
    expect(refused(text)).toEqual([
      'demo.json:4:1: expected a double-quoted property name, found "}" (a trailing comma?)',
    ]);
    expect(refused('')).toEqual(['demo.json:1:1: expected a value, found end of input']);
    expect(refused('{"name": "demo", "event_types": [}')).toEqual([
      'demo.json:1:34: expected a value, found "}" (a trailing comma?)',
    ]);
  });

  it('names the JSON path and the place of a schema problem', () => {
    const text = good(
      [
        '    { "name": "a", "description": "", "default_enabled": true },',
        '    { "name": "b", "description": "", "default_enabled": true },',
        '    { "name": "c", "description": "", "default_enabled": true },',
        '    { "name": "bad name!", "description": "", "default_enabled": true }',
      ].join('\n'),
    );
    expect(refused(text)).toEqual([
      'demo.json:7:15: event_types[3].name: must match ^[A-Za-z][A-Za-z0-9_.-]*$',
    ]);
  });

  it('reports missing and unknown properties and wrong types, top to bottom', () => {
    const text = good(
      [
        '    { "name": "a", "description": "" },',
        '    { "name": "b", "description": "", "default_enabled": "yes", "grup": "x" }',
      ].join('\n'),
    );
    expect(refused(text)).toEqual([
      'demo.json:4:5: event_types[0]: missing required property "default_enabled"',
      'demo.json:5:58: event_types[1].default_enabled: must be boolean',
      'demo.json:5:73: event_types[1].grup: unknown property (allowed: name, description, group, default_enabled, schema, reminder, redact, examples, deprecated)',
    ]);
  });

  it('refuses duplicate names, an unknown profile and a schema that does not compile', () => {
    const text = `{
  "name": "demo",
  "profile": "canopi",
  "event_types": [
    { "name": "a", "description": "", "default_enabled": true, "schema": { "type": "strng" } },
    { "name": "b", "description": "", "default_enabled": true, "schema": { "requried": ["x"] } },
    { "name": "a", "description": "", "default_enabled": true }
  ]
}`;
    const errors = refused(text);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toBe(
      'demo.json:3:14: profile: unknown wire profile "canopi" (known: standard, raw, highline, canopy, billie)',
    );
    expect(errors[1]).toMatch(
      /^demo\.json:5:74: event_types\[0\]\.schema: not a usable JSON Schema: schema is invalid/,
    );
    expect(errors[2]).toBe(
      'demo.json:6:74: event_types[1].schema: not a usable JSON Schema: strict mode: unknown keyword: "requried"',
    );
    expect(errors[3]).toBe('demo.json:7:15: event_types[2].name: duplicate of event_types[0].name "a"');
  });

  it('checks reminder objects', () => {
    const text = good(
      '    { "name": "r", "description": "", "default_enabled": false, "reminder": { "anchor": "due", "periodic": "no" } }',
    );
    expect(refused(text)).toEqual([
      'demo.json:4:77: event_types[0].reminder: missing required property "negative_offsets"',
      'demo.json:4:108: event_types[0].reminder.periodic: must be boolean',
    ]);
  });

  it('accepts a byte order mark', () => {
    expect(parseCatalog(`\ufeff${good('')}`, 'demo.json').ok).toBe(true);
  });
});

describe('JSON text scanning', () => {
  it('formats paths the way they are written', () => {
    expect(formatJsonPath([])).toBe('(root)');
    expect(formatJsonPath(['event_types', 3, 'name'])).toBe('event_types[3].name');
    expect(formatJsonPath(['schema', 'properties', 'a b'])).toBe('schema.properties["a b"]');
  });

  it('agrees with JSON.parse on valid text and on text with one character dropped', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), (json, cut) => {
        expect(scanJson(json)).toBeUndefined();
        const broken = json.slice(0, cut % (json.length + 1)) + json.slice((cut % (json.length + 1)) + 1);
        let parses = true;
        try {
          JSON.parse(broken);
        } catch {
          parses = false;
        }
        expect(scanJson(broken) === undefined).toBe(parses);
      }),
      { numRuns: 500 },
    );
  });

  it('survives deep nesting', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(scanJson(deep)).toBeUndefined();
    expect(scanJson(`${deep}]`)?.message).toMatch(/after the end of the JSON value/);
  });
});
