// `tidings tenants|endpoints|events|deliveries list|show`: what is in a deployment, through
// its API, as tables for people or JSON for scripts (--json).
import type { Command } from 'commander';
import { type Api, listAll, seg } from './api.js';
import { block, type Column, type Out, table } from './output.js';
import { type ApiFlags, apiCommand } from './run.js';

interface Tenant {
  id: string;
  name: string;
  metadata: unknown;
  created_at: string;
  updated_at: string;
}
interface Endpoint {
  id: string;
  url: string;
  description: string;
  profile: string;
  signing: string;
  ordering: string;
  disabled: boolean;
  disabled_reason: string | null;
  event_types: string[] | null;
  channels: string[] | null;
  health: { state: string; consecutive_failures: number; last_success_at: string | null };
  created_at: string;
}
interface DeliverySummary {
  id: string;
  endpoint_id: string;
  event_id?: string;
  event_type?: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
}
interface Event {
  id: string;
  type: string;
  channels: string[];
  ordering_key: string | null;
  source: string;
  created_at: string;
  payload: unknown;
  deliveries?: DeliverySummary[];
}
interface Attempt {
  attempt: number;
  started_at: string;
  duration_ms: number;
  status: number | null;
  error: string | null;
}
interface Delivery extends DeliverySummary {
  sequence: number | null;
  ordering_key: string | null;
  completed_at: string | null;
  attempt_log: Attempt[];
}

const DELIVERY_COLUMNS: Column<DeliverySummary>[] = [
  ['id', (d) => d.id],
  ['endpoint', (d) => d.endpoint_id],
  ['state', (d) => d.state],
  ['attempts', (d) => d.attempts],
  ['last status', (d) => d.last_status],
  ['next attempt', (d) => d.next_attempt_at],
];

/** Prints a list or one object, as JSON or for people. */
function show(out: Out, json: boolean, value: unknown, human: () => string): void {
  out.line(json ? JSON.stringify(value, null, 2) : human());
}

const limitOf = (v: string | undefined) =>
  v === undefined ? undefined : Math.max(1, Number.parseInt(v, 10));

