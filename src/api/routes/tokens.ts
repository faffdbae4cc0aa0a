import { type Static, Type } from 'typebox';
import { newId } from '../../ids.js';
import { newTenantToken, tokenHint } from '../../security/tenantTokens.js';
import { createToken, listTokens, revokeToken } from '../../store/tokens.js';
import { hashToken, requireAdmin, requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest, notFound, unprocessable } from '../errors.js';
import { requireTokenRoom } from '../quotas.js';
import { errors, NullableTimestamp, PageQuery, pageOf, TenantParams, Timestamp } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

export const TokenView = Type.Object(
  {
    id: Type.String(),
    tenant_id: Type.String(),
    name: Type.String(),
    hint: Type.String({ description: 'The last four characters of the token' }),
    created_at: Timestamp,
    expires_at: NullableTimestamp,
    last_used_at: NullableTimestamp,
    revoked_at: NullableTimestamp,
  },
  { $id: 'Token' },
);

const CreateToken = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200, description: 'What the token is for' })),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'Refused after this time' })),
  },
  { additionalProperties: false },
);

const TokenParams = Type.Object({
  tid: Type.String({ maxLength: 128 }),
  token_id: Type.String({ maxLength: 64 }),
});

export async function tokenRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(TokenView);

  app.post<{ Params: Static<typeof TenantParams>; Body: Static<typeof CreateToken> | undefined }>(
    '/v1/tenants/:tid/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Make an API token for a tenant (operator only); the answer is the only time it is shown',
        params: TenantParams,
        body: Type.Optional(CreateToken),
        response: {
          201: Type.Object({ ...TokenView.properties, token: Type.String() }),
          ...errors(401, 403, 404, 409, 422),
        },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      await ensureTenant(ctx, req.params.tid);
      const now = ctx.clock.now();
      const expiresAt = req.body?.expires_at ? new Date(req.body.expires_at) : null;
      if (expiresAt && !(expiresAt.getTime() > now.getTime())) {
        throw unprocessable('invalid_expiry', 'expires_at must be in the future.');
      }
      const token = newTenantToken();
      const t = await ctx.db.tx(async (q) => {
        await requireTokenRoom(q, ctx, req.params.tid, now);
        return createToken(
          q,
          {
            id: newId('tok'),
            tenantId: req.params.tid,
            name: req.body?.name ?? '',
            sha256: hashToken(token),
            hint: tokenHint(token),
            expiresAt,
          },
          now,
        );
      });
      return reply.code(201).send({ ...t, token });
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: PageQuery }>(
    '/v1/tenants/:tid/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: "A tenant's API tokens (never their values)",
        params: TenantParams,
        querystring: PageQuery,
        response: { 200: pageOf(Type.Ref('Token')), ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const page = await listTokens(ctx.db, req.params.tid, req.query.limit ?? 50, req.query.cursor);
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return page;
    },
  );

  app.delete<{ Params: Static<typeof TokenParams> }>(
    '/v1/tenants/:tid/tokens/:token_id',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token; it stops working at once',
        params: TokenParams,
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      requireTenant(req.principal, req.params.tid);
      if (!(await revokeToken(ctx.db, req.params.tid, req.params.token_id, ctx.clock.now()))) {
        throw notFound('token', req.params.token_id);
      }
      return reply.code(204).send();
    },
  );
}
