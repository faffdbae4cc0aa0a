// GET /v1/tenants/{tid}/endpoint-defaults: what an endpoint gets when created without saying,
// as the loaded catalog sets it (catalog.schema.json's endpoint_defaults). The portal reads it
// to preselect, or fix, the payload format of its endpoint form.
import { type Static, Type } from 'typebox';
import { getEndpointDefaults } from '../../store/endpointDefaults.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { errors, TenantParams, WireProfileName } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

const EndpointDefaultsView = Type.Object({
  profile: WireProfileName,
  locked: Type.Boolean({ description: 'true: a tenant cannot choose another profile (422 profile_locked)' }),
  catalog: Type.Union([Type.String(), Type.Null()], {
    description: 'The catalog that sets them; null: none does (standard, any profile)',
  }),
});

export async function endpointDefaultsRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.get<{ Params: Static<typeof TenantParams> }>(
    '/v1/tenants/:tid/endpoint-defaults',
    {
      schema: {
        tags: ['endpoints'],
        summary: 'The profile a new endpoint gets, and whether it may be changed',
        params: TenantParams,
        response: { 200: EndpointDefaultsView, ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      await ensureTenant(ctx, req.params.tid);
      const d = await getEndpointDefaults(ctx.db);
      return { profile: d?.profile ?? 'standard', locked: d?.locked ?? false, catalog: d?.catalog ?? null };
    },
  );
}
