// The HTTP API: Fastify with TypeBox schemas, which give validation, TypeScript types and
// the OpenAPI document (/openapi.json, browsable at /docs) from one definition.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify, { type FastifyError, type FastifyRequest, LogController } from 'fastify';
import { jsonDepth, MAX_JSON_DEPTH } from '../json/depth.js';
import { PublishRefused } from '../publishing/publish.js';
import { registerAudit } from './audit.js';
import { bearerToken, hashToken, type Principal, sameHash } from './auth.js';
import type { ApiContext, App } from './context.js';
import { DATE_RANGE_TEXT, isStorableDateTime } from './dates.js';
import { ApiError } from './errors.js';
import { frameworkError, frameworkErrors } from './frameworkErrors.js';
import { registerInputGuard } from './inputGuard.js';
import { swaggerOptions } from './openapi/document.js';
import { registerRateLimit } from './rateLimit.js';
import { registerRequestId, requestId } from './requestId.js';
import { auditRoutes } from './routes/audit.js';
import { catalogRoutes } from './routes/catalog.js';
import { Attempt, DeliveryDetail, deliveryRoutes } from './routes/deliveries.js';
import { deliveryListRoutes } from './routes/deliveryLists.js';
import { endpointCertificateRoutes } from './routes/endpointCertificates.js';
import { endpointDefaultsRoutes } from './routes/endpointDefaults.js';
import { endpointSecretRoutes } from './routes/endpointSecrets.js';
import { endpointStatsRoutes } from './routes/endpointStats.js';
import { EndpointView, EndpointWithSecret, endpointRoutes } from './routes/endpoints.js';
import { eventExportRoutes } from './routes/eventExport.js';
import {
  BatchAnswer,
  DeliverySummary,
  EventDetail,
  EventView,
  eventRoutes,
  PublishAnswer,
} from './routes/events.js';
import { EventTypeView, eventTypeRoutes } from './routes/eventTypes.js';
import { healthRoutes } from './routes/health.js';
import { reconcileRoutes } from './routes/reconcile.js';
import { recoveryRoutes } from './routes/recovery.js';
import { relayRoutes } from './routes/relays.js';
import { reminderRoutes } from './routes/reminders.js';
import { TenantView, tenantRoutes } from './routes/tenants.js';
import { tokenRoutes } from './routes/tokens.js';
import { ErrorBody } from './schemas.js';
import { storeRefusal } from './storeErrors.js';
import { registerTenantScope } from './tenantScope.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Resolves a non-admin token (tenant tokens); none by default. */
export type TokenResolver = (tokenHash: string, req: FastifyRequest) => Promise<Principal | null>;

export interface ServerOptions {
  resolveToken?: TokenResolver;
  /** Resolves a request without a bearer token (the portal's session cookie + CSRF header). */
  resolveSession?: (req: FastifyRequest) => Promise<Principal | null>;
  /** Extra route plugins (portal, reminders, …) registered after the core ones. */
  plugins?: ((app: App, ctx: ApiContext) => Promise<void>)[];
}

