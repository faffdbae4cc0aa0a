// The audit log: every management call (who, what, when, from where), written after the
// answer is sent so it never slows or fails the call itself. Reads are not recorded, except
// revealing a secret; publishing events and anchors is the data plane (the events table is
// its record) and is not recorded either. Calls without a valid token are refused before
// they act and leave only a log line.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../store/audit.js';
import type { ApiContext, App } from './context.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DATA_PLANE = [
  /^POST \/v1\/tenants\/:tid\/events(\/batch)?$/,
  /^(PUT|POST) \/v1\/tenants\/:tid\/anchors(\/|$)/,
  // `tidings listen` reporting a local answer: the attempt is its record.
  /^POST \/v1\/tenants\/:tid\/relays\/:eid\/reports\/:rid$/,
];
const SENSITIVE_READS = [/^GET \/v1\/.*\/secret$/];

export function auditAction(method: string, route: string): string | undefined {
  if (!route.startsWith('/v1/')) return undefined;
  const action = `${method} ${route}`;
  if (WRITE_METHODS.has(method)) return DATA_PLANE.some((r) => r.test(action)) ? undefined : action;
  return SENSITIVE_READS.some((r) => r.test(action)) ? action : undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The id of what a management call created, for its audit record. */
    auditCreatedId?: string;
  }
}

function createdId(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 64 * 1024) return undefined;
  try {
    const body = JSON.parse(payload) as { id?: unknown };
    return typeof body.id === 'string' ? body.id : undefined;
  } catch {
    return undefined;
  }
}

export function registerAudit(app: App, ctx: ApiContext): void {
  const pending = new Set<Promise<void>>();
  const actionOf = (req: FastifyRequest) =>
    req.principal && req.routeOptions.url ? auditAction(req.method, req.routeOptions.url) : undefined;

  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (reply.statusCode === 201 && actionOf(req)) req.auditCreatedId = createdId(payload);
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const action = actionOf(req);
    const p = req.principal;
    if (!action || !p) return;
    const params = { ...(req.params as Record<string, string> | undefined) };
    const target: Record<string, string> = { ...params };
    if (req.auditCreatedId) target.created_id = req.auditCreatedId;
    const write = recordAudit(ctx.db, {
      at: ctx.clock.now(),
      actor: p.kind === 'admin' ? 'admin' : p.tokenId,
      actor_tenant_id: p.kind === 'tenant' ? p.tenantId : null,
      tenant_id: params.tid ?? null,
      action,
      target,
      status: reply.statusCode,
      ip: req.ip ?? null,
      request_id: req.id,
    })
      .catch((err: unknown) =>
        req.log.error({ err: String(err), action }, 'could not write the audit record'),
      )
      .finally(() => pending.delete(write));
    pending.add(write);
  });

  // Records of the last calls are written before the store closes.
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });
}
