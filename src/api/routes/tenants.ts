import { type Static, Type } from 'typebox';
import { CALLER_ID_PATTERN, newId } from '../../ids.js';
import { createTenant, deleteTenant, getTenant, listTenants, updateTenant } from '../../store/tenants.js';
import { requireAdmin, requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { checkMetadata } from '../quotas.js';
import { errors, Metadata, PageQuery, pageOf, TenantParams, Timestamp } from '../schemas.js';

const TenantView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    metadata: Metadata,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Tenant' },
);

const CreateTenant = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        pattern: CALLER_ID_PATTERN,
        description: 'Chosen by the operator; generated when absent',
      }),
    ),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

const PatchTenant = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
);

export { TenantView };

export async function tenantRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.post<{ Body: Static<typeof CreateTenant> }>(
    '/v1/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant',
        body: CreateTenant,
        response: { 201: Type.Ref('Tenant'), ...errors(401, 403, 409, 422) },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      checkMetadata(req.body.metadata);
      const id = req.body.id ?? newId('ten');
      const t = await createTenant(ctx.db, { ...req.body, id }, ctx.clock.now());
      if (!t) throw conflict('tenant_exists', `A tenant with id "${id}" exists already.`);
      return reply.code(201).send(t);
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/v1/tenants',
    {
      schema: {
        tags: ['tenants'],
        summary: 'List tenants',
        querystring: PageQuery,
        response: { 200: pageOf(Type.Ref('Tenant')), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      const page = await listTenants(ctx.db, req.query.limit ?? 50, req.query.cursor);
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return page;
    },
  );

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Get a tenant',
        params: TenantParams,
        response: { 200: Type.Ref('Tenant'), ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const t = await getTenant(ctx.db, req.params.tid);
      if (!t) throw notFound('tenant', req.params.tid);
      return t;
    },
  );

  app.patch<{ Params: Static<typeof TenantParams>; Body: Static<typeof PatchTenant> }>(
    '/v1/tenants/:tid',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Change a tenant',
        params: TenantParams,
        body: PatchTenant,
        response: { 200: Type.Ref('Tenant'), ...errors(401, 403, 404, 422) },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      checkMetadata(req.body.metadata);
      const t = await updateTenant(ctx.db, req.params.tid, req.body, ctx.clock.now());
      if (!t) throw notFound('tenant', req.params.tid);
      return t;
    },
  );

  app.delete<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid',
    {
      schema: {
        tags: ['tenants'],
        summary: 'Delete a tenant with its endpoints, events and deliveries',
        params: TenantParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      requireAdmin(req.principal);
      if (!(await deleteTenant(ctx.db, req.params.tid))) throw notFound('tenant', req.params.tid);
      return reply.code(204).send();
    },
  );
}
