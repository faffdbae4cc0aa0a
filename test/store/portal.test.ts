// The portal's store modules on both engines: sign-in links used once, sessions that end,
// an endpoint's delivery log (filters, paging, tenant scoping), and the test event that
// reaches one endpoint only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/api/auth.js';
import { recordAttempts } from '../../src/store/deliveries/ack.js';
import { claimDeliveries } from '../../src/store/deliveries/claim.js';
import type { AttemptResult } from '../../src/store/deliveries/types.js';
import { listEndpointDeliveries, publishToEndpoint } from '../../src/store/endpointDeliveries.js';
import { createEndpoint } from '../../src/store/endpoints.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import {
  checkPortalLink,
  consumePortalLink,
  createPortalLink,
  findPortalSession,
  listPortalSessions,
  revokePortalSessions,
} from '../../src/store/portal.js';
import { publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const t0 = new Date('2026-05-01T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const MIN = 60_000;

describe.each(engines())('portal store (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
    for (const id of ['acme', 'other']) await createTenant(t.db, { id, name: id }, t0);
    await upsertEventType(t.db, { name: 'bill.paid', group: 'bills' }, t0);
    await upsertEventType(t.db, { name: 'bill.late', group: 'bills' }, t0);
    const ep = (id: string, tenant: string, event_types?: string[], disabled = false) =>
      createEndpoint(
        t.db,
        plainCodec,
        id,
        tenant,
        {
          url: `https://example.com/${id}`,
          secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
          disabled,
          ...(event_types ? { event_types } : {}),
        },
        t0,
      );
    await ep('ep_a', 'acme');
    await ep('ep_all', 'acme', ['*']);
    await ep('ep_off', 'acme', undefined, true);
    await ep('ep_x', 'other');
  });
  afterAll(() => t?.drop());

  describe('sign-in links and sessions', () => {
    const link = (token: string, tenantId = 'acme', ttl = 15 * MIN) =>
      t.db.tx((q) =>
        createPortalLink(
          q,
          { id: `pl_${token}`, tenantId, tokenSha256: hashToken(token), expiresAt: at(ttl) },
          t0,
        ),
      );
    const consume = (token: string, session: string, now: Date) =>
      t.db.tx((q) =>
        consumePortalLink(
          q,
          hashToken(token),
          {
            id: `ps_${session}`,
            tokenSha256: hashToken(`s-${session}`),
            expiresAt: new Date(now.getTime() + 60 * MIN),
          },
          now,
        ),
      );

    it('a link starts one session, for its tenant, and is refused afterwards as used', async () => {
      await link('one');
      expect(await checkPortalLink(t.db, hashToken('one'), at(MIN))).toMatchObject({ ok: true });
      const first = await consume('one', 'one', at(MIN));
      expect(first).toMatchObject({ ok: true, session: { tenant_id: 'acme', link_id: 'pl_one' } });
      expect(await consume('one', 'one-again', at(2 * MIN))).toEqual({ ok: false, problem: 'used' });
      expect(await checkPortalLink(t.db, hashToken('one'), at(2 * MIN))).toMatchObject({
        ok: false,
        problem: 'used',
      });
      expect(await findPortalSession(t.db, hashToken('s-one'), at(2 * MIN))).toMatchObject({
        tenant_id: 'acme',
      });
      expect(await findPortalSession(t.db, hashToken('s-one-again'), at(2 * MIN))).toBeUndefined();
    });

    it('of two openings at once, exactly one gets a session', async () => {
      await link('race');
      const results = await Promise.all([consume('race', 'r1', at(MIN)), consume('race', 'r2', at(MIN))]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, problem: 'used' }]);
    });

    it('an expired or unknown link is refused and starts nothing', async () => {
      await link('late', 'acme', 15 * MIN);
      expect(await consume('late', 'late', at(15 * MIN))).toEqual({ ok: false, problem: 'expired' });
      expect(await checkPortalLink(t.db, hashToken('late'), at(16 * MIN))).toMatchObject({
        ok: false,
        problem: 'expired',
      });
      expect(await consume('never-made', 'nm', at(MIN))).toEqual({ ok: false, problem: 'unknown' });
      expect(await findPortalSession(t.db, hashToken('s-late'), at(16 * MIN))).toBeUndefined();
    });

    it('sessions end when they expire or are revoked, one or all, tenant by tenant', async () => {
      await link('s1');
      await link('s2');
      await link('s3', 'other');
      await consume('s1', 'a1', at(MIN));
      await consume('s2', 'a2', at(MIN));
      await consume('s3', 'o1', at(MIN));
      // Expiry: the session lasts 60 minutes from sign-in.
      expect(await findPortalSession(t.db, hashToken('s-a1'), at(60 * MIN))).toBeDefined();
      expect(await findPortalSession(t.db, hashToken('s-a1'), at(61 * MIN))).toBeUndefined();
      // One session of another tenant cannot be revoked through this tenant.
      expect(await revokePortalSessions(t.db, 'acme', at(2 * MIN), 'ps_o1')).toBe(0);
      expect(await revokePortalSessions(t.db, 'acme', at(2 * MIN), 'ps_a1')).toBe(1);
      expect(await findPortalSession(t.db, hashToken('s-a1'), at(3 * MIN))).toBeUndefined();
      expect(await findPortalSession(t.db, hashToken('s-a2'), at(3 * MIN))).toBeDefined();
      expect((await listPortalSessions(t.db, 'acme', at(3 * MIN))).map((s) => s.id)).toContain('ps_a2');
      expect(await revokePortalSessions(t.db, 'acme', at(4 * MIN))).toBeGreaterThanOrEqual(1);
      expect(await listPortalSessions(t.db, 'acme', at(5 * MIN))).toEqual([]);
      expect(await findPortalSession(t.db, hashToken('s-o1'), at(5 * MIN))).toMatchObject({
        tenant_id: 'other',
      });
    });
  });

  describe('test events and the delivery log', () => {
    let n = 0;
    const target = (endpointId: string, tenantId = 'acme', now = at(MIN)) => {
      n += 1;
      return t.db.tx((q) =>
        publishToEndpoint(q, {
          tenantId,
          endpointId,
          id: `test_${n}`,
          type: 'tidings.test',
          typeDescription: 'test',
          typeGroup: 'tidings',
          payloadJson: '{"hello":1}',
          requestHash: `th${n}`,
          source: 'test',
          now,
        }),
      );
    };
    const publish = (id: string, type: string, when: Date) =>
      t.db.tx((q) =>
        publishEvents(q, [
          {
            tenantId: 'acme',
            id,
            type,
            payloadJson: '{}',
            channels: [],
            orderingKey: null,
            idempotencyKey: null,
            requestHash: id,
            source: 'api',
            createdAt: when,
          },
        ]),
      );

    it('a test event is delivered to the named endpoint only, whatever the others subscribe to', async () => {
      const r = await target('ep_a');
      expect(r.kind).toBe('queued');
      const rows = await t.db.query<{ endpoint_id: string }>(
        "SELECT d.endpoint_id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.id = 'test_1'",
      );
      // ep_all takes every type ("*") and would get it from a fan-out.
      expect(rows.map((x) => x.endpoint_id)).toEqual(['ep_a']);
      const types = await t.db.query<{ default_enabled: boolean }>(
        "SELECT default_enabled FROM event_types WHERE name = 'tidings.test'",
      );
      expect(types).toEqual([{ default_enabled: false }]);
    });

    it('refuses a disabled endpoint and another tenant’s endpoint, writing nothing', async () => {
      const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
      expect(await target('ep_off')).toEqual({ kind: 'endpoint_disabled' });
      expect(await target('ep_x', 'acme')).toEqual({ kind: 'endpoint_not_found' });
      expect(await t.db.query('SELECT count(*)::int AS n FROM events')).toEqual(before);
    });

    it('lists an endpoint’s deliveries newest first, page by page, with filters', async () => {
      await publish('p1', 'bill.paid', at(10 * MIN));
      await publish('p2', 'bill.late', at(20 * MIN));
      await publish('p3', 'bill.paid', at(30 * MIN));
      await publish('p4', 'bill.late', at(40 * MIN));
      // Fail p2 for good and p4 once (retrying): claimed and acked as the worker does.
      const claimed = await t.db.tx((q) =>
        claimDeliveries(q, {
          now: at(50 * MIN),
          leaseUntil: at(60 * MIN),
          workerId: 'w',
          limit: 100,
          perEndpoint: 100,
          endpoints: 10,
        }),
      );
      const fail = (eventId: string, next: AttemptResult['next']): AttemptResult => {
        const d = claimed.find((c) => c.event_id === eventId && c.endpoint_id === 'ep_a')!;
        return {
          deliveryId: d.id,
          endpointId: 'ep_a',
          attempt: 1,
          startedAt: at(50 * MIN),
          durationMs: 5,
          url: 'https://example.com/ep_a',
          status: 500,
          requestHeaders: {},
          responseHeaders: {},
          responseBody: 'no',
          error: null,
          next,
          retryAt: next === 'retry' ? at(90 * MIN) : null,
          gone: false,
        };
      };
      await t.db.tx((q) => recordAttempts(q, [fail('p2', 'failed'), fail('p4', 'retry')], 'w', at(51 * MIN)));

      const all = async (filter: Parameters<typeof listEndpointDeliveries>[3], limit = 2) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 20; i++) {
          const page = await listEndpointDeliveries(t.db, 'acme', 'ep_a', filter, limit, cursor);
          expect(page).toBeDefined();
          seen.push(...page!.data.map((d) => d.event_id));
          if (!page!.next_cursor) break;
          cursor = page!.next_cursor;
        }
        return seen;
      };
      expect(await all({})).toEqual(['p4', 'p3', 'p2', 'p1', 'test_1']);
      expect(await all({ failed: true })).toEqual(['p4', 'p2']);
      expect(await all({ state: 'failed' })).toEqual(['p2']);
      expect(await all({ eventType: 'bill.paid' })).toEqual(['p3', 'p1']);
      expect(await all({ createdAfter: at(20 * MIN), createdBefore: at(40 * MIN) })).toEqual(['p3', 'p2']);
      // Another tenant sees nothing of this endpoint, and a forged cursor is refused.
      expect((await listEndpointDeliveries(t.db, 'other', 'ep_a', {}, 10))!.data).toEqual([]);
      expect(await listEndpointDeliveries(t.db, 'acme', 'ep_a', {}, 10, 'bm90LWEtY3Vyc29y')).toBeUndefined();
    });
  });
});
