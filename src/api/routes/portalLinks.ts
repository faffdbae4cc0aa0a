// Portal access: the operator makes one-time sign-in links for a tenant; sessions can be
// listed and revoked.
import { type Static, Type } from 'typebox';
import { ulid } from 'ulid';
import { newToken } from '../../security/principal.js';
import { createPortalLink, listPortalSessions, revokePortalSessions } from '../../store/portal.js';
import { hashToken, requireAdmin, requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { notFound } from '../errors.js';
import { errors, TenantParams, Timestamp } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

const PortalLink = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'Open once, before expires_at, to start a portal session for the tenant' }),
  expires_at: Timestamp,
});

const PortalSessionView = Type.Object({
  id: Type.String(),
  created_at: Timestamp,
  expires_at: Timestamp,
});

const SessionParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  sid: Type.String({ maxLength: 64 }),
});

export async function portalLinkRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.post<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid/portal-links',
    {
      schema: {
        tags: ['portal'],
        summary: "A one-time link to the tenant's webhook settings page (the portal)",
        description:
          'The link works once and expires after TIDINGS_PORTAL_LINK_TTL (15 minutes by default). Opening it starts a portal session for this tenant only.',
        params: TenantParams,
        response: { 201: PortalLink, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      await ensureTenant(ctx, req.params.tid);
      const token = newToken();
      const now = ctx.clock.now();
      const link = await ctx.db.tx((q) =>
        createPortalLink(
          q,
          {
            id: `pl_${ulid().toLowerCase()}`,
            tenantId: req.params.tid,
            tokenSha256: hashToken(token),
            expiresAt: new Date(now.getTime() + ctx.config.portal.linkTtlMs),
          },
          now,
        ),
      );
      const base = (ctx.config.publicUrl ?? `${req.protocol}://${req.headers.host ?? 'localhost'}`).replace(
        /\/+$/,
        '',
      );
      return reply.code(201).send({
        id: link.id,
        url: `${base}/portal/login?token=${encodeURIComponent(token)}`,
        expires_at: link.expires_at,
      });
    },
  );

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid/portal-sessions',
    {
      schema: {
        tags: ['portal'],
        summary: "The tenant's live portal sessions",
        params: TenantParams,
        response: { 200: Type.Object({ data: Type.Array(PortalSessionView) }), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const rows = await listPortalSessions(ctx.db, req.params.tid, ctx.clock.now());
      return { data: rows.map((s) => ({ id: s.id, created_at: s.created_at, expires_at: s.expires_at })) };
    },
  );

  app.delete<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid/portal-sessions',
    {
      schema: {
        tags: ['portal'],
        summary: 'End every live portal session of the tenant (their next request is refused)',
        params: TenantParams,
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      return { revoked: await revokePortalSessions(ctx.db, req.params.tid, ctx.clock.now()) };
    },
  );

  app.delete<{ Params: Static<typeof SessionParams> }>(
    '/v1/tenants/:tid/portal-sessions/:sid',
    {
      schema: {
        tags: ['portal'],
        summary: 'End one portal session',
        params: SessionParams,
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      const n = await revokePortalSessions(ctx.db, req.params.tid, ctx.clock.now(), req.params.sid);
      if (n === 0) throw notFound('portal session', req.params.sid);
      return reply.code(204).send();
    },
  );
}
