// What `tidings trigger` publishes: the catalog example when there is one, else the smallest
// payload the type's JSON Schema accepts (checked here with the API's own validator), else {}.
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { minimalOf, triggerPayload } from '../../src/catalog/minimalPayload.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false }));

describe('the payload tidings trigger publishes', () => {
  it('is the first catalog example, unwrapped when given as {payload, summary}', () => {
    expect(triggerPayload({ examples: [{ a: 1 }, { a: 2 }], schema: { type: 'object' } })).toEqual({
      payload: { a: 1 },
      source: 'example',
    });
    expect(triggerPayload({ examples: [{ summary: 'paid', payload: { b: 2 } }] }).payload).toEqual({ b: 2 });
    expect(triggerPayload({ example: { c: 3 } }).payload).toEqual({ c: 3 });
  });

  it('is {} for a type with neither example nor schema', () => {
    expect(triggerPayload({ schema: null })).toEqual({ payload: {}, source: 'empty' });
  });

  it('is a payload the schema accepts, built from its required properties', () => {
    const schemas = [
      {
        type: 'object',
        required: ['loan_id', 'amount_cents', 'status', 'paid_at', 'lines', 'flags'],
        properties: {
          loan_id: { type: 'string', minLength: 10 },
          amount_cents: { type: 'integer', minimum: 1, multipleOf: 5 },
          status: { enum: ['paid', 'late'] },
          paid_at: { type: 'string', format: 'date-time' },
          lines: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', required: ['n'], properties: { n: { const: 7 } } },
          },
          flags: { type: ['null', 'boolean'] },
          optional: { type: 'string', pattern: '^x+$' },
        },
        additionalProperties: false,
      },
      { type: 'object', required: ['code'], properties: { code: { type: 'string', maxLength: 3 } } },
      {
        oneOf: [
          { type: 'object', required: ['x'], properties: { x: { type: 'number', exclusiveMinimum: 0 } } },
        ],
      },
      {
        allOf: [
          { type: 'object', required: ['a'], properties: { a: { type: 'string' } } },
          { type: 'object', required: ['b'], properties: { b: { type: 'integer', default: 4 } } },
        ],
      },
    ];
    for (const schema of schemas) {
      const { payload, source } = triggerPayload({ schema });
      expect(source).toBe('schema');
      expect(ajv.validate(schema, payload), `${JSON.stringify(payload)}: ${ajv.errorsText()}`).toBe(true);
    }
    expect(minimalOf(schemas[0]!, 0)).toMatchObject({
      amount_cents: 5,
      status: 'paid',
      lines: [{ n: 7 }],
      flags: false,
    });
  });
});
