// Every setting, declared once: its variable, its default, what it means and how its text is
// read. `loadConfig` (config.ts) reads the table into the Config object (each key below is a
// Config field, typed by its reader); the README's configuration table is printed from it
// (scripts/readme.ts). Adding a setting is adding one entry here (docs/architecture.md).
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import {
  ConfigError,
  duration,
  flag,
  list,
  matching,
  oneOf,
  optionalMatching,
  optionalText,
  optionalWholeNumber,
  parseDuration,
  type Reader,
  type Source,
  setting,
  text,
  wholeNumber,
} from './parse.js';

export type Role = 'api' | 'worker' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'worker', 'scheduler'];

/** Every scheme a destination can have (delivery/destinations/); a deployment allows some. */
export const DESTINATION_SCHEMES = ['https', 'http', 'nats', 'amqp', 'amqps', 'redis', 'rediss'] as const;
export type DestinationScheme = (typeof DESTINATION_SCHEMES)[number];

export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const roles: Reader<Role[]> = (t) => {
  const names = list()(t, '--roles', {});
  for (const r of names) {
    if (!ALL_ROLES.includes(r as Role)) {
      throw new ConfigError('--roles', `unknown role "${r}" (expected some of ${ALL_ROLES.join(', ')})`);
    }
  }
  if (names.length === 0) throw new ConfigError('--roles', 'at least one role');
  return [...new Set(names)] as Role[];
};

/** Delays in milliseconds after attempt 1, 2, …; attempts = schedule.length + 1. */
const retrySchedule: Reader<number[]> = (t, name) => {
  const out: number[] = [];
  for (const p of t.split(',').map((s) => s.trim())) {
    const ms = parseDuration(p);
    if (ms === undefined) throw new ConfigError(name, `"${p}" is not a duration such as 5s, 30m, 2h`);
    out.push(ms);
  }
  if (out.length > 50) throw new ConfigError(name, 'at most 50 retries');
  return out;
};

