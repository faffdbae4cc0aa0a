// Bounds on what a tenant may write: the numbers the engine computes with, the sizes the
// store keeps. The API's schemas quote them and migration 007 holds the numeric ones as
// CHECK constraints too, so a value the engine cannot compute with never reaches it.

/**
 * Slowest rate limit an endpoint may have, in requests per second: one request every 100 s
 * (864 a day). Slower than that, a receiver could not keep up with even a quiet tenant's
 * traffic and its backlog would only grow; and the emission interval (1000 / rate ms) stays
 * far inside the date range (below about 1.2e-13 it overflows it: issue 13).
 */
export const RATE_LIMIT_MIN_PER_S = 0.01;
/**
 * Fastest rate limit: above what one worker process sends (a few thousand a second, see
 * docs/scaling.md), so a limit this high is as good as none; the burst (one second's
 * worth) stays a small integer.
 */
export const RATE_LIMIT_MAX_PER_S = 100_000;

/** Requests one endpoint may have in flight; the claim counts them per endpoint. */
export const MAX_IN_FLIGHT_MAX = 1000;

/** Largest `metadata` object kept with an endpoint or a tenant, as JSON text. */
export const MAX_METADATA_BYTES = 16 * 1024;
/** Most keys of a `metadata` object. */
export const MAX_METADATA_KEYS = 100;

/**
 * Largest list page, as JSON, whatever `limit` says: a page stops before the row that would
 * take it past this (it always holds at least one row), and its next_cursor goes on from there.
 * 250 endpoints of the largest allowed shape would otherwise make one answer of tens of MB.
 */
export const MAX_PAGE_BYTES = 1024 * 1024;

export type QuotaKind = 'endpoints' | 'tokens' | 'reminder_rules' | 'anchors' | 'portal_sessions';

export type Quotas = Record<QuotaKind, number>;

export interface QuotaSpec {
  kind: QuotaKind;
  setting: string;
  default: number;
  /** The objects, as a message names them: "endpoints", "live API tokens". */
  noun: string;
  meaning: string;
}

/**
 * Per-tenant quotas, operator settings (parsed in config.ts). A write that would pass one
 * answers 409 quota_exceeded naming the setting; what exists is kept when a quota is lowered.
 */
export const QUOTAS: readonly QuotaSpec[] = [
  {
    kind: 'endpoints',
    setting: 'TIDINGS_MAX_ENDPOINTS_PER_TENANT',
    default: 100,
    noun: 'endpoints',
    meaning: 'most endpoints one tenant may have',
  },
  {
    kind: 'tokens',
    setting: 'TIDINGS_MAX_TOKENS_PER_TENANT',
    default: 50,
    noun: 'live API tokens',
    meaning: 'most live (not revoked, not expired) API tokens one tenant may have',
  },
  {
    kind: 'reminder_rules',
    setting: 'TIDINGS_MAX_REMINDER_RULES_PER_TENANT',
    default: 100_000,
    noun: 'reminder rules',
    meaning:
      "most reminder rules one tenant may have (Canopy's notification_config makes one per account and type)",
  },
  {
    kind: 'anchors',
    setting: 'TIDINGS_MAX_ANCHORS_PER_TENANT',
    default: 1_000_000,
    noun: 'reminder anchors',
    meaning: 'most reminder anchors (resolved ones included) one tenant may have',
  },
  {
    kind: 'portal_sessions',
    setting: 'TIDINGS_MAX_PORTAL_SESSIONS_PER_TENANT',
    default: 20,
    noun: 'live portal sessions',
    meaning: "most live portal sessions of one tenant; a sign-in beyond it ends the tenant's oldest session",
  },
];

/** Most any quota may be set to. */
export const QUOTA_MAX = 1_000_000_000;
