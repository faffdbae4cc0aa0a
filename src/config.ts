// One validated configuration object, built once at boot from TIDINGS_* variables and
// command-line flags. A bad value stops the program with a message naming the setting.
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { QUOTA_MAX, QUOTAS, type Quotas } from './limits.js';
import { type PortalSettings, portalSettings } from './portal/settings.js';

export type Role = 'api' | 'worker' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'worker', 'scheduler'];

export interface Config {
  /** PostgreSQL connection string; unset means the embedded PGlite store. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema (search_path) to use; unset: the server's default (public). */
  dbSchema: string | undefined;
  dataDir: string;
  port: number;
  host: string;
  /** Operator token; when unset one is generated, stored hashed and printed once. */
  adminToken: string | undefined;
  roles: Role[];
  workerConcurrency: number;
  /** Delays in milliseconds after attempt 1, 2, …; attempts = schedule.length + 1. */
  retryScheduleMs: number[];
  requestTimeoutMs: number;
  maxPayloadBytes: number;
  /** Largest body of a batch publish. */
  maxBatchBytes: number;
  /** CIDR ranges outbound requests may reach even though they are not public. */
  allowPrivateTargets: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  allowPrivateTargetsText: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Catalog file(s) upserted at boot. */
  catalogFiles: string[];
  /** How long a claimed delivery stays leased past the request timeout. */
  leaseMarginMs: number;
  pollIntervalMs: number;
  /** Largest number of deliveries one claim takes. */
  claimBatchSize: number;
  /** Most deliveries per endpoint in one claim (fairness). */
  claimPerEndpoint: number;
  /** Response bodies kept per attempt. */
  responseBodyLimitBytes: number;
  /** Public base URL, used in links (portal). */
  publicUrl: string | undefined;
  /** Refuse plain-http endpoint URLs. */
  requireHttps: boolean;
  /** Send deliveries through this HTTP proxy. */
  httpProxy: string | undefined;
  /** URL schemes an endpoint may use (TIDINGS_DESTINATION_SCHEMES): http(s) and the brokers allowed. */
  destinationSchemes: DestinationScheme[];
  /** Key material for secrets at rest (see security/secretBox.ts); unset: a key file in the data folder. */
  encryptionKey: string | undefined;
  /** Where the generated key file lives; unset: encryption.key in the data folder. */
  encryptionKeyFile: string | undefined;
  /** An endpoint failing without a success this long is disabled (and the operator told). */
  disableAfterMs: number;
  /** An endpoint failing this long is reported to the operator (tidings.endpoint.failing). */
  failingNoticeAfterMs: number;
  /** The tenant whose endpoints receive Tidings' own events (created on first use). */
  operatorTenant: string;
  /** Events and attempts older than this many days are removed (0: kept forever). */
  retentionDays: number;
  /** Requests per second per tenant token, in each api process (0: no limit). */
  rateLimitPerS: number;
  /** A `tidings listen` endpoint whose stream has been gone this long is removed (TIDINGS_RELAY_EXPIRY). */
  relayExpiryMs: number;
  /** The tenant portal: sign-in links, sessions, branding, embedding (TIDINGS_PORTAL_*). */
  portal: PortalSettings;
  /** A role's loop failing this long without a success makes /readyz answer 503. */
  loopFailingAfterMs: number;
  /** Per-tenant quotas (TIDINGS_MAX_*_PER_TENANT; see limits.ts). */
  quotas: Quotas;
  /** Port of the ops listener (/metrics, /healthz, /readyz) for any roles; unset: none. */
  opsPort: number | undefined;
  opsHost: string;
  /** auto: pretty when stdout is a terminal, JSON otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** Prometheus metrics (GET /metrics); off: none are kept. */
  metrics: boolean;
  /** A tenant label on the per-event counters (cardinality grows with the tenants). */
  metricsTenantLabel: boolean;
  /** OpenTelemetry tracing: on when an OTEL_* variable is set (the SDK reads them itself). */
  tracing: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Source = Record<string, string | undefined>;

function int(src: Source, name: string, def: number, min: number, max: number): number {
  const raw = src[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses "500ms", "5s", "30m", "2h", "1d" (a bare number is seconds). */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = DURATION_UNITS[m[2] ?? 's'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

function durationSetting(src: Source, name: string, def: string): number {
  const raw = src[name]?.trim() || def;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(name, `"${raw}" is not a duration such as 12h or 5d`);
  return ms;
}

export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

function retrySchedule(src: Source): number[] {
  const name = 'TIDINGS_RETRY_SCHEDULE';
  const raw = src[name] || DEFAULT_RETRY_SCHEDULE;
  const parts = raw.split(',').map((p) => p.trim());
  const out: number[] = [];
  for (const p of parts) {
    const ms = parseDuration(p);
    if (ms === undefined) throw new ConfigError(name, `"${p}" is not a duration such as 5s, 30m, 2h`);
    out.push(ms);
  }
  if (out.length > 50) throw new ConfigError(name, 'at most 50 retries');
  return out;
}

function cidrs(src: Source): { parsed: Config['allowPrivateTargets']; text: string[] } {
  const name = 'TIDINGS_ALLOW_PRIVATE_TARGETS';
  const raw = src[name] ?? '';
  const text = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const parsed: Config['allowPrivateTargets'] = [];
  for (const t of text) {
    try {
      parsed.push(
        t.includes('/')
          ? ipaddr.parseCIDR(t)
          : [ipaddr.parse(t), ipaddr.parse(t).kind() === 'ipv4' ? 32 : 128],
      );
    } catch {
      throw new ConfigError(name, `"${t}" is not an IP address or CIDR range`);
    }
  }
  return { parsed, text };
}

/** Every scheme a destination can have (delivery/destinations/); a deployment allows some. */
export const DESTINATION_SCHEMES = ['https', 'http', 'nats', 'amqp', 'amqps', 'redis', 'rediss'] as const;
export type DestinationScheme = (typeof DESTINATION_SCHEMES)[number];

function destinationSchemes(src: Source): DestinationScheme[] {
  const name = 'TIDINGS_DESTINATION_SCHEMES';
  const list = (src[name]?.trim() || 'https,http')
    .split(',')
    .map((s) =>
      s
        .trim()
        .toLowerCase()
        .replace(/:(\/\/)?$/, ''),
    )
    .filter(Boolean);
  for (const s of list) {
    if (!(DESTINATION_SCHEMES as readonly string[]).includes(s)) {
      throw new ConfigError(name, `unknown scheme "${s}" (known: ${DESTINATION_SCHEMES.join(', ')})`);
    }
  }
  if (list.length === 0) throw new ConfigError(name, 'at least one scheme');
  return [...new Set(list)] as DestinationScheme[];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function roles(raw: string | undefined): Role[] {
  if (!raw) return [...ALL_ROLES];
  const list = raw
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of list) {
    if (!ALL_ROLES.includes(r as Role)) {
      throw new ConfigError('--roles', `unknown role "${r}" (expected some of ${ALL_ROLES.join(', ')})`);
    }
  }
  if (list.length === 0) throw new ConfigError('--roles', 'at least one role');
  return [...new Set(list)] as Role[];
}

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
  if (flags.dataDir !== undefined) src.TIDINGS_DATA_DIR = flags.dataDir;
  if (flags.databaseUrl !== undefined) src.DATABASE_URL = flags.databaseUrl;

  const databaseUrl = src.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const logLevel = (src.TIDINGS_LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('TIDINGS_LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const adminToken = src.TIDINGS_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('TIDINGS_ADMIN_TOKEN', 'must be at least 16 characters');
  }
  const requestTimeoutMs = int(src, 'TIDINGS_REQUEST_TIMEOUT_MS', 15_000, 100, 300_000);
  const { parsed, text } = cidrs(src);
  const publicUrl = src.TIDINGS_PUBLIC_URL?.trim() || undefined;
  if (publicUrl !== undefined && !/^https?:\/\//.test(publicUrl)) {
    throw new ConfigError('TIDINGS_PUBLIC_URL', 'must be an http:// or https:// URL');
  }
  const httpProxy = src.TIDINGS_HTTP_PROXY?.trim() || undefined;
  if (httpProxy !== undefined && !/^https?:\/\//.test(httpProxy)) {
    throw new ConfigError('TIDINGS_HTTP_PROXY', 'must be an http:// or https:// URL');
  }
  const dbSchema = src.TIDINGS_DB_SCHEMA?.trim() || undefined;
  if (dbSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(dbSchema)) {
    throw new ConfigError('TIDINGS_DB_SCHEMA', 'must be a lower-case SQL identifier');
  }
  return {
    databaseUrl,
    dbSchema,
    dataDir: path.resolve(src.TIDINGS_DATA_DIR || './data'),
    port: int(src, 'TIDINGS_PORT', 8080, 0, 65535),
    host: src.TIDINGS_HOST || '127.0.0.1',
    adminToken,
    roles: roles(flags.roles ?? src.TIDINGS_ROLES),
    workerConcurrency: int(src, 'TIDINGS_WORKER_CONCURRENCY', 64, 1, 10_000),
    retryScheduleMs: retrySchedule(src),
    requestTimeoutMs,
    maxPayloadBytes: int(src, 'TIDINGS_MAX_PAYLOAD_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
    maxBatchBytes: int(src, 'TIDINGS_MAX_BATCH_BYTES', 16 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    allowPrivateTargets: parsed,
    allowPrivateTargetsText: text,
    logLevel,
    catalogFiles: (src.TIDINGS_CATALOG ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    leaseMarginMs: int(src, 'TIDINGS_LEASE_MARGIN_MS', 30_000, 1_000, 3_600_000),
    pollIntervalMs: int(src, 'TIDINGS_POLL_INTERVAL_MS', 1_000, 10, 60_000),
    claimBatchSize: int(src, 'TIDINGS_CLAIM_BATCH', 200, 1, 5_000),
    claimPerEndpoint: int(src, 'TIDINGS_CLAIM_PER_ENDPOINT', 50, 1, 5_000),
    responseBodyLimitBytes: byteSize(src, 'TIDINGS_RESPONSE_BODY_LIMIT', 4096, 0, 1024 * 1024),
    publicUrl,
    requireHttps: bool(src, 'TIDINGS_REQUIRE_HTTPS', false),
    httpProxy,
    destinationSchemes: destinationSchemes(src),
    encryptionKey: src.TIDINGS_ENCRYPTION_KEY?.trim() || undefined,
    encryptionKeyFile: src.TIDINGS_ENCRYPTION_KEY_FILE?.trim()
      ? path.resolve(src.TIDINGS_ENCRYPTION_KEY_FILE.trim())
      : undefined,
    ...endpointHealthSettings(src),
    retentionDays: int(src, 'TIDINGS_RETENTION_DAYS', 30, 0, 36_500),
    rateLimitPerS: int(src, 'TIDINGS_RATE_LIMIT_PER_S', 100, 0, 1_000_000),
    relayExpiryMs: durationSetting(src, 'TIDINGS_RELAY_EXPIRY', '10m'),
    portal: portalSettings(src),
    loopFailingAfterMs: durationSetting(src, 'TIDINGS_LOOP_FAILING_AFTER', '30s'),
    quotas: Object.fromEntries(
      QUOTAS.map((q) => [q.kind, int(src, q.setting, q.default, 1, QUOTA_MAX)]),
    ) as Quotas,
    ...observabilitySettings(src),
  };
}

type ObservabilitySettings = Pick<
  Config,
  'opsPort' | 'opsHost' | 'logFormat' | 'metrics' | 'metricsTenantLabel' | 'tracing'
>;

function observabilitySettings(src: Source): ObservabilitySettings {
  const raw = src.TIDINGS_OPS_PORT?.trim();
  const opsPort = raw ? int(src, 'TIDINGS_OPS_PORT', 0, 0, 65535) : undefined;
  const logFormat = (src.TIDINGS_LOG_FORMAT?.trim() || 'auto') as Config['logFormat'];
  if (!['auto', 'json', 'pretty'].includes(logFormat)) {
    throw new ConfigError('TIDINGS_LOG_FORMAT', 'expected auto, json or pretty');
  }
  return {
    opsPort,
    opsHost: src.TIDINGS_OPS_HOST?.trim() || '127.0.0.1',
    logFormat,
    metrics: bool(src, 'TIDINGS_METRICS', true),
    metricsTenantLabel: bool(src, 'TIDINGS_METRICS_TENANT_LABEL', false),
    tracing: tracingWanted(src),
  };
}

/**
 * Tracing is on when any OTEL_* variable is set (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
 * …), unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. bin/tidings.js asks this
 * before anything else loads, to start the SDK ahead of the modules it instruments.
 */
export function tracingWanted(env: Source): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Object.entries(env).some(([k, v]) => k.startsWith('OTEL_') && v !== undefined && v !== '');
}

function endpointHealthSettings(
  src: Source,
): Pick<Config, 'disableAfterMs' | 'failingNoticeAfterMs' | 'operatorTenant'> {
  const disableAfterMs = durationSetting(src, 'TIDINGS_DISABLE_AFTER', '5d');
  const failingNoticeAfterMs = durationSetting(src, 'TIDINGS_FAILING_NOTICE_AFTER', '1d');
  if (failingNoticeAfterMs >= disableAfterMs) {
    throw new ConfigError('TIDINGS_FAILING_NOTICE_AFTER', 'must be shorter than TIDINGS_DISABLE_AFTER');
  }
  const operatorTenant = src.TIDINGS_OPERATOR_TENANT?.trim() || 'operator';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(operatorTenant)) {
    throw new ConfigError('TIDINGS_OPERATOR_TENANT', 'must be a tenant id: letters, digits and _.:-');
  }
  return { disableAfterMs, failingNoticeAfterMs, operatorTenant };
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
};

/** A size in bytes: "4096", "4KiB", "64k", "1MiB" (k and KB mean KiB: 1024 bytes). */
function byteSize(src: Source, name: string, def: number, min: number, max: number): number {
  const raw = src[name]?.trim();
  if (raw === undefined || raw === '') return def;
  const m = /^(\d+)\s*([a-z]*)$/i.exec(raw);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new ConfigError(name, `expected a size such as 4096, 4KiB or 1MiB, got "${raw}"`);
  const n = Number(m[1]) * unit;
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} bytes, got ${n}`);
  return n;
}

function bool(src: Source, name: string, def: boolean): boolean {
  const raw = src[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${src[name]}"`);
}

/** The settings table the README shows; kept here so it cannot drift from the parser. */
export const SETTINGS: { name: string; default: string; meaning: string }[] = [
  {
    name: 'DATABASE_URL',
    default: '(unset: embedded PGlite)',
    meaning: 'PostgreSQL connection string; unset runs on the embedded store in TIDINGS_DATA_DIR',
  },
  {
    name: 'TIDINGS_DB_SCHEMA',
    default: '(public)',
    meaning: 'PostgreSQL schema to keep the tables in (several deployments on one database)',
  },
  { name: 'TIDINGS_DATA_DIR', default: './data', meaning: 'where the embedded store keeps its files' },
  { name: 'TIDINGS_PORT', default: '8080', meaning: 'HTTP port of the api role' },
  { name: 'TIDINGS_HOST', default: '127.0.0.1', meaning: 'address the api role listens on' },
  {
    name: 'TIDINGS_ADMIN_TOKEN',
    default: '(generated)',
    meaning:
      'operator bearer token; when unset one is generated at first start, stored hashed and printed once',
  },
  {
    name: 'TIDINGS_ROLES',
    default: 'api,worker,scheduler',
    meaning: 'roles this process runs (also --roles)',
  },
  { name: 'TIDINGS_WORKER_CONCURRENCY', default: '64', meaning: 'requests in flight per worker process' },
  {
    name: 'TIDINGS_RETRY_SCHEDULE',
    default: DEFAULT_RETRY_SCHEDULE,
    meaning: 'delays before attempts 2, 3, …; each gets ±20 % jitter',
  },
  { name: 'TIDINGS_REQUEST_TIMEOUT_MS', default: '15000', meaning: 'how long one attempt may take' },
  {
    name: 'TIDINGS_RESPONSE_BODY_LIMIT',
    default: '4KiB',
    meaning:
      'how much of each response body an attempt keeps (bytes, or 64KiB, 1MiB; at most 1MiB; 0 keeps none); the rest is read and dropped',
  },
  {
    name: 'TIDINGS_MAX_PAYLOAD_BYTES',
    default: '262144',
    meaning: 'largest accepted publish body (413 above)',
  },
  {
    name: 'TIDINGS_MAX_BATCH_BYTES',
    default: '16777216',
    meaning:
      'largest accepted body of a batch publish (POST …/events/batch; 413 above); each payload in it is held to TIDINGS_MAX_PAYLOAD_BYTES too',
  },
  {
    name: 'TIDINGS_ALLOW_PRIVATE_TARGETS',
    default: '(none)',
    meaning: 'comma-separated CIDR ranges outbound requests may reach although they are private or loopback',
  },
  { name: 'TIDINGS_REQUIRE_HTTPS', default: 'false', meaning: 'refuse endpoint URLs that are not https://' },
  {
    name: 'TIDINGS_HTTP_PROXY',
    default: '(none)',
    meaning: 'send deliveries through this HTTP proxy (tunnelled to the checked address)',
  },
  {
    name: 'TIDINGS_DESTINATION_SCHEMES',
    default: 'https,http',
    meaning:
      'URL schemes endpoints may use: https, http, and the brokers nats (JetStream), amqp/amqps (RabbitMQ), redis/rediss (streams); see docs/destinations.md',
  },
  {
    name: 'TIDINGS_ENCRYPTION_KEY',
    default: '(generated key file)',
    meaning: 'AES-256 key(s) for secrets at rest: base64 of 32 bytes, or id:base64,… (first is active)',
  },
  {
    name: 'TIDINGS_ENCRYPTION_KEY_FILE',
    default: '(TIDINGS_DATA_DIR/encryption.key)',
    meaning:
      'where the key file is kept when TIDINGS_ENCRYPTION_KEY is unset (outside the data folder keeps it out of copies of that folder)',
  },
  {
    name: 'TIDINGS_RATE_LIMIT_PER_S',
    default: '100',
    meaning:
      'API requests per second per tenant token (429 with Retry-After above; bursts of 2 s allowed); counted per api process; 0 turns it off',
  },
  {
    name: 'TIDINGS_RELAY_EXPIRY',
    default: '10m',
    meaning:
      'a `tidings listen` endpoint whose stream has been gone this long (the CLI was killed, not stopped with Ctrl-C) is removed with its deliveries',
  },
  {
    name: 'TIDINGS_DISABLE_AFTER',
    default: '5d',
    meaning:
      'an endpoint failing without a single success this long is disabled (its events are kept) and the operator gets tidings.endpoint.disabled',
  },
  {
    name: 'TIDINGS_FAILING_NOTICE_AFTER',
    default: '1d',
    meaning: 'an endpoint failing this long is reported to the operator (tidings.endpoint.failing)',
  },
  {
    name: 'TIDINGS_OPERATOR_TENANT',
    default: 'operator',
    meaning: "tenant whose endpoints receive Tidings' own events (tidings.endpoint.*); created on first use",
  },
  {
    name: 'TIDINGS_RETENTION_DAYS',
    default: '30',
    meaning:
      'events, deliveries and attempts older than this are removed in small batches (0 keeps everything)',
  },
  { name: 'TIDINGS_LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent' },
  {
    name: 'TIDINGS_LOG_FORMAT',
    default: 'auto',
    meaning: 'auto (pretty, coloured lines when stdout is a terminal; JSON otherwise), json or pretty',
  },
  {
    name: 'TIDINGS_OPS_PORT',
    default: '(none)',
    meaning:
      'port of the ops listener: /metrics, /healthz and /readyz for any roles (a worker-only process too)',
  },
  { name: 'TIDINGS_OPS_HOST', default: '127.0.0.1', meaning: 'address the ops listener listens on' },
  {
    name: 'TIDINGS_METRICS',
    default: 'true',
    meaning: 'Prometheus metrics at /metrics (api role and ops listener); false keeps none',
  },
  {
    name: 'TIDINGS_METRICS_TENANT_LABEL',
    default: 'false',
    meaning: 'add a tenant label to the per-event counters (one series per tenant: mind the cardinality)',
  },
  {
    name: 'OTEL_*',
    default: '(none: tracing off)',
    meaning:
      'OpenTelemetry tracing, on when any is set: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME (default tidings), OTEL_TRACES_SAMPLER, … (docs/operations.md)',
  },
  {
    name: 'TIDINGS_CATALOG',
    default: '(none)',
    meaning: 'catalog file(s) upserted at boot, comma-separated',
  },
  {
    name: 'TIDINGS_PUBLIC_URL',
    default: '(http://HOST:PORT)',
    meaning: 'base URL used in links Tidings hands out',
  },
  {
    name: 'TIDINGS_POLL_INTERVAL_MS',
    default: '1000',
    meaning: 'how often an idle worker looks for due deliveries (a publish wakes it at once)',
  },
  {
    name: 'TIDINGS_LEASE_MARGIN_MS',
    default: '30000',
    meaning: 'lease on a claimed delivery beyond the request timeout; after it another worker takes over',
  },
  { name: 'TIDINGS_CLAIM_BATCH', default: '200', meaning: 'most deliveries one claim takes' },
  {
    name: 'TIDINGS_CLAIM_PER_ENDPOINT',
    default: '50',
    meaning: 'most deliveries of one endpoint per claim (fairness)',
  },
  ...QUOTAS.map((q) => ({ name: q.setting, default: String(q.default), meaning: q.meaning })),
  {
    name: 'TIDINGS_LOOP_FAILING_AFTER',
    default: '30s',
    meaning:
      "a role's loop (worker, scheduler) failing this long without a success makes /readyz answer 503 naming the role",
  },
  {
    name: 'TIDINGS_PORTAL_LINK_TTL',
    default: '15m',
    meaning: 'how long a portal sign-in link stays valid (it works once)',
  },
  { name: 'TIDINGS_PORTAL_SESSION_TTL', default: '8h', meaning: 'how long a portal session lasts' },
  { name: 'TIDINGS_PORTAL_NAME', default: 'Tidings', meaning: 'operator name shown on the portal' },
  { name: 'TIDINGS_PORTAL_LOGO_URL', default: '(none)', meaning: 'logo shown on the portal (URL or /path)' },
  {
    name: 'TIDINGS_PORTAL_ACCENT',
    default: '#2f55d4',
    meaning: 'accent colour of the portal (#rgb or #rrggbb)',
  },
  {
    name: 'TIDINGS_PORTAL_FRAME_ANCESTORS',
    default: '(none: no framing)',
    meaning: 'origins that may embed the portal in an iframe (CSP frame-ancestors)',
  },
];
