// The portal's settings (TIDINGS_PORTAL_*): a table like the main one (settings.ts), read
// into `config.portal`.
import {
  ConfigError,
  durationBetween,
  matching,
  optionalMatching,
  type Reader,
  readSettings,
  type SettingValues,
  type Source,
  setting,
} from './parse.js';

// A CSP host-source: scheme://host[:port], the host optionally starting with "*.".
const HOST_SOURCE = /^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?$/i;

/** CSP frame-ancestors sources allowed to embed the portal; empty: nobody. */
const frameAncestors: Reader<string[]> = (text, name) => {
  const out: string[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    if (part === 'self' || part === "'self'") out.push("'self'");
    else if (HOST_SOURCE.test(part)) out.push(part.toLowerCase());
    else
      throw new ConfigError(
        name,
        `"${part}" is not an origin such as https://app.example.com or https://*.example.com (or 'self')`,
      );
  }
  return [...new Set(out)];
};

const operatorName: Reader<string> = (text, name) => {
  if (text.length > 80) throw new ConfigError(name, 'at most 80 characters');
  return text;
};

export const PORTAL_SETTINGS = {
  /** How long a sign-in link may wait before it is opened. */
  linkTtlMs: setting(
    'TIDINGS_PORTAL_LINK_TTL',
    '15m',
    'how long a portal sign-in link stays valid (it works once)',
    durationBetween(10_000, 7 * 86_400_000),
  ),
  /** How long a session lasts after sign-in. */
  sessionTtlMs: setting(
    'TIDINGS_PORTAL_SESSION_TTL',
    '8h',
    'how long a portal session lasts',
    durationBetween(60_000, 30 * 86_400_000),
  ),
  /** The operator's name, shown in the page header and title. */
  name: setting('TIDINGS_PORTAL_NAME', 'Tidings', 'operator name shown on the portal', operatorName),
  logoUrl: setting(
    'TIDINGS_PORTAL_LOGO_URL',
    '',
    'logo shown on the portal (URL or /path)',
    optionalMatching(
      /^(https?:\/\/[^\s"'<>]+|\/[^\s"'<>]*)$/,
      'must be an http(s):// URL or a path starting with /',
    ),
    '(none)',
  ),
  /** CSS colour (#rgb or #rrggbb) of buttons and links. */
  accent: setting(
    'TIDINGS_PORTAL_ACCENT',
    '#2f55d4',
    'accent colour of the portal (#rgb or #rrggbb)',
    matching(/^#([0-9a-f]{3}|[0-9a-f]{6})$/i, (t) => `expected a colour such as #2f55d4, got "${t}"`),
  ),
  frameAncestors: setting(
    'TIDINGS_PORTAL_FRAME_ANCESTORS',
    '',
    'origins that may embed the portal in an iframe (CSP frame-ancestors)',
    frameAncestors,
    '(none: no framing)',
  ),
};

export type PortalSettings = SettingValues<typeof PORTAL_SETTINGS>;

export function portalSettings(src: Source): PortalSettings {
  return readSettings(PORTAL_SETTINGS, src);
}
