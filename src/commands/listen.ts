// `tidings listen` and `tidings trigger`: webhooks on a developer's laptop that Tidings cannot
// reach. listen creates a temporary relay endpoint of the tenant (POST …/relays), opens its
// event stream (server-sent events, an outbound connection from the laptop), forwards each
// delivery to --forward-to exactly as Tidings signed it (headers and body bytes), and reports
// the local answer back (POST …/reports/{rid}), which Tidings records as the attempt: a local
// 500 is retried like any endpoint's. Ctrl-C removes the endpoint. trigger publishes the
// catalog example of a type (operator token).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { triggerPayload } from '../catalog/minimalPayload.js';
import { type Api, ApiFailure, CommandError, seg } from './api.js';
import type { Out } from './output.js';
import { type ApiFlags, apiCommand } from './run.js';

interface Relay {
  id: string;
  tenant_id: string;
  event_types: string[] | null;
  secret: string;
  stream: string;
  expires_after_s: number;
}

interface RelayMessage {
  request_id: string;
  event_type: string | null;
  headers: Record<string, string>;
  body: string;
}

interface Report {
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  error: string | null;
}

interface ListenFlags extends ApiFlags {
  forwardTo: string;
  events?: string;
  tenant?: string;
  profile?: string;
  timeout: string;
}

/** What is kept of the local answer (the attempt keeps 4 KiB). */
const REPORT_BODY = 4096;

/** The tenant a command acts on: --tenant, or the tenant token's own. */
async function tenantOf(api: Api, given: string | undefined): Promise<string> {
  if (given) return given;
  const me = await api.call<{ kind: string; tenant_id: string | null }>('GET', '/v1/whoami');
  if (me.tenant_id) return me.tenant_id;
  throw new CommandError('tidings: with the operator token, name the tenant: --tenant TENANT', 2);
}

export function registerListenCommands(program: Command, out: Out): void {
  apiCommand(
    program
      .command('listen')
      .description(
        "receive a tenant's webhooks on this machine: a temporary endpoint whose deliveries come through an outbound stream and are forwarded to a local URL",
      )
      .requiredOption('--forward-to <url>', 'where to POST each delivery, e.g. http://localhost:3000/hooks')
      .option(
        '--events <types>',
        'comma-separated event types (or topic.* patterns); default: the default-enabled ones',
      )
      .option('--tenant <tid>', 'the tenant (needed with the operator token)')
      .option('--profile <name>', 'wire profile of the deliveries (default standard)')
      .option('--timeout <s>', 'how long the local URL may take to answer', '10'),
    out,
    (api, f: ListenFlags) => listen(api, f, out),
  );

  apiCommand(
    program
      .command('trigger <type>')
      .description(
        "publish the catalog's example of an event type (or a minimal payload its schema accepts) to a tenant",
      )
      .option('--tenant <tid>', 'the tenant (default: the tenant of a tenant token)')
      .option('--payload <json>', 'publish this payload instead'),
    out,
    async (api, f: ApiFlags & { tenant?: string; payload?: string }, type: string) => {
      const tenant = await tenantOf(api, f.tenant);
      let chosen: ReturnType<typeof triggerPayload>;
      if (f.payload !== undefined) {
        try {
          chosen = { payload: JSON.parse(f.payload), source: 'example' };
        } catch (err) {
          throw new CommandError(`tidings: --payload is not JSON: ${(err as Error).message}`, 2);
        }
      } else {
        const catalog = await api.call<{ data: { name: string; schema: unknown; examples?: unknown }[] }>(
          'GET',
          '/v1/event-types',
        );
        const t = catalog.data.find((x) => x.name === type);
        if (!t) throw new CommandError(`tidings: no event type "${type}" in the catalog`);
        chosen = triggerPayload(t);
      }
      let published: { id: string; deliveries: number };
      try {
        published = await api.call<{ id: string; deliveries: number }>(
          'POST',
          `/v1/tenants/${seg(tenant)}/events`,
          {
            type,
            payload: chosen.payload,
          },
        );
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 403) {
          throw new CommandError('tidings: publishing needs the operator token (TIDINGS_TOKEN)');
        }
        throw err;
      }
      const from =
        f.payload !== undefined
          ? 'the given payload'
          : {
              example: 'the catalog example',
              schema: 'a minimal payload built from the schema',
              empty: '{} (no example, no schema)',
            }[chosen.source];
      if (f.json)
        out.line(
          JSON.stringify({ ...published, tenant, type, payload: chosen.payload, source: chosen.source }),
        );
      else
        out.line(
          `published ${published.id} (${type}, ${from}) to ${tenant}: ${published.deliveries} deliveries`,
        );
    },
  );
}