const cidrs: Reader<Cidr[]> = (t, name) =>
  list()(t, name, {}).map((c): Cidr => {
    try {
      return c.includes('/')
        ? ipaddr.parseCIDR(c)
        : [ipaddr.parse(c), ipaddr.parse(c).kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new ConfigError(name, `"${c}" is not an IP address or CIDR range`);
    }
  });

const destinationSchemes: Reader<DestinationScheme[]> = (t, name) => {
  const schemes = t
    .split(',')
    .map((s) =>
      s
        .trim()
        .toLowerCase()
        .replace(/:(\/\/)?$/, ''),
    )
    .filter(Boolean);
  for (const s of schemes) {
    if (!(DESTINATION_SCHEMES as readonly string[]).includes(s)) {
      throw new ConfigError(name, `unknown scheme "${s}" (known: ${DESTINATION_SCHEMES.join(', ')})`);
    }
  }
  if (schemes.length === 0) throw new ConfigError(name, 'at least one scheme');
  return [...new Set(schemes)] as DestinationScheme[];
};

const adminToken: Reader<string | undefined> = (t, name) => {
  if (t !== '' && t.length < 16) throw new ConfigError(name, 'must be at least 16 characters');
  return t || undefined;
};

const absolutePath: Reader<string> = (t) => path.resolve(t);
const optionalPath: Reader<string | undefined> = (t) => (t ? path.resolve(t) : undefined);
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
const byteSize =
  (min: number, max: number): Reader<number> =>
  (text, name) => {
    const m = /^(\d+)\s*([a-z]*)$/i.exec(text);
    const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || unit === undefined)
      throw new ConfigError(name, `expected a size such as 4096, 4KiB or 1MiB, got "${text}"`);
    const n = Number(m[1]) * unit;
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} bytes, got ${n}`);
    return n;
  };
const HTTP_URL = /^https?:\/\//;

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

/** The settings, in the order the README lists them. */
export const SETTINGS = {
  /** PostgreSQL connection string; unset means the embedded PGlite store. */
  databaseUrl: setting(
    'DATABASE_URL',
    '',
    'PostgreSQL connection string; unset runs on the embedded store in TIDINGS_DATA_DIR',
    optionalMatching(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://'),
    '(unset: embedded PGlite)',
  ),
  /** PostgreSQL schema (search_path) to use; unset: the server's default (public). */
  dbSchema: setting(
    'TIDINGS_DB_SCHEMA',
    '',
    'PostgreSQL schema to keep the tables in (several deployments on one database)',
    optionalMatching(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier'),
    '(public)',
  ),
  dataDir: setting('TIDINGS_DATA_DIR', './data', 'where the embedded store keeps its files', absolutePath),
  port: setting('TIDINGS_PORT', '8080', 'HTTP port of the api role', wholeNumber(0, 65535)),
  host: setting('TIDINGS_HOST', '127.0.0.1', 'address the api role listens on', text()),
  /** Operator token; when unset one is generated, stored hashed and printed once. */
  adminToken: setting(
    'TIDINGS_ADMIN_TOKEN',
    '',
    'operator bearer token; when unset one is generated at first start, stored hashed and printed once',
    adminToken,
    '(generated)',
  ),
  roles: setting('TIDINGS_ROLES', 'api,worker,scheduler', 'roles this process runs (also --roles)', roles),
  workerConcurrency: setting(
    'TIDINGS_WORKER_CONCURRENCY',
    '64',
    'requests in flight per worker process',
    wholeNumber(1, 10_000),
  ),
  /** Delays in milliseconds after attempt 1, 2, …; attempts = schedule.length + 1. */
  retryScheduleMs: setting(
    'TIDINGS_RETRY_SCHEDULE',
    DEFAULT_RETRY_SCHEDULE,
    'delays before attempts 2, 3, …; each gets ±20 % jitter',
    retrySchedule,
  ),
  requestTimeoutMs: setting(
    'TIDINGS_REQUEST_TIMEOUT_MS',
    '15000',
    'how long one attempt may take',
    wholeNumber(100, 300_000),
  ),
  responseBodyLimitBytes: setting(
    'TIDINGS_RESPONSE_BODY_LIMIT',
    '4KiB',
    'how much of each response body an attempt keeps (bytes, or 64KiB, 1MiB; at most 1MiB; 0 keeps none); the rest is read and dropped',
    byteSize(0, 1024 * 1024),
  ),
  maxPayloadBytes: setting(
    'TIDINGS_MAX_PAYLOAD_BYTES',
    '262144',
    'largest accepted publish body (413 above)',
    wholeNumber(1024, 64 * 1024 * 1024),
  ),
  /** Largest body of a batch publish. */
  maxBatchBytes: setting(
    'TIDINGS_MAX_BATCH_BYTES',
    '16777216',
    'largest accepted body of a batch publish (POST …/events/batch; 413 above); each payload in it is held to TIDINGS_MAX_PAYLOAD_BYTES too',
    wholeNumber(1024, 256 * 1024 * 1024),
  ),
  /** CIDR ranges outbound requests may reach even though they are not public. */
  allowPrivateTargets: setting(
    'TIDINGS_ALLOW_PRIVATE_TARGETS',
    '',
    'comma-separated CIDR ranges outbound requests may reach although they are private or loopback',
    cidrs,
    '(none)',
  ),
  /** Refuse plain-http endpoint URLs. */
  requireHttps: setting(
    'TIDINGS_REQUIRE_HTTPS',
    'false',
    'refuse endpoint URLs that are not https://',
    flag(),
  ),
  /** Send deliveries through this HTTP proxy. */
  httpProxy: setting(
    'TIDINGS_HTTP_PROXY',
    '',
    'send deliveries through this HTTP proxy (tunnelled to the checked address)',
    optionalMatching(HTTP_URL, 'must be an http:// or https:// URL'),
    '(none)',
  ),
  /** URL schemes an endpoint may use: http(s) and the brokers allowed. */
  destinationSchemes: setting(
    'TIDINGS_DESTINATION_SCHEMES',
    'https,http',
    'URL schemes endpoints may use: https, http, and the brokers nats (JetStream), amqp/amqps (RabbitMQ), redis/rediss (streams); see docs/destinations.md',
    destinationSchemes,
  ),
  /** Key material for secrets at rest (see security/secretBox.ts); unset: a key file in the data folder. */
  encryptionKey: setting(
    'TIDINGS_ENCRYPTION_KEY',
    '',
    'AES-256 key(s) for secrets at rest: base64 of 32 bytes, or id:base64,… (first is active)',
    optionalText(),
    '(generated key file)',
  ),
  /** Where the generated key file lives; unset: encryption.key in the data folder. */
  encryptionKeyFile: setting(
    'TIDINGS_ENCRYPTION_KEY_FILE',
    '',
    'where the key file is kept when TIDINGS_ENCRYPTION_KEY is unset (outside the data folder keeps it out of copies of that folder)',
    optionalPath,
    '(TIDINGS_DATA_DIR/encryption.key)',
  ),
  /** Requests per second per tenant token, in each api process (0: no limit). */
  rateLimitPerS: setting(
    'TIDINGS_RATE_LIMIT_PER_S',
    '100',
    'API requests per second per tenant token (429 with Retry-After above; bursts of 2 s allowed); counted per api process; 0 turns it off',
    wholeNumber(0, 1_000_000),
  ),
  /** A `tidings listen` endpoint whose stream has been gone this long is removed. */
  relayExpiryMs: setting(
    'TIDINGS_RELAY_EXPIRY',
    '10m',
    'a `tidings listen` endpoint whose stream has been gone this long (the CLI was killed, not stopped with Ctrl-C) is removed with its deliveries',
    duration(),
  ),
  /** An endpoint failing without a success this long is disabled (and the operator told). */
  disableAfterMs: setting(
    'TIDINGS_DISABLE_AFTER',
    '5d',
    'an endpoint failing without a single success this long is disabled (its events are kept) and the operator gets tidings.endpoint.disabled',
    duration(),
  ),
  /** An endpoint failing this long is reported to the operator (tidings.endpoint.failing). */
  failingNoticeAfterMs: setting(
    'TIDINGS_FAILING_NOTICE_AFTER',
    '1d',
    'an endpoint failing this long is reported to the operator (tidings.endpoint.failing)',
    duration(),
  ),
  /** The tenant whose endpoints receive Tidings' own events (created on first use). */
  operatorTenant: setting(
    'TIDINGS_OPERATOR_TENANT',
    'operator',
    "tenant whose endpoints receive Tidings' own events (tidings.endpoint.*); created on first use",
    matching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be a tenant id: letters, digits and _.:-'),
  ),
  /** Events and attempts older than this many days are removed (0: kept forever). */
  retentionDays: setting(
    'TIDINGS_RETENTION_DAYS',
    '30',
    'events, deliveries and attempts older than this are removed in small batches (0 keeps everything)',
    wholeNumber(0, 36_500),
  ),
  /** Kept request bodies older than this many days are removed, their hashes stay (0: kept as long as their attempt). */
  bodyRetentionDays: setting(
    'TIDINGS_BODY_RETENTION_DAYS',
    '30',
    'the exact request body each attempt sent is kept (compressed) this long, then only its sha256 (0: as long as the attempt)',
    wholeNumber(0, 36_500),
  ),
  /** Hourly endpoint statistics older than this many days are removed (0: kept forever). */
  statsRetentionDays: setting(
    'TIDINGS_STATS_RETENTION_DAYS',
    '400',
    'hourly endpoint statistics (the stats route answers up to a year of days) are kept this long (0 keeps them forever)',
    wholeNumber(0, 36_500),
  ),
  /** How often each grown attempt chain gets a signed checkpoint (tidings.audit.checkpoint). */
  auditCheckpointIntervalMs: setting(
    'TIDINGS_AUDIT_CHECKPOINT_INTERVAL',
    '15m',
    "how often each tenant's attempt chain that grew gets a checkpoint signed with the deployment's Ed25519 key, published to the operator tenant as `tidings.audit.checkpoint`",
    duration(),
  ),
  /** The deployment's Ed25519 key (whsk_) for audit checkpoints; unset: generated and stored sealed. */
  auditSigningKey: setting(
    'TIDINGS_AUDIT_SIGNING_KEY',
    '',
    'the `whsk_` Ed25519 key that signs audit checkpoints; unset: one is generated at first start and stored in the database, sealed with the encryption key',
    // The form only: the key itself is opened (and checked) where it signs (security/auditKey.ts).
    optionalMatching(/^whsk_[A-Za-z0-9+/]{40,}={0,2}$/, 'must be a whsk_ Ed25519 key (tidings audit key)'),
    '(generated)',
  ),
  logLevel: setting(
    'TIDINGS_LOG_LEVEL',
    'info',
    'fatal, error, warn, info, debug, trace or silent',
    oneOf(LOG_LEVELS),
  ),
  /** auto: pretty when stdout is a terminal, JSON otherwise. */
  logFormat: setting(
    'TIDINGS_LOG_FORMAT',
    'auto',
    'auto (pretty, coloured lines when stdout is a terminal; JSON otherwise), json or pretty',
    oneOf(['auto', 'json', 'pretty'] as const, 'expected auto, json or pretty'),
  ),
  /** Port of the ops listener (/metrics, /healthz, /readyz) for any roles; unset: none. */
  opsPort: setting(
    'TIDINGS_OPS_PORT',
    '',
    'port of the ops listener: /metrics, /healthz and /readyz for any roles (a worker-only process too)',
    optionalWholeNumber(0, 65535),
    '(none)',
  ),
  opsHost: setting('TIDINGS_OPS_HOST', '127.0.0.1', 'address the ops listener listens on', text()),
  /** Prometheus metrics (GET /metrics); off: none are kept. */
  metrics: setting(
    'TIDINGS_METRICS',
    'true',
    'Prometheus metrics at /metrics (api role and ops listener); false keeps none',
    flag(),
  ),
  /** A tenant label on the per-event counters (cardinality grows with the tenants). */
  metricsTenantLabel: setting(
    'TIDINGS_METRICS_TENANT_LABEL',
    'false',
    'add a tenant label to the per-event counters (one series per tenant: mind the cardinality)',
    flag(),
  ),
  /** OpenTelemetry tracing: on when an OTEL_* variable is set (the SDK reads them itself). */
  tracing: setting(
    'OTEL_*',
    '',
    'OpenTelemetry tracing, on when any is set: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME (default tidings), OTEL_TRACES_SAMPLER, … (docs/operations.md)',
    (_t, _name, src) => tracingWanted(src),
    '(none: tracing off)',
  ),
  /** Catalog file(s) upserted at boot. */
  catalogFiles: setting(
    'TIDINGS_CATALOG',
    '',
    'catalog file(s) upserted at boot, comma-separated',
    list(),
    '(none)',
  ),
  /** Public base URL, used in links (portal). */
  publicUrl: setting(
    'TIDINGS_PUBLIC_URL',
    '',
    'base URL used in links Tidings hands out',
    optionalMatching(HTTP_URL, 'must be an http:// or https:// URL'),
    '(http://HOST:PORT)',
  ),
  pollIntervalMs: setting(
    'TIDINGS_POLL_INTERVAL_MS',
    '1000',
    'how often an idle worker looks for due deliveries (a publish wakes it at once)',
    wholeNumber(10, 60_000),
  ),
  /** How long a claimed delivery stays leased past the request timeout. */
  leaseMarginMs: setting(
    'TIDINGS_LEASE_MARGIN_MS',
    '30000',
    'lease on a claimed delivery beyond the request timeout; after it another worker takes over',
    wholeNumber(1_000, 3_600_000),
  ),
  /** Largest number of deliveries one claim takes. */
  claimBatchSize: setting(
    'TIDINGS_CLAIM_BATCH',
    '200',
    'most deliveries one claim takes',
    wholeNumber(1, 5_000),
  ),
  /** Most deliveries per endpoint in one claim (fairness). */
  claimPerEndpoint: setting(
    'TIDINGS_CLAIM_PER_ENDPOINT',
    '50',
    'most deliveries of one endpoint per claim (fairness)',
    wholeNumber(1, 5_000),
  ),
  /** A role's loop failing this long without a success makes /readyz answer 503. */
  loopFailingAfterMs: setting(
    'TIDINGS_LOOP_FAILING_AFTER',
    '30s',
    "a role's loop (worker, scheduler) failing this long without a success makes /readyz answer 503 naming the role",
    duration(),
  ),
};
