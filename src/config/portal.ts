// The portal's settings (TIDINGS_PORTAL_*), parsed with the rest of the configuration.
import { ConfigError, parseDuration, type Source } from './parse.js';

export interface PortalSettings {
  /** How long a sign-in link may wait before it is opened. */
  linkTtlMs: number;
  /** How long a session lasts after sign-in. */
  sessionTtlMs: number;
  /** The operator's name, shown in the page header and title. */
  name: string;
  logoUrl: string | undefined;
  /** CSS colour (#rgb or #rrggbb) of buttons and links. */
  accent: string;
  /** CSP frame-ancestors sources allowed to embed the portal; empty: nobody. */
  frameAncestors: string[];
}

function duration(src: Source, name: string, def: string, minMs: number, maxMs: number): number {
  const raw = src[name]?.trim() || def;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new ConfigError(name, `"${raw}" is not a duration such as 15m, 8h, 1d`);
  if (ms < minMs || ms > maxMs) {
    throw new ConfigError(name, `must be between ${minMs / 1000} s and ${maxMs / 3_600_000} h, got ${raw}`);
  }
  return ms;
}

// A CSP host-source: scheme://host[:port], the host optionally starting with "*.".
const HOST_SOURCE = /^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?$/i;

function frameAncestors(src: Source): string[] {
  const name = 'TIDINGS_PORTAL_FRAME_ANCESTORS';
  const out: string[] = [];
  for (const part of (src[name] ?? '').split(/[\s,]+/).filter(Boolean)) {
    if (part === 'self' || part === "'self'") out.push("'self'");
    else if (HOST_SOURCE.test(part)) out.push(part.toLowerCase());
    else
      throw new ConfigError(
        name,
        `"${part}" is not an origin such as https://app.example.com or https://*.example.com (or 'self')`,
      );
  }
  return [...new Set(out)];
}

export function portalSettings(src: Source): PortalSettings {
  const name = src.TIDINGS_PORTAL_NAME?.trim() || 'Tidings';
  if (name.length > 80) throw new ConfigError('TIDINGS_PORTAL_NAME', 'at most 80 characters');
  const logoUrl = src.TIDINGS_PORTAL_LOGO_URL?.trim() || undefined;
  if (logoUrl !== undefined && !/^(https?:\/\/[^\s"'<>]+|\/[^\s"'<>]*)$/.test(logoUrl)) {
    throw new ConfigError('TIDINGS_PORTAL_LOGO_URL', 'must be an http(s):// URL or a path starting with /');
  }
  const accent = src.TIDINGS_PORTAL_ACCENT?.trim() || '#2f55d4';
  if (!/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(accent)) {
    throw new ConfigError('TIDINGS_PORTAL_ACCENT', `expected a colour such as #2f55d4, got "${accent}"`);
  }
  return {
    linkTtlMs: duration(src, 'TIDINGS_PORTAL_LINK_TTL', '15m', 10_000, 7 * 86_400_000),
    sessionTtlMs: duration(src, 'TIDINGS_PORTAL_SESSION_TTL', '8h', 60_000, 30 * 86_400_000),
    name,
    logoUrl,
    accent,
    frameAncestors: frameAncestors(src),
  };
}
