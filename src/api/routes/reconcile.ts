// POST /v1/tenants/{tid}/reconcile: a receiver checks the ids it kept against what it was owed
// in a window, and may have the missing ones sent again. Pages walk the window's owed ids in
// byte order (a plain sort), so a receiver sends its own sorted list a chunk at a time.
import { type Static, Type } from 'typebox';
import { CALLER_ID_PATTERN } from '../../ids.js';
import { resendDelivery } from '../../store/deliveries/requeue.js';
import { getEndpoint } from '../../store/endpoints.js';
import { decodeCursor, encodeCursor } from '../../store/page.js';
import { deliveriesOfEvents, type OwedWindow, owedDigest, owedIds } from '../../store/reconcile.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest, notFound, unprocessable } from '../errors.js';
import { errors, TenantParams } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

/** Most ids in `received`, and most owed ids one page covers. */
export const RECONCILE_PAGE = 10_000;
/** With requeue, a page covers at most this many owed ids (each missing one is resent). */
export const RECONCILE_REQUEUE_PAGE = 1_000;

const ReconcileBody = Type.Object(
  {
    since: Type.String({ format: 'date-time', description: 'Events created at or after this time' }),
    until: Type.String({ format: 'date-time', description: 'and before this time (exclusive)' }),
    endpoint_id: Type.Optional(
      Type.String({
        maxLength: 128,
        description: 'Only what was owed to this endpoint; default: to any of the tenant’s endpoints',
      }),
    ),
    received: Type.Optional(
      Type.Array(Type.String({ pattern: CALLER_ID_PATTERN }), {
        maxItems: RECONCILE_PAGE,
        description:
          'Event ids (webhook-id) you kept, in any order. A longer list goes a chunk at a time, sorted (plain byte order), with `more: true` on every chunk but the last',
      }),
    ),
    more: Type.Optional(
      Type.Boolean({
        description:
          'More of your sorted ids follow the last one in `received`: the page stops there (at `checked_through`), and the next call sends your ids after it',
      }),
    ),
    received_sha256: Type.Optional(
      Type.String({
        pattern: '^[0-9a-fA-F]{64}$',
        description:
          'sha256 (hex) of all the ids you kept in the window, sorted in byte order and joined with "\\n": the answer’s `match` says whether they are exactly the owed ones. Checked on the first call (no cursor)',
      }),
    ),
    requeue: Type.Optional(
      Type.Boolean({
        description: `Queue the missing ones again: one new attempt each (a page then covers at most ${RECONCILE_REQUEUE_PAGE} owed ids)`,
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: RECONCILE_PAGE,
        description: `Owed ids one page covers (default and most ${RECONCILE_PAGE})`,
      }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);
type ReconcileBody = Static<typeof ReconcileBody>;

const ReconcileAnswer = Type.Object(
  {
    owed: Type.Integer({
      description: 'Events owed in this page (the whole window when only received_sha256 was sent)',
    }),
    received: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Ids of `received` this page covers (null: no list was sent)',
    }),
    missing: Type.Array(Type.String(), { description: 'Owed, and not in your list: sorted' }),
    unexpected: Type.Array(Type.String(), {
      description: 'In your list, and not owed in the window: sorted',
    }),
    match: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'received_sha256 equals the digest of every owed id of the window (null: none sent)',
    }),
    requeued: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Deliveries queued again (null: requeue was not asked)',
    }),
    checked_through: Type.Union([Type.String(), Type.Null()], {
      description: 'The last id this page covers; null: it covers the window to its end',
    }),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Reconciliation' },
);

function windowCursor(after: string, w: OwedWindow): string {
  return encodeCursor([after, w.since.getTime(), w.until.getTime(), w.endpointId ?? '']);
}

/** The cursor's position, when it belongs to this window. */
function cursorPosition(cursor: string, w: OwedWindow): string | undefined {
  const parts = decodeCursor(cursor, ['string', 'number', 'number', 'string']);
  if (!parts) return undefined;
  const [after, since, until, endpoint] = parts as [string, number, number, string];
  const same =
    since === w.since.getTime() && until === w.until.getTime() && endpoint === (w.endpointId ?? '');
  return same ? after : undefined;
}

