// Text no handler should ever see: PostgreSQL cannot store U+0000 in a text value, and its
// json and jsonb refuse a lone UTF-16 surrogate (an unpaired \ud800-\udfff: not a character
// at all; as text it would silently become U+FFFD). Either, in a path parameter, a query string
// or anywhere in a JSON body, would reach the store and fail there as a 500 (or be altered).
// They are refused up front, on every /v1 route, with a 400.

import type { App } from './context.js';
import { ApiError } from './errors.js';

const NUL = '\u0000';
/** An unpaired surrogate code unit (no u flag: the pattern sees UTF-16 code units). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** The same as JSON escapes, in a body kept as unparsed text. */
const LONE_SURROGATE_ESCAPE =
  /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

const unstorable = (s: string) => s.includes(NUL) || LONE_SURROGATE.test(s);

/**
 * Whether any string (key or value) inside v holds a NUL or a lone surrogate; iterative, so
 * depth cannot blow the stack. A body kept as unparsed text (a catalog file) is also checked
 * for the JSON escapes.
 */
export function holdsUnstorable(v: unknown): boolean {
  if (typeof v === 'string') return unstorable(v) || /\\u0000/i.test(v) || LONE_SURROGATE_ESCAPE.test(v);
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') {
      if (unstorable(x)) return true;
    } else if (x !== null && typeof x === 'object') {
      for (const [k, child] of Object.entries(x)) {
        if (unstorable(k)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

export function registerInputGuard(app: App): void {
  app.addHook('preValidation', async (req) => {
    if (!req.routeOptions.url?.startsWith('/v1/')) return;
    if (holdsUnstorable(req.params) || holdsUnstorable(req.query) || holdsUnstorable(req.body)) {
      throw new ApiError(
        400,
        'invalid_character',
        'The request holds a character that cannot be stored: a NUL (U+0000) or an unpaired UTF-16 surrogate (\\ud800-\\udfff).',
      );
    }
  });
}
