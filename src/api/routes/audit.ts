import { type Static, Type } from 'typebox';
import { listAudit } from '../../store/audit.js';
import { requireAdmin } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { badRequest } from '../errors.js';
import { errors, PageQuery, pageOf, Timestamp } from '../schemas.js';

const AuditEntryView = Type.Object(
  {
    id: Type.Integer(),
    at: Timestamp,
    actor: Type.String({ description: '"admin", or the id of the tenant token used' }),
    actor_tenant_id: Type.Union([Type.String(), Type.Null()]),
    tenant_id: Type.Union([Type.String(), Type.Null()], { description: 'The tenant acted on' }),
    action: Type.String({ description: 'Method and route, e.g. "POST /v1/tenants/:tid/endpoints"' }),
    target: Type.Record(Type.String(), Type.String(), {
      description: 'Route parameters, and created_id for a creation',
    }),
    status: Type.Integer(),
    ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'AuditEntry' },
);

const AuditQuery = Type.Object({
  ...PageQuery.properties,
  tenant: Type.Optional(Type.String({ maxLength: 128 })),
  action: Type.Optional(Type.String({ maxLength: 300 })),
  actor: Type.Optional(Type.String({ maxLength: 128 })),
});

export async function auditRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.addSchema(AuditEntryView);
  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/v1/audit-log',
    {
      schema: {
        tags: ['audit'],
        summary: 'Management calls, newest first (operator only)',
        querystring: AuditQuery,
        response: { 200: pageOf(Type.Ref('AuditEntry')), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      const q = req.query;
      const page = await listAudit(
        ctx.db,
        {
          ...(q.tenant !== undefined && { tenantId: q.tenant }),
          ...(q.action !== undefined && { action: q.action }),
          ...(q.actor !== undefined && { actor: q.actor }),
        },
        q.limit ?? 50,
        q.cursor,
      );
      if (!page) throw badRequest('invalid_cursor', 'The cursor is not one this API handed out.');
      return page;
    },
  );
}
