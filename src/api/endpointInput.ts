// Checks on what a tenant may configure on an endpoint, beyond the schema's shapes.
import type { Config } from '../config.js';
import { PROFILE_NAMES } from '../delivery/profiles/index.js';
import { isValidSecret } from '../delivery/sign.js';
import { checkTargetUrl } from './targetUrl.js';
import { unprocessable } from './errors.js';

/** Header names the sender sets itself, or that would break the request. */
const RESERVED_HEADERS = new Set([
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
  'user-agent',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

export function checkHeaders(headers: Record<string, string> | undefined): void {
  if (!headers) return;
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name)) throw unprocessable('invalid_header', `"${name}" is not a valid header name.`);
    if (RESERVED_HEADERS.has(lower) || lower.startsWith('webhook-')) {
      throw unprocessable(
        'reserved_header',
        `The header "${name}" is set by Tidings and cannot be configured.`,
      );
    }
    if (seen.has(lower)) throw unprocessable('duplicate_header', `The header "${name}" is given twice.`);
    seen.add(lower);
    // Visible ASCII and spaces/tabs only: no CR or LF (header injection), no control characters.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value) || value.length > 4096) {
      throw unprocessable(
        'invalid_header',
        `The value of "${name}" must be one line of printable text (at most 4096 characters).`,
      );
    }
  }
}

export function checkProfile(profile: string | undefined): void {
  if (profile !== undefined && !PROFILE_NAMES.includes(profile)) {
    throw unprocessable(
      'unknown_profile',
      `Unknown wire profile "${profile}"; known: ${PROFILE_NAMES.join(', ')}.`,
    );
  }
}

export function checkSecret(secret: string | undefined): void {
  if (secret !== undefined && !isValidSecret(secret)) {
    throw unprocessable(
      'invalid_secret',
      'A secret is "whsec_" followed by base64 of 24 to 64 random bytes.',
    );
  }
}

export function checkUrl(url: string | undefined, config: Config): void {
  if (url === undefined) return;
  const problem = checkTargetUrl(url, config);
  if (problem) throw unprocessable('invalid_url', problem);
}

const TYPE_PATTERN = /^(\*|[A-Za-z][A-Za-z0-9_.-]{0,127}(\.\*)?)$/;

/** Names in a type filter must exist; patterns (`topic.*`, `*`) must be well formed. */
export function checkTypeFilter(filter: string[] | null | undefined, known: Set<string>): void {
  if (!filter) return;
  const unknown: string[] = [];
  for (const t of filter) {
    if (!TYPE_PATTERN.test(t))
      throw unprocessable(
        'invalid_event_type_filter',
        `"${t}" is neither an event type nor a "topic.*" pattern.`,
      );
    if (!t.endsWith('*') && !known.has(t)) unknown.push(t);
  }
  if (unknown.length > 0) {
    throw unprocessable('unknown_event_type', `Not in the catalog: ${unknown.join(', ')}.`, { unknown });
  }
}
