// One validated configuration object, built once at boot from TIDINGS_* variables and
// command-line flags. A bad value stops the program with a message naming the setting.
// Each setting is declared once, in config/settings.ts (the portal's in config/portal.ts);
// this file reads the tables and adds what no single setting says.

import {
  ConfigError,
  parseDuration,
  readSettings,
  type Setting,
  type SettingValues,
  type Source,
  wholeNumber,
} from './config/parse.js';
import { PORTAL_SETTINGS, type PortalSettings, portalSettings } from './config/portal.js';
import { SETTINGS } from './config/settings.js';
import { QUOTA_MAX, QUOTAS, type Quotas } from './limits.js';

export {
  ALL_ROLES,
  DEFAULT_RETRY_SCHEDULE,
  DESTINATION_SCHEMES,
  type DestinationScheme,
  type Role,
  tracingWanted,
} from './config/settings.js';
export { ConfigError, parseDuration };

export type Config = SettingValues<typeof SETTINGS> & {
  /** TIDINGS_ALLOW_PRIVATE_TARGETS as written, one range a string (for messages). */
  allowPrivateTargetsText: string[];
  /** The tenant portal: sign-in links, sessions, branding, embedding (TIDINGS_PORTAL_*). */
  portal: PortalSettings;
  /** Per-tenant quotas (TIDINGS_MAX_*_PER_TENANT; see limits.ts). */
  quotas: Quotas;
};

/** Flags given on the command line win over the environment. */
export interface ConfigFlags {
  port?: string;
  host?: string;
  roles?: string;
  dataDir?: string;
  databaseUrl?: string;
}

export function loadConfig(env: Source = process.env, flags: ConfigFlags = {}): Config {
  const src: Source = { ...env };
  if (flags.port !== undefined) src.TIDINGS_PORT = flags.port;
  if (flags.host !== undefined) src.TIDINGS_HOST = flags.host;
  if (flags.roles !== undefined) src.TIDINGS_ROLES = flags.roles;
  if (flags.dataDir !== undefined) src.TIDINGS_DATA_DIR = flags.dataDir;
  if (flags.databaseUrl !== undefined) src.DATABASE_URL = flags.databaseUrl;

  const settings = readSettings(SETTINGS, src);
  // What no single setting can check alone.
  if (settings.failingNoticeAfterMs >= settings.disableAfterMs) {
    throw new ConfigError('TIDINGS_FAILING_NOTICE_AFTER', 'must be shorter than TIDINGS_DISABLE_AFTER');
  }
  return {
    ...settings,
    allowPrivateTargetsText: (src.TIDINGS_ALLOW_PRIVATE_TARGETS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    portal: portalSettings(src),
    quotas: Object.fromEntries(
      QUOTAS.map((q) => [
        q.kind,
        wholeNumber(1, QUOTA_MAX)(src[q.setting]?.trim() || String(q.default), q.setting, src),
      ]),
    ) as Quotas,
  };
}

/**
 * Until when a claim holds what it took (a delivery, a reminder slot): the request it makes
 * may take the whole timeout, and the margin covers the rest of the round. Past it, another
 * worker or scheduler takes over.
 */
export function leaseUntil(now: Date, c: Pick<Config, 'requestTimeoutMs' | 'leaseMarginMs'>): Date {
  return new Date(now.getTime() + c.requestTimeoutMs + c.leaseMarginMs);
}

/** The README's configuration table, row by row: every setting, the quotas and the portal's. */
export function settingRows(): { name: string; default: string; meaning: string }[] {
  const row = (s: Setting<unknown>) => ({ name: s.name, default: s.shown, meaning: s.meaning });
  return [
    ...Object.values(SETTINGS).map(row),
    ...QUOTAS.map((q) => ({ name: q.setting, default: String(q.default), meaning: q.meaning })),
    ...Object.values(PORTAL_SETTINGS).map(row),
  ];
}