export function registerResourceCommands(program: Command, out: Out): void {
  const tenants = program.command('tenants').description("the operator's tenants");
  apiCommand(
    tenants.command('list').description('list tenants').option('--limit <n>', 'at most n'),
    out,
    async (api, f: ApiFlags & { limit?: string }) => {
      const rows = await listAll<Tenant>(api, '/v1/tenants', {}, limitOf(f.limit));
      show(out, f.json === true, rows, () =>
        table(rows, [
          ['id', (t) => t.id],
          ['name', (t) => t.name],
          ['created', (t) => t.created_at],
        ]),
      );
    },
  );
  apiCommand(tenants.command('show <tid>').description('one tenant'), out, async (api, f, tid: string) => {
    const t = await api.call<Tenant>('GET', `/v1/tenants/${seg(tid)}`);
    show(out, f.json === true, t, () => block(Object.entries(t)));
  });

  const endpoints = program.command('endpoints').description("a tenant's endpoints");
  apiCommand(
    endpoints.command('list').description('list endpoints').requiredOption('--tenant <tid>', 'the tenant'),
    out,
    async (api, f: ApiFlags & { tenant: string }) => {
      const rows = await listAll<Endpoint>(api, `/v1/tenants/${seg(f.tenant)}/endpoints`, {});
      show(out, f.json === true, rows, () =>
        table(rows, [
          ['id', (e) => e.id],
          ['url', (e) => e.url],
          ['profile', (e) => e.profile],
          ['signing', (e) => e.signing],
          ['health', (e) => (e.disabled ? 'disabled' : e.health.state)],
          ['event types', (e) => e.event_types ?? 'default'],
        ]),
      );
    },
  );
  apiCommand(
    endpoints
      .command('show <eid>')
      .description('one endpoint')
      .requiredOption('--tenant <tid>', 'the tenant'),
    out,
    async (api, f: ApiFlags & { tenant: string }, eid: string) => {
      const e = await api.call<Endpoint>('GET', `/v1/tenants/${seg(f.tenant)}/endpoints/${seg(eid)}`);
      show(out, f.json === true, e, () => block(Object.entries(e)));
    },
  );

  const events = program.command('events').description("a tenant's events");
  apiCommand(
    events
      .command('list')
      .description('list events, newest first')
      .requiredOption('--tenant <tid>', 'the tenant')
      .option('--type <type>', 'of this event type only')
      .option('--channel <channel>', 'on this channel only')
      .option('--since <time>', 'created at or after this ISO time')
      .option('--undelivered', 'only events with a delivery that has not succeeded')
      .option('--limit <n>', 'at most n (default 50)', '50'),
    out,
    async (
      api,
      f: ApiFlags & {
        tenant: string;
        type?: string;
        channel?: string;
        since?: string;
        undelivered?: boolean;
        limit: string;
      },
    ) => {
      const rows = await listAll<Event>(
        api,
        `/v1/tenants/${seg(f.tenant)}/events`,
        {
          type: f.type,
          channel: f.channel,
          created_after: f.since,
          delivery_success: f.undelivered ? false : undefined,
        },
        limitOf(f.limit),
      );
      show(out, f.json === true, rows, () =>
        table(rows, [
          ['id', (e) => e.id],
          ['type', (e) => e.type],
          ['created', (e) => e.created_at],
          ['channels', (e) => e.channels],
        ]),
      );
    },
  );
  apiCommand(
    events
      .command('show <id>')
      .description('an event and its deliveries')
      .requiredOption('--tenant <tid>', 'the tenant'),
    out,
    async (api, f: ApiFlags & { tenant: string }, id: string) => {
      const e = await api.call<Event>('GET', `/v1/tenants/${seg(f.tenant)}/events/${seg(id)}`);
      show(out, f.json === true, e, () => {
        const { deliveries = [], ...rest } = e;
        return `${block(Object.entries(rest))}\n\n${table(deliveries, DELIVERY_COLUMNS)}`;
      });
    },
  );

  const deliveries = program.command('deliveries').description('deliveries: one event owed to one endpoint');
  apiCommand(
    deliveries
      .command('list')
      .description("an endpoint's deliveries, newest first")
      .requiredOption('--tenant <tid>', 'the tenant')
      .requiredOption('--endpoint <eid>', 'the endpoint')
      .option('--state <state>', 'pending, delivering, succeeded, failed or cancelled')
      .option('--failing', 'only those whose last attempt failed (given up or retrying)')
      .option('--type <type>', 'of this event type only')
      .option('--since <time>', 'created at or after this ISO time')
      .option('--limit <n>', 'at most n (default 50)', '50'),
    out,
    async (
      api,
      f: ApiFlags & {
        tenant: string;
        endpoint: string;
        state?: string;
        failing?: boolean;
        type?: string;
        since?: string;
        limit: string;
      },
    ) => {
      const rows = await listDeliveries(
        api,
        f.tenant,
        f.endpoint,
        {
          state: f.state,
          failed: f.failing ? true : undefined,
          event_type: f.type,
          created_after: f.since,
        },
        limitOf(f.limit),
      );
      show(out, f.json === true, rows, () =>
        table(rows, [
          ['id', (d) => d.id],
          ['event', (d) => d.event_id],
          ['type', (d) => d.event_type],
          ['state', (d) => d.state],
          ['attempts', (d) => d.attempts],
          ['last status', (d) => d.last_status],
          ['created', (d) => d.created_at],
        ]),
      );
    },
  );
  apiCommand(
    deliveries
      .command('show <did>')
      .description('a delivery with every attempt')
      .requiredOption('--tenant <tid>', 'the tenant'),
    out,
    async (api, f: ApiFlags & { tenant: string }, did: string) => {
      const d = await api.call<Delivery>('GET', `/v1/tenants/${seg(f.tenant)}/deliveries/${seg(did)}`);
      show(out, f.json === true, d, () => {
        const { attempt_log, ...rest } = d;
        return `${block(Object.entries(rest))}\n\n${table(attempt_log, [
          ['attempt', (a) => a.attempt],
          ['started', (a) => a.started_at],
          ['status', (a) => a.status],
          ['ms', (a) => a.duration_ms],
          ['error', (a) => a.error],
        ])}`;
      });
    },
  );
}

export function listDeliveries(
  api: Api,
  tid: string,
  eid: string,
  filters: Record<string, string | boolean | undefined>,
  limit?: number,
): Promise<DeliverySummary[]> {
  return listAll<DeliverySummary>(
    api,
    `/v1/tenants/${seg(tid)}/endpoints/${seg(eid)}/deliveries`,
    filters,
    limit,
  );
}