async function listen(api: Api, f: ListenFlags, out: Out): Promise<void> {
  let target: URL;
  try {
    target = new URL(f.forwardTo);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new CommandError(`tidings: --forward-to ${f.forwardTo} is not an http(s) URL`, 2);
  }
  const timeoutMs = Math.max(1, Number(f.timeout) || 10) * 1000;
  const tenant = await tenantOf(api, f.tenant);
  const events = f.events
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const relay = await api.call<Relay>('POST', `/v1/tenants/${seg(tenant)}/relays`, {
    ...(events ? { event_types: events } : {}),
    ...(f.profile ? { profile: f.profile } : {}),
  });
  const stop = new AbortController();
  const say = (human: string, json: Record<string, unknown>) =>
    out.line(f.json ? JSON.stringify(json) : human);

  // Ctrl-C (or a service manager's SIGTERM): stop forwarding and remove the endpoint.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const streaming = stream(api, relay, target, timeoutMs, stop.signal, say);
  const ended = await Promise.race([stopped, streaming]);
  stop.abort();
  try {
    await api.call('DELETE', `/v1/tenants/${seg(tenant)}/relays/${seg(relay.id)}`);
    say(`removed the relay endpoint ${relay.id}`, { event: 'removed', endpoint_id: relay.id });
  } catch (err) {
    if (!(err instanceof ApiFailure && err.status === 404)) throw err;
  }
  if (ended !== 'SIGINT' && ended !== 'SIGTERM') throw new CommandError(`tidings: ${ended}`);
}

/** Keeps the stream open (reconnecting after a break) until stopped; resolves with why it gave up. */
async function stream(
  api: Api,
  relay: Relay,
  target: URL,
  timeoutMs: number,
  signal: AbortSignal,
  say: (human: string, json: Record<string, unknown>) => void,
): Promise<string> {
  let ready = false;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const res = await api.open(relay.stream, signal);
      if (res.status === 404) return `the relay endpoint ${relay.id} is gone (expired?)`;
      if (res.status >= 500 || res.status === 429) {
        await res.body?.cancel();
        throw new Error(`the stream answered ${res.status}`);
      }
      if (!res.ok || !res.body) return `the stream answered ${res.status}: ${await res.text()}`;
      for await (const ev of serverSentEvents(res.body)) {
        if (ev.event === 'ready') {
          failures = 0;
          if (!ready) {
            ready = true;
            const types = relay.event_types?.join(', ') ?? 'the default-enabled event types';
            say(
              `Ready. Forwarding ${types} of tenant ${relay.tenant_id} to ${target.href}\n` +
                `Relay endpoint ${relay.id}; deliveries are signed with ${relay.secret}\n` +
                'Ctrl-C stops and removes the endpoint.',
              {
                event: 'ready',
                endpoint_id: relay.id,
                tenant_id: relay.tenant_id,
                secret: relay.secret,
                forward_to: target.href,
              },
            );
          } else say('reconnected', { event: 'reconnected', endpoint_id: relay.id });
        } else if (ev.event === 'delivery') {
          void relayOne(api, relay, target, timeoutMs, JSON.parse(ev.data) as RelayMessage, say);
        }
      }
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof CommandError) throw err;
      say(`stream interrupted: ${(err as Error).message}`, {
        event: 'interrupted',
        error: (err as Error).message,
      });
    }
    if (signal.aborted) break;
    failures += 1;
    await sleep(Math.min(10_000, 500 * 2 ** Math.min(failures, 5)), undefined, { signal }).catch(() => {});
  }
  return 'stopped';
}

async function relayOne(
  api: Api,
  relay: Relay,
  target: URL,
  timeoutMs: number,
  m: RelayMessage,
  say: (human: string, json: Record<string, unknown>) => void,
): Promise<void> {
  const started = performance.now();
  const report = await forward(target, m, timeoutMs);
  const ms = Math.round(performance.now() - started);
  const id = m.headers['webhook-id'] ?? '';
  say(
    `${new Date().toISOString()}  ${m.event_type ?? '?'}  ${id}  -> ${report.status ?? report.error} (${ms} ms)`,
    {
      event: 'delivery',
      request_id: m.request_id,
      event_type: m.event_type,
      webhook_id: id,
      status: report.status,
      error: report.error,
      duration_ms: ms,
    },
  );
  try {
    await api.call(
      'POST',
      `/v1/tenants/${seg(relay.tenant_id)}/relays/${seg(relay.id)}/reports/${seg(m.request_id)}`,
      report,
    );
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    say(`  the report on ${id} was not taken: ${why}`, {
      event: 'report_refused',
      request_id: m.request_id,
      error: why,
    });
  }
}

/** POSTs the request as Tidings signed it, and says what the local URL answered. */
async function forward(target: URL, m: RelayMessage, timeoutMs: number): Promise<Report> {
  try {
    const res = await fetch(target, {
      method: 'POST',
      headers: m.headers,
      body: m.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.text()).slice(0, REPORT_BODY);
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      headers[name] = value;
    });
    // The API refuses NUL characters; a binary answer is kept readable.
    return { status: res.status, headers, body: text.replaceAll('\u0000', '\uFFFD'), error: null };
  } catch (err) {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const error =
      e.name === 'TimeoutError'
        ? `timeout: the local URL did not answer within ${timeoutMs} ms`
        : `${e.cause?.code ? `${e.cause.code}: ` : ''}${e.cause?.message ?? e.message ?? String(err)}`;
    return { status: null, headers: null, body: null, error: `local: ${error}` };
  }
}

interface ServerSentEvent {
  event: string;
  data: string;
}

/** The events of a text/event-stream body (comments and retry fields skipped). */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replaceAll('\r\n', '\n');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}
