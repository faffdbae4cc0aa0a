// What a caller may see of personal data (catalog/redact.ts): tenant principals (tenant
// tokens, portal sessions) see the catalog's `redact` pointers as "[redacted]"; the operator
// token sees the payload as published.
import { redactJsonText, redactPayload } from '../catalog/redact.js';
import type { Principal } from './auth.js';
import type { ApiContext } from './context.js';

/** Whether this caller gets redacted views. */
export function seesRedacted(p: Principal | null): boolean {
  return p?.kind !== 'admin';
}

/** Each type's redact pointers (for types that have some), from the catalog cache. */
export async function redactionsOf(ctx: ApiContext, types: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (types.length === 0) return out;
  for (const [name, c] of await ctx.eventTypes.get(types)) {
    if (c.type.redact && c.type.redact.length > 0) out.set(name, c.type.redact);
  }
  return out;
}

/** Events (anything with a type and a parsed payload) as this caller may see them. */
export async function redactEvents<T extends { type: string; payload: unknown }>(
  ctx: ApiContext,
  p: Principal | null,
  events: T[],
): Promise<T[]> {
  if (!seesRedacted(p)) return events;
  const rules = await redactionsOf(ctx, [...new Set(events.map((e) => e.type))]);
  if (rules.size === 0) return events;
  return events.map((e) => {
    const pointers = rules.get(e.type);
    return pointers ? { ...e, payload: redactPayload(e.payload, pointers) } : e;
  });
}

/** A request body of `type` sent by `profile`'s envelope, as this caller may see it. */
export async function redactBody(
  ctx: ApiContext,
  p: Principal | null,
  type: string,
  payloadAt: string | readonly string[],
  body: string,
): Promise<{ body: string; redacted: boolean }> {
  if (!seesRedacted(p)) return { body, redacted: false };
  const pointers = (await redactionsOf(ctx, [type])).get(type);
  const shown = redactJsonText(body, pointers, payloadAt);
  return { body: shown, redacted: shown !== body };
}
