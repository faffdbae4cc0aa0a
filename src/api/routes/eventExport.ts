// GET /v1/tenants/{tid}/events/export: the record of a window, streamed (see ../eventExport.ts).
import { type Static, Type } from 'typebox';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { unprocessable } from '../errors.js';
import {
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportRequest,
  exportContentType,
  exportFileName,
  exportStream,
} from '../eventExport.js';
import { errors, TenantParams } from '../schemas.js';
import { ensureTenant } from './endpoints.js';

const ExportQuery = Type.Object({
  since: Type.String({ format: 'date-time', description: 'Events created at or after this time' }),
  until: Type.String({ format: 'date-time', description: 'and before this time (exclusive)' }),
  format: Type.Optional(
    Type.Union(
      EXPORT_FORMATS.map((f) => Type.Literal(f)),
      { default: 'jsonl', description: 'jsonl (one JSON object a line, the default) or csv' },
    ),
  ),
});

const LINE_DESCRIPTION =
  'One line per event, oldest first: id, type, created_at, channels, payload_sha256 (sha256 of the payload text as published) and, per endpoint, the delivery’s final state, its attempt count and when the successful attempt started.';

const ExportLine = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    channels: Type.Array(Type.String()),
    payload_sha256: Type.String(),
    deliveries: Type.Array(
      Type.Object({
        endpoint_id: Type.String(),
        state: Type.String(),
        attempts: Type.Integer(),
        succeeded_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      }),
    ),
  },
  { description: LINE_DESCRIPTION },
);

/** Checks a window and builds the request; the portal's download uses it too. */
export function exportRequest(
  tenantId: string,
  since: Date,
  until: Date,
  format: ExportFormat = 'jsonl',
): ExportRequest {
  if (until <= since) {
    throw unprocessable('invalid_window', '`until` must be later than `since`.', {
      path: 'querystring/until',
    });
  }
  return { tenantId, since, until, format };
}

export async function eventExportRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof ExportQuery> }>(
    '/v1/tenants/:tid/events/export',
    {
      schema: {
        tags: ['events'],
        summary: "Export a window of the tenant's record, streamed: one line per event",
        description: `${LINE_DESCRIPTION} CSV has a header row and three columns per endpoint (\`<endpoint>.state\`, \`.attempts\`, \`.succeeded_at\`); channels are a JSON array. Streamed in constant memory however large the window.`,
        params: TenantParams,
        querystring: ExportQuery,
        response: {
          200: {
            description: 'The export, streamed',
            content: {
              'application/x-ndjson': { schema: ExportLine },
              'text/csv': { schema: Type.String({ description: 'A header row, then one row per event' }) },
            },
          },
          ...errors(400, 401, 404, 422),
        },
      },
    },
    async (req, reply) => {
      const { tid } = req.params;
      requireTenant(req.principal, tid);
      const r = exportRequest(tid, new Date(req.query.since), new Date(req.query.until), req.query.format);
      await ensureTenant(ctx, tid);
      return reply
        .header('content-type', exportContentType(r.format))
        .header('content-disposition', `attachment; filename="${exportFileName(r)}"`)
        .header('cache-control', 'no-store')
        .send(exportStream(ctx.db, r));
    },
  );
}
