// The one narrow interface between the worker and every kind of destination. The worker builds
// the request (body, Standard Webhooks headers, static headers: delivery/request.ts and the
// profiles) exactly as for an HTTP POST; a destination puts it on its wire and answers with a
// SendResult, never a throw.
import type { EndpointTarget } from '../../store/endpointTargets.js';
import type { SendResult } from '../sender.js';

export type { EndpointTarget } from '../../store/endpointTargets.js';
export type { SendResult } from '../sender.js';

export interface OutboundRequest {
  headers: Record<string, string>;
  body: string | Uint8Array;
  /** The whole attempt, token request and retries included, must fit in this. */
  timeoutMs: number;
  /** Response bytes kept (HTTP). */
  bodyLimit: number;
  /** The event's type, for subjects, routing keys and stream keys that contain {type}. */
  eventType?: string;
}

export type DestinationKind = 'http' | 'nats' | 'amqp' | 'redis' | 'relay';

export interface Destinations {
  /** Sends one request to one endpoint. Resolves with what happened; never rejects. */
  send(target: EndpointTarget, req: OutboundRequest): Promise<SendResult>;
  /** Closes every agent and broker connection (in-flight sends finish first where the client allows). */
  close(): Promise<void>;
}

/** One kind of destination (http.ts, nats.ts, amqp.ts, redis.ts). */
export interface Destination {
  send(target: EndpointTarget, req: OutboundRequest, deadline: Deadline): Promise<SendResult>;
  close(): Promise<void>;
}

/** The time left of one attempt. */
export interface Deadline {
  /** Milliseconds left (0 when passed). */
  remaining(): number;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Milliseconds since the attempt started. */
  elapsed(): number;
}

export function startDeadline(timeoutMs: number): Deadline {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  return {
    signal,
    timeoutMs,
    remaining: () => Math.max(0, Math.round(timeoutMs - (performance.now() - started))),
    elapsed: () => Math.round(performance.now() - started),
  };
}

/** A failed attempt that never got an answer. */
export function failure(error: string, deadline: Deadline): SendResult {
  return { ok: false, status: null, headers: null, body: null, error, durationMs: deadline.elapsed() };
}

/** The broker acknowledged the message; `ack` is what it said (kept as the attempt's response body). */
export function acknowledged(ack: string, deadline: Deadline): SendResult {
  return { ok: true, status: null, headers: null, body: ack, error: null, durationMs: deadline.elapsed() };
}

/** Fills {type} in a subject, routing key or stream key. */
export function expandName(template: string, eventType: string | undefined): string {
  return template.replaceAll('{type}', eventType ?? '');
}

/** Headers as broker message headers: the HTTP-only ones left out. */
export function messageHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'user-agent') continue;
    out[name] = value;
  }
  return out;
}

export function kindOfUrl(url: string): DestinationKind | undefined {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  switch (scheme) {
    case 'http':
    case 'https':
      return 'http';
    case 'nats':
      return 'nats';
    case 'amqp':
    case 'amqps':
      return 'amqp';
    case 'redis':
    case 'rediss':
      return 'redis';
    // `tidings listen` (relay/hub.ts): created by the relay routes only, never by a URL a tenant gives.
    case 'relay':
      return 'relay';
    default:
      return undefined;
  }
}

export function describeError(err: unknown): string {
  const e = err as { code?: string | number; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = e?.cause?.message ?? e?.message ?? String(err);
  return code !== undefined && !String(message).startsWith(String(code)) ? `${code}: ${message}` : message;
}

/** Races a promise against the deadline; a late answer is dropped. */
export function withinDeadline<T>(promise: Promise<T>, deadline: Deadline, what: string): Promise<T> {
  if (deadline.signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new TimeoutError(what, deadline.timeoutMs));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TimeoutError(what, deadline.timeoutMs));
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        deadline.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        deadline.signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export class TimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`timeout: ${what} within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

export function bodyBuffer(body: string | Uint8Array): Buffer {
  return typeof body === 'string'
    ? Buffer.from(body, 'utf8')
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
