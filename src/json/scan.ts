// A strict JSON (RFC 8259) scanner that works on the text itself. JSON.parse says neither
// where a value sits in the text nor, on Node 20, always where a syntax error is; catalog
// files need both to point at the place of a problem, and wire profiles need the exact text
// of a payload's members to splice them without re-serialising (which would lose the
// producer's number formatting and integer-like key order). Iterative, so deep nesting
// cannot overflow the stack.

export type JsonPath = readonly (string | number)[];

export interface JsonSyntaxError {
  /** 0-based offset in the text (UTF-16 code units). */
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
}

/** Called once per value, when it ends: its path from the root and its text span [start, end). */
export type ValueVisitor = (path: JsonPath, start: number, end: number) => void;

interface Frame {
  kind: 'object' | 'array';
  start: number;
  index: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPABLE = '"\\/bfnrtu';
const HEX4 = /^[0-9A-Fa-f]{4}$/;

/** Line and column (1-based) of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describe(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  return JSON.stringify(text[i]);
}

/**
 * Checks that `text` is one JSON value; returns the first syntax error, if any. `visit` sees
 * every value whose path is at most `maxDepth` long (0: only the root).
 */
export function scanJson(text: string, visit?: ValueVisitor, maxDepth = Number.POSITIVE_INFINITY) {
  let i = 0;
  const stack: Frame[] = [];
  const path: (string | number)[] = [];

  const fail = (offset: number, message: string): JsonSyntaxError => ({
    offset,
    ...lineColumn(text, offset),
    message,
  });
  const skipWs = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else return;
    }
  };
  // Leaves i just past the closing quote; returns an error message or undefined.
  const readString = (): JsonSyntaxError | undefined => {
    const start = i;
    i++;
    for (;;) {
      if (i >= text.length) return fail(start, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return undefined;
      }
      if (c === 92) {
        const e = text[i + 1];
        if (e === undefined || !ESCAPABLE.includes(e)) return fail(i, 'invalid escape in string');
        if (e === 'u' && !HEX4.test(text.slice(i + 2, i + 6))) return fail(i, 'invalid \\u escape in string');
        i += e === 'u' ? 6 : 2;
        continue;
      }
      if (c < 32) return fail(i, 'control character in string (escape it)');
      i++;
    }
  };
  const ended = (start: number) => {
    if (visit && path.length <= maxDepth) visit(path, start, i);
  };

  let expectValue = true;
  for (;;) {
    if (expectValue) {
      skipWs();
      const start = i;
      const c = text[i];
      if (c === '{' || c === '[') {
        i++;
        skipWs();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++;
          ended(start);
          expectValue = false;
          continue;
        }
        stack.push({ kind: c === '{' ? 'object' : 'array', start, index: 0 });
        if (c === '[') {
          path.push(0);
          continue;
        }
        const keyError = readKey();
        if (keyError) return keyError;
        continue;
      }
      if (c === '"') {
        const err = readString();
        if (err) return err;
      } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (!m) return fail(i, 'invalid number');
        i += m[0].length;
      } else if (text.startsWith('true', i)) i += 4;
      else if (text.startsWith('false', i)) i += 5;
      else if (text.startsWith('null', i)) i += 4;
      else if (c === '}' || c === ']') {
        return fail(i, `expected a value, found ${describe(text, i)} (a trailing comma?)`);
      } else return fail(i, `expected a value, found ${describe(text, i)}`);
      ended(start);
      expectValue = false;
      continue;
    }

    // After a value: close containers, or move to the next member or element.
    const top = stack[stack.length - 1];
    skipWs();
    if (!top) {
      if (i < text.length) return fail(i, `unexpected ${describe(text, i)} after the end of the JSON value`);
      return undefined;
    }
    const c = text[i];
    const close = top.kind === 'object' ? '}' : ']';
    if (c === ',') {
      i++;
      if (top.kind === 'array') {
        top.index++;
        path[path.length - 1] = top.index;
        expectValue = true;
        continue;
      }
      path.pop();
      const keyError = readKey();
      if (keyError) return keyError;
      expectValue = true;
      continue;
    }
    if (c === close) {
      i++;
      path.pop();
      stack.pop();
      ended(top.start);
      continue;
    }
    return fail(
      i,
      top.kind === 'object'
        ? `expected ',' or '}' after a property value, found ${describe(text, i)}`
        : `expected ',' or ']' after an array element, found ${describe(text, i)}`,
    );
  }

  // Reads `"key" :` and pushes the key on the path.
  function readKey(): JsonSyntaxError | undefined {
    skipWs();
    if (text[i] !== '"') {
      const hint = text[i] === '}' ? ' (a trailing comma?)' : '';
      return fail(i, `expected a double-quoted property name, found ${describe(text, i)}${hint}`);
    }
    const start = i;
    const err = readString();
    if (err) return err;
    const end = i;
    const decode = () => {
      const plain = text.slice(start + 1, end - 1);
      return plain.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : plain;
    };
    skipWs();
    if (text[i] !== ':') return fail(i, `expected ':' after property name ${JSON.stringify(decode())}`);
    i++;
    // Keys below the depth the visitor sees are never looked at: skip decoding them, which
    // is most of the work on a large payload.
    path.push(visit && path.length < maxDepth ? decode() : '');
    return undefined;
  }
}

export interface JsonMember {
  key: string;
  /** The value's text exactly as written. */
  text: string;
  /** Where that text sits: [start, end) in the object's text. */
  start: number;
  end: number;
}

/**
 * The members of a JSON object text, in written order, each with its value's exact text;
 * undefined when the text is not valid JSON or not an object. Duplicate keys are all kept.
 */
export function objectMembers(text: string): JsonMember[] | undefined {
  const members: JsonMember[] = [];
  let rootStart = -1;
  const error = scanJson(
    text,
    (path, start, end) => {
      const key = path[0];
      if (path.length === 0) rootStart = start;
      else if (typeof key === 'string') members.push({ key, text: text.slice(start, end), start, end });
    },
    1,
  );
  if (error || text[rootStart] !== '{') return undefined;
  return members;
}

/**
 * The exact text of the member `key` of a JSON object text; the last one when the key is
 * repeated, as JSON.parse keeps. Undefined when absent, or when the text is not an object.
 */
export function memberText(text: string, key: string): string | undefined {
  return objectMembers(text)?.findLast((m) => m.key === key)?.text;
}
