// One HTTP POST of one delivery. Returns what happened as a value, never throws: the worker
// loop records every outcome the same way. Redirects are not followed (undici's request
// does not follow them; a 3xx is a failure like any other non-2xx).
import { type Dispatcher, request } from 'undici';

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
  timeoutMs: number;
  /** Response bytes kept. */
  bodyLimit: number;
  /**
   * The attempt's own deadline, when the caller has one already (destinations/types.ts): one
   * timer per attempt instead of two. Without it, a timer of timeoutMs.
   */
  signal?: AbortSignal;
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  error: string | null;
  durationMs: number;
}

export async function send(dispatcher: Dispatcher, req: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const signal = req.signal ?? AbortSignal.timeout(req.timeoutMs);
  try {
    const res = await request(req.url, {
      dispatcher,
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal,
    });
    const body = await readCapped(res.body, req.bodyLimit);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return {
      ok,
      status: res.statusCode,
      headers,
      body,
      error: ok ? null : `HTTP ${res.statusCode}`,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    return {
      ok: false,
      status: null,
      headers: null,
      body: null,
      error: describeError(err, signal, req.timeoutMs),
      durationMs: Math.round(performance.now() - started),
    };
  }
}

/** Keeps the first `limit` bytes and throws the rest away without holding it in memory. */
async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size < limit) chunks.push(buf.subarray(0, limit - size));
    size += buf.length;
    if (size >= limit) break;
  }
  if (size >= limit) await body.dump({ limit: 1024 * 1024 }).catch(() => {});
  return Buffer.concat(chunks).toString('utf8');
}

function describeError(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `timeout: no complete answer within ${timeoutMs} ms`;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const message = e.cause?.message ?? e.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
