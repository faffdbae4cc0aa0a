// How deep a JSON document nests. Every request body is held to one limit, whether it went
// through the server's parser (a value) or is read as text (the catalog route).
import { scanJson } from './scan.js';

/** Deepest JSON nesting accepted in a request body. */
export const MAX_JSON_DEPTH = 64;

/** Depth of a parsed value; stops counting once past MAX_JSON_DEPTH. */
export function jsonDepth(v: unknown): number {
  // Iterative: a hostile body must not blow the stack.
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(x)) stack.push([child, depth]);
  }
  return max;
}

/** Depth of a JSON text, read without parsing it. */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  scanJson(text, (path, start) => {
    if ((text[start] === '{' || text[start] === '[') && path.length + 1 > depth) depth = path.length + 1;
  });
  return depth;
}
