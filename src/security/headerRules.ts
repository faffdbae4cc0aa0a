// Which static headers a tenant may put on its deliveries. Tidings sets the framing headers and
// the Standard Webhooks headers itself; a tenant-chosen `Host`, `Content-Length` or
// `webhook-signature` would let one request smuggle another or forge a signature.

/** Header names the sender sets itself, or that would change how the request is framed or routed. */
const RESERVED = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'user-agent',
  'forwarded',
  'http2-settings',
]);

/** RFC 9110 token characters. */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** One line: visible ASCII, obs-text, spaces and tabs; no CR, LF, NUL or other controls. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const MAX_HEADER_VALUE = 4096;
export const MAX_STATIC_HEADERS = 20;

export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return (
    RESERVED.has(lower) ||
    lower.startsWith('webhook-') ||
    lower.startsWith('x-forwarded-') ||
    // tidings-test marks test events: a static header must not fake or hide it.
    lower.startsWith('tidings-')
  );
}

export function isValidHeaderName(name: string): boolean {
  return NAME.test(name);
}

export function isValidHeaderValue(value: string): boolean {
  return value.length <= MAX_HEADER_VALUE && VALUE.test(value) && value.trim() === value;
}
