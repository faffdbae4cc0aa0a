// One signed webhook POST with undici: the work the ceiling does per request and the pg-boss
// baseline's worker does per job. Builds the `standard` envelope, signs it (HMAC-SHA256,
// Standard Webhooks) and sends it on a keep-alive pool.
import { Pool } from 'undici';
import { EVENT_TYPE, envelope, signedHeaders } from './wire.js';

export function deliveryPool(origin: string, connections: number, timeoutMs: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    // Waiting longer than this for the answer counts as a failed attempt, like the service's timeout.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

export interface PostOutcome {
  ok: boolean;
  status?: number;
  error?: string;
}

export async function postWebhook(
  pool: Pool,
  path: string,
  id: string,
  payload: string,
  createdAt: Date,
): Promise<PostOutcome> {
  const body = envelope(EVENT_TYPE, createdAt, payload);
  try {
    const res = await pool.request({ path, method: 'POST', headers: signedHeaders(id, body), body });
    await res.body.dump();
    return { ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
