// Checks on what a tenant may configure on an endpoint, beyond the schema's shapes.
import { type Config, parseDuration } from '../config.js';
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
import { compileFilter } from './payloadFilter.js';
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

/** The payload filter, checked and compiled (422 naming the operator or path); null clears it. */
export function checkFilter(
  filter: Record<string, unknown> | null | undefined,
): { doc: Record<string, unknown>; path: string } | null | undefined {
  if (filter === undefined) return undefined;
  const compiled = compileFilter(filter);
  if (!compiled.ok) {
    throw unprocessable('invalid_filter', `filter: ${compiled.path}: ${compiled.message}.`, {
      path: compiled.path,
    });
  }
  return compiled.path === null || filter === null ? null : { doc: filter, path: compiled.path };
}

export const ENDPOINT_TIMEOUT_MIN_MS = 1000;
export const ENDPOINT_TIMEOUT_MAX_MS = 30_000;

/**
 * An endpoint's own retry schedule ("5s", "10m", …), in milliseconds: at most as many retries
 * as the deployment's schedule, none longer than its longest delay, none shorter than a second
 * (or the deployment's shortest, when that is shorter).
 */
export function checkRetrySchedule(
  schedule: string[] | null | undefined,
  config: Config,
): number[] | null | undefined {
  if (schedule === undefined || schedule === null) return schedule;
  const deployment = config.retryScheduleMs;
  const longest = Math.max(0, ...deployment);
  const shortest = Math.min(1000, ...deployment);
  if (schedule.length > deployment.length) {
    throw unprocessable(
      'invalid_retry_schedule',
      `retry_schedule: at most ${deployment.length} retries on this deployment.`,
    );
  }
  return schedule.map((text, i) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      throw unprocessable(
        'invalid_retry_schedule',
        `retry_schedule[${i}]: "${text}" is not a duration such as 5s, 30m, 2h.`,
      );
    }
    if (ms < shortest || ms > longest) {
      throw unprocessable(
        'invalid_retry_schedule',
        `retry_schedule[${i}]: each delay is between ${formatDelay(shortest)} and ${formatDelay(longest)} on this deployment.`,
      );
    }
    return ms;
  });
}

/** A delay the way a schedule is written: the largest unit that divides it ("90s", "2h"). */
export function formatDelay(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
