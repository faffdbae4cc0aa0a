import { PRUNE_CHAIN_OF } from './attemptChain.js';
import type { Queryable } from './db.js';
import { markDue } from './deliveries/turns.js';
import { type DestinationSettings, openDestinationSettings, sealSetting } from './endpointTargets.js';
import { unparkEndpoint } from './faults.js';
import { decodeCursor, type Page, pageOf } from './page.js';
import type { SecretCodec } from './secrets.js';

export type Ordering = 'none' | 'key' | 'endpoint';

export interface EndpointHealth {
  consecutive_failures: number;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  failing_since: Date | null;
}

/** An endpoint as the store holds it, secrets opened. The API decides what to show. */
export interface Endpoint extends DestinationSettings {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  event_types: string[] | null;
  channels: string[] | null;
  profile: string;
  secret: string;
  headers: Record<string, string>;
  disabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  metadata: Record<string, unknown>;
  max_in_flight: number;
  rate_limit_per_s: number | null;
  ordering: Ordering;
  /** The payload filter as written (issue 15); null: every event its types and channels let through. */
  filter: Record<string, unknown> | null;
  /** Per-endpoint policy; null: the deployment's. */
  timeout_ms: number | null;
  /** Delay after attempt 1, 2, … in milliseconds; null: the deployment's schedule. */
  retry_schedule: number[] | null;
  created_at: Date;
  updated_at: Date;
  health: EndpointHealth;
  /** Set while the engine has the endpoint parked (see faults.ts). */
  fault: { at: Date; error: string } | null;
}

export interface EndpointInput {
  url: string;
  description?: string;
  event_types?: string[] | null;
  channels?: string[] | null;
  profile?: string;
  secret: string;
  headers?: Record<string, string>;
  disabled?: boolean;
  metadata?: Record<string, unknown>;
  max_in_flight?: number;
  rate_limit_per_s?: number | null;
  ordering?: Ordering;
  /** The filter as written and its compiled SQL/JSON path predicate (api/payloadFilter.ts); null clears it. */
  filter?: { doc: Record<string, unknown>; path: string } | null;
  timeout_ms?: number | null;
  retry_schedule?: number[] | null;
  /** Destination settings (issue 17); null clears one. */
  mtls?: DestinationSettings['mtls'];
  oauth?: DestinationSettings['oauth'];
  broker?: DestinationSettings['broker'];
}

export type EndpointPatch = Partial<Omit<EndpointInput, 'secret'>>;

interface EndpointRow extends Omit<Endpoint, 'headers' | 'health' | 'fault' | keyof DestinationSettings> {
  headers: string | null;
  faulted_at: Date | null;
  fault: string | null;
  mtls: string | null;
  oauth: string | null;
  broker: string | null;
  consecutive_failures: number | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  failing_since: Date | null;
}

const SELECT = `SELECT e.id, e.tenant_id, e.url, e.description, e.event_types, e.channels, e.profile, e.secret, e.headers,
  e.disabled, e.disabled_reason, e.disabled_at, e.metadata, e.max_in_flight, e.rate_limit_per_s, e.ordering,
  e.filter, e.timeout_ms, e.retry_schedule, e.created_at, e.updated_at, e.mtls, e.oauth, e.broker, s.consecutive_failures, s.last_success_at, s.last_failure_at, s.failing_since,
  s.faulted_at, s.fault
  FROM endpoints e LEFT JOIN endpoint_state s ON s.endpoint_id = e.id`;

function fromRow(r: EndpointRow, codec: SecretCodec): Endpoint {
  const {
    consecutive_failures,
    last_success_at,
    last_failure_at,
    failing_since,
    headers,
    secret,
    faulted_at,
    fault,
    mtls,
    oauth,
    broker,
    ...rest
  } = r;
  return {
    ...rest,
    fault: faulted_at ? { at: faulted_at, error: fault ?? '' } : null,
    ...openDestinationSettings({ mtls, oauth, broker }, codec),
    secret: codec.open(secret),
    headers: openHeaders(headers, codec),
    health: {
      consecutive_failures: consecutive_failures ?? 0,
      last_success_at,
      last_failure_at,
      failing_since,
    },
  };
}

/**
 * The static headers, opened. Headers that cannot be opened (a corrupt row, a lost key) are
 * shown as none rather than failing every read of the endpoint: the engine parks such an
 * endpoint (store/faults.ts) and its fault says why; a PATCH with new headers repairs it.
 */
function openHeaders(sealed: string | null, codec: SecretCodec): Record<string, string> {
  if (!sealed) return {};
  try {
    return JSON.parse(codec.open(sealed)) as Record<string, string>;
  } catch {
    return {};
  }
}

function sealHeaders(h: Record<string, string> | undefined, codec: SecretCodec): string | null {
  return h && Object.keys(h).length > 0 ? codec.seal(JSON.stringify(h)) : null;
}

