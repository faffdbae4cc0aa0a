// PUT /v1/catalog: a whole catalog file in one call and one transaction, so a broken file is
// refused whole and the catalog already in force stays. `tidings catalog load --url` uses it.
import { type Static, Type } from 'typebox';
import { loadCatalogIntoStore } from '../../catalog/load.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../../json/depth.js';
import { requireAdmin } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { ApiError, unprocessable } from '../errors.js';
import { errors } from '../schemas.js';

const CatalogQuery = Type.Object({
  file: Type.Optional(
    Type.String({ minLength: 1, maxLength: 300, description: 'Names the file in error messages' }),
  ),
});

const CatalogLoadAnswer = Type.Object({
  name: Type.String({ description: "The catalog's name" }),
  created: Type.Array(Type.String()),
  updated: Type.Array(Type.String()),
  unchanged: Type.Array(Type.String()),
});

export async function catalogRoutes(app: App, ctx: ApiContext): Promise<void> {
  // Its own JSON parser: the file's text goes to the catalog parser as it is, so even a
  // syntax error is answered with its line and column.
  await app.register(async (scope: App) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      req.rawBody = body as string;
      done(null, body);
    });
    scope.put<{ Querystring: Static<typeof CatalogQuery> }>(
      '/v1/catalog',
      {
        schema: {
          tags: ['catalog'],
          summary: 'Upsert a whole catalog file (catalogs/*.json) in one transaction',
          description:
            'The body is a catalog file (catalogs/catalog.schema.json). Every type is upserted by name; loading the same file again changes nothing. A file with any problem is refused whole (422), each problem with its line, column and JSON path.',
          querystring: CatalogQuery,
          response: { 200: CatalogLoadAnswer, ...errors(400, 401, 403, 413, 422) },
        },
      },
      async (req) => {
        requireAdmin(req.principal);
        const text = req.rawBody ?? '';
        // The same nesting limit as every other JSON body (server.ts), though this one skips its parser.
        const depth = jsonTextDepth(text);
        if (depth > MAX_JSON_DEPTH) {
          throw new ApiError(400, 'json_too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);
        }
        const result = await loadCatalogIntoStore(ctx.db, text, req.query.file ?? 'catalog', ctx.clock.now());
        if (!result.ok) {
          const more = result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : '';
          throw unprocessable('invalid_catalog', `The catalog is refused: ${result.errors[0]}${more}.`, {
            errors: result.errors,
          });
        }
        ctx.eventTypes.invalidate();
        const { ok: _ok, ...summary } = result;
        return summary;
      },
    );
  });
}