export async function reconcileRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(ReconcileAnswer);

  app.post<{ Params: Static<typeof TenantParams>; Body: ReconcileBody }>(
    '/v1/tenants/:tid/reconcile',
    {
      // 10,000 ids of up to 128 characters.
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        tags: ['events'],
        summary:
          'Check the event ids you kept against what you were owed in a window; requeue what is missing',
        description:
          'Owed: every event created in [since, until) that fanned out to a delivery for your endpoints (or for `endpoint_id`). `missing` lists the owed ids not in `received`, `unexpected` the listed ids not owed. A large window pages: owed ids in byte order, `limit` per page; follow `next_cursor` with the same window, sending your ids after `checked_through`. `received_sha256` answers `match` first. `requeue: true` gives each missing delivery one new attempt, recorded like a resend.',
        params: TenantParams,
        body: ReconcileBody,
        response: { 200: Type.Ref('Reconciliation'), ...errors(400, 401, 404, 422) },
      },
    },
    async (req) => {
      const { tid } = req.params;
      requireTenant(req.principal, tid);
      const b = req.body;
      const w: OwedWindow = {
        tenantId: tid,
        since: new Date(b.since),
        until: new Date(b.until),
        endpointId: b.endpoint_id,
      };
      if (w.until <= w.since) {
        throw unprocessable('invalid_window', '`until` must be later than `since`.', { path: 'body/until' });
      }
      await ensureTenant(ctx, tid);
      if (b.endpoint_id !== undefined && !(await getEndpoint(ctx.db, ctx.codec, tid, b.endpoint_id))) {
        throw notFound('endpoint', b.endpoint_id);
      }
      let after: string | null = null;
      if (b.cursor !== undefined) {
        const at = cursorPosition(b.cursor, w);
        if (at === undefined) {
          throw badRequest(
            'invalid_cursor',
            'The cursor is not one this API handed out for this window (since, until, endpoint_id).',
          );
        }
        after = at;
      }

      let match: boolean | null = null;
      if (b.received_sha256 !== undefined && after === null) {
        const digest = await owedDigest(ctx.db, w);
        match = digest.sha256 === b.received_sha256.toLowerCase();
        if (match || b.received === undefined) {
          return {
            owed: digest.count,
            received: b.received === undefined ? null : new Set(b.received).size,
            missing: [],
            unexpected: [],
            match,
            requeued: b.requeue ? 0 : null,
            checked_through: null,
            next_cursor: null,
          };
        }
      }

      const limit = Math.min(b.limit ?? RECONCILE_PAGE, b.requeue ? RECONCILE_REQUEUE_PAGE : RECONCILE_PAGE);
      const owed = await owedIds(ctx.db, w, after, limit + 1);
      const full = owed.length > limit;
      const page = owed.slice(0, limit);
      const checkedBefore = (id: string) => after !== null && id <= after;
      const received = [...new Set(b.received ?? [])].filter((id) => !checkedBefore(id)).sort();
      // The page ends at its last owed id when more are owed, and at the caller's last id when
      // more of the caller's list follows: the next call starts after the nearer of the two.
      let end: string | null = full ? page[page.length - 1]! : null;
      const lastReceived = received[received.length - 1];
      if (b.more === true && lastReceived !== undefined && (end === null || lastReceived < end)) {
        end = lastReceived;
      }
      const covers = (id: string) => end === null || id <= end;
      const owedHere = page.filter(covers);
      const owedSet = new Set(owedHere);
      const kept = new Set(received);
      const receivedHere = received.filter(covers);
      const missing = owedHere.filter((id) => !kept.has(id));

      let requeued: number | null = null;
      if (b.requeue) {
        requeued = 0;
        const ids = await deliveriesOfEvents(ctx.db, tid, missing, b.endpoint_id);
        for (let i = 0; i < ids.length; i += 100) {
          const chunk = ids.slice(i, i + 100);
          requeued += await ctx.db.tx(async (q) => {
            let n = 0;
            for (const id of chunk) {
              if ((await resendDelivery(q, tid, id, ctx.clock.now())) === 'queued') n += 1;
            }
            return n;
          });
        }
        if (requeued > 0) await ctx.publisher.wakeWorkers();
      }

      return {
        owed: owedHere.length,
        received: b.received === undefined ? null : receivedHere.length,
        missing,
        unexpected: receivedHere.filter((id) => !owedSet.has(id)),
        match,
        requeued,
        checked_through: end,
        next_cursor: end === null ? null : windowCursor(end, w),
      };
    },
  );
}