export async function createEndpoint(
  q: Queryable,
  codec: SecretCodec,
  id: string,
  tenantId: string,
  input: EndpointInput,
  now: Date,
): Promise<Endpoint> {
  await q.query(
    `INSERT INTO endpoints (id, tenant_id, url, description, event_types, channels, profile, secret, headers,
       disabled, disabled_at, metadata, max_in_flight, rate_limit_per_s, ordering, created_at, updated_at,
       mtls, oauth, broker, filter, filter_path, timeout_ms, retry_schedule)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $10 THEN $15::timestamptz END, $11, $12, $13, $14, $15, $15,
       $16, $17, $18, $19, $20, $21, $22)`,
    [
      id,
      tenantId,
      input.url,
      input.description ?? '',
      input.event_types ?? null,
      input.channels ?? null,
      input.profile ?? 'standard',
      codec.seal(input.secret),
      sealHeaders(input.headers, codec),
      input.disabled ?? false,
      JSON.stringify(input.metadata ?? {}),
      input.max_in_flight ?? 10,
      input.rate_limit_per_s ?? null,
      input.ordering ?? 'none',
      now,
      sealSetting(input.mtls, codec),
      sealSetting(input.oauth, codec),
      sealSetting(input.broker, codec),
      input.filter ? JSON.stringify(input.filter.doc) : null,
      input.filter?.path ?? null,
      input.timeout_ms ?? null,
      input.retry_schedule ?? null,
    ],
  );
  await q.query('INSERT INTO endpoint_state (endpoint_id) VALUES ($1)', [id]);
  return (await getEndpoint(q, codec, tenantId, id))!;
}

export async function getEndpoint(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  id: string,
): Promise<Endpoint | undefined> {
  const rows = await q.query<EndpointRow>(`${SELECT} WHERE e.tenant_id = $1 AND e.id = $2`, [tenantId, id]);
  return rows[0] && fromRow(rows[0], codec);
}

export async function listEndpoints(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<Endpoint> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['string']);
    if (!after) return undefined;
  }
  const rows = await q.query<EndpointRow>(
    `${SELECT} WHERE e.tenant_id = $1 AND ($2::text IS NULL OR e.id > $2) ORDER BY e.id LIMIT $3`,
    [tenantId, after?.[0] ?? null, limit + 1],
  );
  return pageOf(
    rows.map((r) => fromRow(r, codec)),
    limit,
    (e) => [e.id],
  );
}

export async function updateEndpoint(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  id: string,
  patch: EndpointPatch,
  now: Date,
): Promise<Endpoint | undefined> {
  // A column is replaced only when the patch names it; `null` clears the nullable ones.
  const sets: string[] = [];
  const params: unknown[] = [tenantId, id, now];
  const set = (column: string, value: unknown) => {
    params.push(value);
    sets.push(`${column} = $${params.length}`);
  };
  if (patch.url !== undefined) set('url', patch.url);
  if (patch.description !== undefined) set('description', patch.description);
  if (patch.event_types !== undefined) set('event_types', patch.event_types);
  if (patch.channels !== undefined) set('channels', patch.channels);
  if (patch.profile !== undefined) set('profile', patch.profile);
  if (patch.headers !== undefined) set('headers', sealHeaders(patch.headers, codec));
  if (patch.metadata !== undefined) set('metadata', JSON.stringify(patch.metadata));
  if (patch.max_in_flight !== undefined) set('max_in_flight', patch.max_in_flight);
  if (patch.rate_limit_per_s !== undefined) set('rate_limit_per_s', patch.rate_limit_per_s);
  if (patch.ordering !== undefined) set('ordering', patch.ordering);
  if (patch.mtls !== undefined) set('mtls', sealSetting(patch.mtls, codec));
  if (patch.oauth !== undefined) set('oauth', sealSetting(patch.oauth, codec));
  if (patch.broker !== undefined) set('broker', sealSetting(patch.broker, codec));
  if (patch.filter !== undefined) {
    set('filter', patch.filter ? JSON.stringify(patch.filter.doc) : null);
    set('filter_path', patch.filter?.path ?? null);
  }
  if (patch.timeout_ms !== undefined) set('timeout_ms', patch.timeout_ms);
  if (patch.retry_schedule !== undefined) set('retry_schedule', patch.retry_schedule);
  if (patch.disabled !== undefined) {
    set('disabled', patch.disabled);
    sets.push(
      `disabled_at = CASE WHEN $${params.length} THEN COALESCE(disabled_at, $3) END`,
      `disabled_reason = CASE WHEN $${params.length} THEN COALESCE(disabled_reason, 'disabled by request') END`,
    );
  }
  const rows = await q.query<{ id: string }>(
    `UPDATE endpoints SET ${[...sets, 'updated_at = $3'].join(', ')} WHERE tenant_id = $1 AND id = $2 RETURNING id`,
    params,
  );
  if (rows.length === 0) return undefined;
  if (patch.disabled === false) {
    // Re-enabled: what waited while it was disabled is due now, and its failure streak starts afresh.
    await q.query(
      `UPDATE endpoint_state SET consecutive_failures = 0, failing_since = NULL, probe_after = NULL WHERE endpoint_id = $1`,
      [id],
    );
  }
  // Any update may have fixed what parked the endpoint (store/faults.ts): it goes back to work.
  await unparkEndpoint(q, id);
  await markDue(q, [id], now);
  return getEndpoint(q, codec, tenantId, id);
}

/**
 * Deletes an endpoint with its deliveries, their attempts and queue rows (the hot tables have
 * no foreign keys, see migration 006), and its turn marks; its state and ordering keys go
 * through their foreign keys. Events stay: they belong to the tenant.
 */
export async function deleteEndpoint(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const rows = await q.query(
    `WITH ep AS (DELETE FROM endpoints WHERE tenant_id = $1 AND id = $2 RETURNING id),
          dls AS (SELECT d.id FROM deliveries d WHERE d.endpoint_id = $2 AND EXISTS (SELECT 1 FROM ep)),
          a AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM dls) RETURNING id),
          ${PRUNE_CHAIN_OF('a')},
          qd AS (DELETE FROM delivery_queue WHERE delivery_id IN (SELECT id FROM dls)),
          d AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM dls)),
          t AS (DELETE FROM endpoint_turns WHERE endpoint_id = $2 AND EXISTS (SELECT 1 FROM ep))
     SELECT id FROM ep`,
    [tenantId, id],
  );
  return rows.length > 0;
}
