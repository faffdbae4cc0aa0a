// Text no handler should ever see: PostgreSQL cannot store U+0000 in a text value, so a NUL
// in a path parameter, a query string or anywhere in a JSON body would reach the store and
// fail there as a 500. It is refused up front, on every /v1 route, with a 400.

import type { App } from './context.js';
import { ApiError } from './errors.js';

const NUL = '\u0000';

/**
 * Whether any string (key or value) inside v holds a NUL; iterative, so depth cannot blow the
 * stack. A body kept as unparsed text (a catalog file) is also checked for the JSON escape.
 */
export function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes(NUL) || /\\u0000/i.test(v);
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') {
      if (x.includes(NUL)) return true;
    } else if (x !== null && typeof x === 'object') {
      for (const [k, child] of Object.entries(x)) {
        if (k.includes(NUL)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

export function registerInputGuard(app: App): void {
  app.addHook('preValidation', async (req) => {
    if (!req.routeOptions.url?.startsWith('/v1/')) return;
    if (holdsNul(req.params) || holdsNul(req.query) || holdsNul(req.body)) {
      throw new ApiError(
        400,
        'invalid_character',
        'The request holds a NUL character (U+0000), which is not accepted.',
      );
    }
  });
}