export async function buildServer(ctx: ApiContext, opts: ServerOptions = {}): Promise<App> {
  const app = Fastify({
    loggerInstance: ctx.log,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    frameworkErrors,
    genReqId: requestId,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  registerRequestId(app);

  // Bodies are checked strictly (a number is not a string); query strings, path parameters
  // and headers arrive as text and are coerced to the declared types.
  const strict = validatorAjv(false);
  const coercing = validatorAjv('array');
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema),
  );

  app.decorateRequest('principal', null);
  app.decorateRequest('rawBody', undefined);

  // JSON bodies are kept as text too: payloads go out exactly as they came in.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    req.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      // Prototype pollution: a "__proto__" key never reaches a handler (the raw text is kept as sent).
      const parsed = text.includes('"__proto__"')
        ? JSON.parse(text, (key, value) => (key === '__proto__' ? undefined : value))
        : JSON.parse(text);
      if (jsonDepth(parsed) > MAX_JSON_DEPTH) {
        return done(
          new ApiError(400, 'json_too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH} levels.`),
          undefined,
        );
      }
      done(null, parsed);
    } catch (err) {
      done(
        new ApiError(400, 'malformed_json', `The body is not valid JSON: ${(err as Error).message}`),
        undefined,
      );
    }
  });

  for (const schema of [
    ErrorBody,
    TenantView,
    EndpointView,
    EndpointWithSecret,
    EventTypeView,
    PublishAnswer,
    BatchAnswer,
    DeliverySummary,
    EventView,
    EventDetail,
    Attempt,
    DeliveryDetail,
  ]) {
    app.addSchema(schema);
  }

  await app.register(swagger, swaggerOptions(ctx.config));
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // Without TIDINGS_PUBLIC_URL the document names the address it was fetched from.
  app.get('/openapi.json', { schema: { hide: true } }, async (req) => ({
    ...app.swagger(),
    ...(ctx.config.publicUrl
      ? {}
      : { servers: [{ url: `${req.protocol}://${req.host}`, description: 'This deployment' }] }),
  }));

  app.addHook('onRequest', async (req) => {
    // Health and docs answer everyone the same: a token there is not even looked at, so a
    // probe or a browser holding a stale one is never turned away (issue 13).
    if (isPublicRoute(req.routeOptions.url)) return;
    const token = bearerToken(req);
    if (!token) {
      if (opts.resolveSession) req.principal = await opts.resolveSession(req);
      return;
    }
    const hash = hashToken(token);
    if (sameHash(hash, ctx.adminTokenHash)) req.principal = { kind: 'admin' };
    else if (opts.resolveToken) req.principal = await opts.resolveToken(hash, req);
    if (!req.principal) throw new ApiError(401, 'unauthorized', 'The token is not valid.');
  });
  // After the principal is known: per-token rate limit, tenant scoping, audit (src/api/*.ts).
  registerRateLimit(app, ctx.config.rateLimitPerS);
  registerTenantScope(app);
  registerAudit(app, ctx);
  registerInputGuard(app);

  app.setErrorHandler((err: FastifyError | ApiError | PublishRefused, req, reply) => {
    if (err instanceof PublishRefused) {
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err instanceof ApiError) {
      return reply
        .code(err.status)
        .headers(err.headers)
        .send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err.validation) {
      const where = err.validationContext ?? 'body';
      const details = err.validation.map((v) => ({
        path: `${where}${v.instancePath || ''}${
          v.keyword === 'required'
            ? `/${(v.params as { missingProperty: string }).missingProperty}`
            : v.keyword === 'additionalProperties'
              ? `/${(v.params as { additionalProperty: string }).additionalProperty}`
              : ''
        }`,
        message:
          v.keyword === 'format' && (v.params as { format?: string }).format === 'date-time'
            ? `must be an RFC 3339 date-time ${DATE_RANGE_TEXT}`
            : (v.message ?? v.keyword),
      }));
      const status = where === 'body' ? 422 : 400;
      return reply.code(status).send({
        error: {
          code: where === 'body' ? 'invalid_request' : `invalid_${where}`,
          message: details.map((d) => `${d.path} ${d.message}`).join('; '),
          details,
        },
      });
    }
    // Fastify's own 4xx errors (415, 413, a bad Content-Length) in our shape and with our codes.
    const known = frameworkError(err);
    if (known) {
      return reply
        .code(known.status)
        .send({ error: { code: known.code, message: known.message, details: null } });
    }
    const refused = storeRefusal(err);
    if (refused) {
      req.log.warn(
        { err, url: req.url, method: req.method },
        'the store refused a value the API let through',
      );
      return reply
        .code(refused.status)
        .send({ error: { code: refused.code, message: refused.message, details: refused.details } });
    }
    req.log.error({ err, url: req.url, method: req.method }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: 'internal', message: 'Something went wrong on our side.', details: null } });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: { code: 'route_not_found', message: `No route ${req.method} ${req.url}.`, details: null },
    }),
  );

  await healthRoutes(app, ctx);
  await eventTypeRoutes(app, ctx);
  await catalogRoutes(app, ctx);
  await tenantRoutes(app, ctx);
  await endpointRoutes(app, ctx);
  await endpointSecretRoutes(app, ctx);
  await endpointCertificateRoutes(app, ctx);
  await endpointDefaultsRoutes(app, ctx);
  await eventExportRoutes(app, ctx);
  await eventRoutes(app, ctx);
  await deliveryRoutes(app, ctx);
  await recoveryRoutes(app, ctx);
  await deliveryListRoutes(app, ctx);
  await endpointStatsRoutes(app, ctx);
  await reconcileRoutes(app, ctx);
  await tokenRoutes(app, ctx);
  await auditRoutes(app, ctx);
  await reminderRoutes(app, ctx);
  await relayRoutes(app, ctx);
  for (const plugin of opts.plugins ?? []) await plugin(app, ctx);
  return app;
}

function isPublicRoute(route: string | undefined): boolean {
  return (
    route === '/healthz' ||
    route === '/readyz' ||
    route === '/openapi.json' ||
    route === '/docs' ||
    route?.startsWith('/docs/') === true
  );
}

function validatorAjv(coerceTypes: false | 'array'): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
  });
  addFormats(ajv);
  // date-time as both engines can store it (see dates.ts).
  ajv.addFormat('date-time', { type: 'string', validate: isStorableDateTime });
  return ajv;
}
