// Store-level helpers for the delivery tests: a fresh database with a catalog, tenants and
// endpoints, publishing through the real publish path, claiming and acking as a worker does.
import type { Queryable } from '../../src/store/db.js';
import { recordAttempts } from '../../src/store/deliveries/ack.js';
import { type ClaimOptions, claimDeliveries } from '../../src/store/deliveries/claim.js';
import {
  type AttemptResult,
  type ClaimedDelivery,
  DEFAULT_CIRCUIT,
} from '../../src/store/deliveries/types.js';
import { createEndpoint, type EndpointInput } from '../../src/store/endpoints.js';
import type { PublishInput } from '../../src/store/events.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { type Engine, freshDb, type TestDb } from './engines.js';

export const T0 = new Date('2026-03-02T09:00:00Z');
export const at = (ms: number) => new Date(T0.getTime() + ms);

export interface Kit {
  t: TestDb;
  tenant(id: string): Promise<void>;
  endpoint(tenantId: string, id: string, input?: Partial<EndpointInput>): Promise<void>;
  /** Publishes `count` events in batches of 1000 (group commits), returns their ids. */
  publish(
    tenantId: string,
    count: number,
    opts?: { when?: Date; orderingKey?: (i: number) => string | null; type?: string },
  ): Promise<string[]>;
  claim(now: Date, opts?: Partial<ClaimOptions>): Promise<ClaimedDelivery[]>;
  /** Acks claimed deliveries: succeeded, or failed with a retry at `retryAt` (or given up). */
  ack(
    claimed: ClaimedDelivery[],
    now: Date,
    outcome: (d: ClaimedDelivery) => { ok: boolean; retryAt?: Date | null; status?: number },
    worker?: string,
  ): Promise<{ promoted: string[] }>;
  q: Queryable;
  drop(): Promise<void>;
}

let counter = 0;

export async function kit(engine: Engine): Promise<Kit> {
  const t = await freshDb(engine);
  await upsertEventType(t.db, { name: 'loan.updated' }, T0);
  return {
    t,
    q: t.db,
    async tenant(id) {
      await createTenant(t.db, { id, name: id }, T0);
    },
    async endpoint(tenantId, id, input = {}) {
      await createEndpoint(
        t.db,
        plainCodec,
        id,
        tenantId,
        { url: 'https://receiver.example/hook', secret: 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=', ...input },
        T0,
      );
    },
    async publish(tenantId, count, opts = {}) {
      const ids: string[] = [];
      for (let start = 0; start < count; start += 1000) {
        const inputs: PublishInput[] = [];
        for (let i = start; i < Math.min(count, start + 1000); i++) {
          counter += 1;
          const id = `ev${counter}`;
          ids.push(id);
          inputs.push({
            tenantId,
            id,
            type: opts.type ?? 'loan.updated',
            payloadJson: `{"i":${i}}`,
            channels: [],
            orderingKey: opts.orderingKey?.(i) ?? null,
            idempotencyKey: null,
            requestHash: `h${counter}`,
            source: 'api',
            createdAt: opts.when ?? T0,
          });
        }
        await t.db.tx((q) => publishEvents(q, inputs));
      }
      return ids;
    },
    claim(now, opts = {}) {
      return t.db.tx((q) =>
        claimDeliveries(q, {
          now,
          leaseUntil: new Date(now.getTime() + 60_000),
          workerId: 'w1',
          limit: 100,
          perEndpoint: 50,
          endpoints: 50,
          ...opts,
        }),
      );
    },
    ack(claimed, now, outcome, worker = 'w1') {
      const results: AttemptResult[] = claimed.map((d) => {
        const o = outcome(d);
        return {
          deliveryId: d.id,
          endpointId: d.endpoint_id,
          attempt: d.attempts + 1,
          startedAt: now,
          durationMs: 0,
          url: d.url,
          status: o.status ?? (o.ok ? 200 : 500),
          requestHeaders: {},
          responseHeaders: null,
          responseBody: null,
          error: o.ok ? null : `HTTP ${o.status ?? 500}`,
          next: o.ok ? 'succeeded' : o.retryAt ? 'retry' : 'failed',
          retryAt: o.ok ? null : (o.retryAt ?? null),
          gone: o.status === 410,
        };
      });
      return t.db.tx((q) => recordAttempts(q, results, worker, now, DEFAULT_CIRCUIT));
    },
    drop: () => t.drop(),
  };
}
