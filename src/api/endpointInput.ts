// Checks on what a tenant may configure on an endpoint, beyond the schema's shapes.
import type { Config } from '../config.js';
import { PROFILE_NAMES } from '../delivery/profiles/index.js';
import {
  isReservedHeader,
  isValidHeaderName,
  isValidHeaderValue,
  MAX_HEADER_VALUE,
  MAX_STATIC_HEADERS,
} from '../security/headerRules.js';
import { isValidSigningSecret, type SigningScheme } from '../signing/secrets.js';
import type { StoredEndpointDefaults } from '../store/endpointDefaults.js';
import type { Principal } from './auth.js';
import { unprocessable } from './errors.js';
import { checkTargetUrl } from './targetUrl.js';

export function checkHeaders(headers: Record<string, string> | undefined): void {
  if (!headers) return;
  const names = Object.keys(headers);
  if (names.length > MAX_STATIC_HEADERS) {
    throw unprocessable('too_many_headers', `At most ${MAX_STATIC_HEADERS} static headers.`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (name.length > MAX_HEADER_NAME || !isValidHeaderName(name)) {
      throw unprocessable('invalid_header', `"${printable(name)}" is not a valid header name.`);
    }
    if (isReservedHeader(name)) {
      throw unprocessable(
        'reserved_header',
        `The header "${name}" is set by Tidings and cannot be configured.`,
      );
    }
    if (seen.has(lower)) throw unprocessable('duplicate_header', `The header "${name}" is given twice.`);
    seen.add(lower);
    if (typeof value !== 'string' || !isValidHeaderValue(value)) {
      throw unprocessable(
        'invalid_header',
        `The value of "${name}" must be one line of printable text without surrounding spaces (at most ${MAX_HEADER_VALUE} characters).`,
      );
    }
  }
}

/** Longest static header name (real ones are a few dozen characters). */
const MAX_HEADER_NAME = 256;

/** A name as it may appear in an error message: control characters shown escaped. */
function printable(text: string): string {
  return JSON.stringify(text.slice(0, 100)).slice(1, -1);
}

/**
 * The profile an endpoint is created or changed with, under the catalog's endpoint defaults:
 * none given takes the default (on create); a locked default refuses another choice from a
 * tenant (the operator may still choose, e.g. for its own endpoints).
 */
export function chooseProfile(
  principal: Principal | null,
  given: string | undefined,
  defaults: StoredEndpointDefaults | undefined,
): string | undefined {
  if (given === undefined) return defaults?.profile;
  if (defaults?.locked && given !== defaults.profile && principal?.kind !== 'admin') {
    throw unprocessable(
      'profile_locked',
      `Endpoints here use the ${defaults.profile} profile (set by the "${defaults.catalog}" catalog); another cannot be chosen.`,
      { path: 'body/profile', profile: defaults.profile },
    );
  }
  return given;
}

export function checkProfile(profile: string | undefined): void {
  if (profile !== undefined && !PROFILE_NAMES.includes(profile)) {
    throw unprocessable(
      'unknown_profile',
      `Unknown wire profile "${profile}"; known: ${PROFILE_NAMES.join(', ')}.`,
    );
  }
}

export function checkSecret(secret: string | undefined, scheme: SigningScheme = 'hmac'): void {
  if (secret === undefined || isValidSigningSecret(scheme, secret)) return;
  throw unprocessable(
    'invalid_secret',
    scheme === 'ed25519'
      ? 'An Ed25519 secret is "whsk_" followed by base64 of the 32-byte seed or the 64-byte seed and public key.'
      : 'A secret is "whsec_" followed by base64 of 24 to 64 random bytes.',
  );
}

/** Canopy signs the body with the HMAC secret; an Ed25519 endpoint has none. */
export function checkProfileSigning(profile: string, scheme: SigningScheme): void {
  if (profile === 'canopy' && scheme === 'ed25519') {
    throw unprocessable(
      'profile_needs_hmac',
      'The canopy profile signs the body with an HMAC secret; use signing "hmac" with it.',
    );
  }
}

export function checkUrl(url: string | undefined, config: Config): void {
  if (url === undefined) return;
  const problem = checkTargetUrl(url, config, config.destinationSchemes);
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
