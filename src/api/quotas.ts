// Per-tenant quotas and size caps as the API applies them (limits.ts has the numbers, the
// store the counting). A write that would pass a quota answers 409 quota_exceeded, naming
// the setting that raises it; a metadata object too large answers 422.
import { MAX_METADATA_BYTES, QUOTAS, type QuotaKind } from '../limits.js';
import type { Queryable } from '../store/db.js';
import {
  type CountedKind,
  countEndpointsOf,
  countLiveTokensOf,
  lockTenantQuota,
  takeUsage,
} from '../store/quotas.js';
import type { ApiContext } from './context.js';
import { conflict, unprocessable } from './errors.js';

export function quotaExceeded(kind: QuotaKind, tenantId: string, limit: number) {
  const spec = QUOTAS.find((q) => q.kind === kind)!;
  return conflict(
    'quota_exceeded',
    `Tenant "${tenantId}" has ${limit} ${spec.noun}, the most allowed (${spec.setting}); remove some first, or ask the operator to raise it.`,
    { quota: kind, limit, setting: spec.setting },
  );
}

/** Room for one more endpoint of the tenant; call in the creating transaction, before the insert. */
export async function requireEndpointRoom(q: Queryable, ctx: ApiContext, tenantId: string): Promise<void> {
  const limit = ctx.config.quotas.endpoints;
  await lockTenantQuota(q, tenantId, 'endpoints');
  if ((await countEndpointsOf(q, tenantId, limit)) >= limit)
    throw quotaExceeded('endpoints', tenantId, limit);
}

/** Room for one more live token of the tenant; call in the creating transaction, before the insert. */
export async function requireTokenRoom(
  q: Queryable,
  ctx: ApiContext,
  tenantId: string,
  now: Date,
): Promise<void> {
  const limit = ctx.config.quotas.tokens;
  await lockTenantQuota(q, tenantId, 'tokens');
  if ((await countLiveTokensOf(q, tenantId, now, limit)) >= limit)
    throw quotaExceeded('tokens', tenantId, limit);
}

/** Counts a created rule or anchor; throws (rolling the transaction back) past the quota. Call last. */
export async function countCreated(
  q: Queryable,
  ctx: ApiContext,
  kind: CountedKind,
  tenantId: string,
): Promise<void> {
  const limit = ctx.config.quotas[kind];
  if (!(await takeUsage(q, tenantId, kind, limit))) throw quotaExceeded(kind, tenantId, limit);
}

/** A metadata object within MAX_METADATA_BYTES of JSON (the schema bounds its keys). */
export function checkMetadata(metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined) return;
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  if (bytes > MAX_METADATA_BYTES) {
    throw unprocessable(
      'metadata_too_large',
      `metadata is ${bytes} bytes of JSON; at most ${MAX_METADATA_BYTES}.`,
      { bytes, limit: MAX_METADATA_BYTES },
    );
  }
}
