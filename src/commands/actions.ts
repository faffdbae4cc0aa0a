// `tidings resend`, `tidings recover` and `tidings replay`: acting on deliveries through the
// API. They may touch many deliveries, so they show a progress bar on a terminal; with --json
// they print what happened.
import type { Command } from 'commander';
import { type Api, ApiFailure, listAll, seg } from './api.js';
import { type Out, progress } from './output.js';
import { listDeliveries } from './resources.js';
import { type ApiFlags, apiCommand } from './run.js';

interface Resent {
  id: string;
  state?: string;
  error?: { status: number; code: string; message: string };
}

export function registerActionCommands(program: Command, out: Out): void {
  apiCommand(
    program
      .command('resend [did...]')
      .description(
        'queue one more attempt now for each delivery given, or for every failed one of an endpoint',
      )
      .requiredOption('--tenant <tid>', 'the tenant')
      .option('--failed-of <eid>', 'every given-up (failed) delivery of this endpoint'),
    out,
    async (api, f: ApiFlags & { tenant: string; failedOf?: string }, ids: string[] = []) => {
      const targets = [...ids];
      if (f.failedOf) {
        const failed = await listDeliveries(api, f.tenant, f.failedOf, { state: 'failed' });
        targets.push(...failed.map((d) => d.id));
      }
      if (targets.length === 0 && !f.failedOf) {
        out.err('tidings: name deliveries to resend, or --failed-of ENDPOINT');
        process.exitCode = 2;
        return;
      }
      const bar = progress(out, 'resending', targets.length);
      const results: Resent[] = [];
      for (const id of targets) {
        try {
          const r = await api.call<{ state: string }>(
            'POST',
            `/v1/tenants/${seg(f.tenant)}/deliveries/${seg(id)}/resend`,
          );
          results.push({ id, state: r.state });
        } catch (err) {
          if (!(err instanceof ApiFailure)) throw err;
          results.push({ id, error: { status: err.status, code: err.code, message: err.message } });
        }
        bar.update(results.length);
      }
      bar.stop();
      const failed = results.filter((r) => r.error);
      if (f.json) out.line(JSON.stringify(results, null, 2));
      else {
        out.line(
          `queued ${results.length - failed.length} of ${results.length} deliveries for another attempt`,
        );
        for (const r of failed) out.line(`  ${r.id}: ${r.error!.message}`);
      }
      if (failed.length > 0) process.exitCode = 1;
    },
  );

  apiCommand(
    program
      .command('recover')
      .description('queue again every failed delivery of an endpoint since a time (and until one)')
      .requiredOption('--tenant <tid>', 'the tenant')
      .requiredOption('--endpoint <eid>', 'the endpoint')
      .requiredOption('--since <time>', 'ISO time: deliveries created at or after it')
      .option('--until <time>', 'ISO time: and before it')
      .option('--wait', 'follow them until none is still to be sent (progress bar on a terminal)')
      .option('--timeout <s>', 'with --wait: give up waiting after this many seconds', '600'),
    out,
    async (
      api,
      f: ApiFlags & {
        tenant: string;
        endpoint: string;
        since: string;
        until?: string;
        wait?: boolean;
        timeout: string;
      },
    ) => {
      const since = new Date(f.since);
      const until = f.until === undefined ? undefined : new Date(f.until);
      for (const [flag, text, t] of [
        ['--since', f.since, since],
        ['--until', f.until, until],
      ] as const) {
        if (t !== undefined && Number.isNaN(t.getTime())) {
          out.err(`tidings: ${flag} ${text} is not a time (e.g. 2026-11-24T00:00:00Z)`);
          process.exitCode = 2;
          return;
        }
      }
      const { requeued } = await api.call<{ requeued: number }>(
        'POST',
        `/v1/tenants/${seg(f.tenant)}/endpoints/${seg(f.endpoint)}/recover`,
        { since: since.toISOString(), ...(until ? { until: until.toISOString() } : {}) },
      );
      const { remaining, states } =
        f.wait && requeued > 0
          ? await follow(out, 'recovering', requeued, Number(f.timeout), () =>
              listDeliveries(api, f.tenant, f.endpoint, {
                created_after: since.toISOString(),
                ...(until ? { created_before: until.toISOString() } : {}),
              }),
            )
          : { remaining: 0, states: {} };
      const result = { requeued, ...(f.wait ? { remaining, states } : {}) };
      if (f.json) out.line(JSON.stringify(result, null, 2));
      else {
        out.line(`queued ${requeued} failed deliveries again`);
        if (f.wait) out.line(waited(remaining, states, f.timeout));
      }
      if (f.wait && remaining > 0) process.exitCode = 1;
    },
  );

  apiCommand(
    program
      .command('replay')
      .description(
        'replay the failed deliveries of a tenant (or one endpoint) in a time window, counting first',
      )
      .requiredOption('--tenant <tid>', 'the tenant')
      .option('--endpoint <eid>', 'only this endpoint')
      .requiredOption('--since <time>', 'ISO time: deliveries created at or after it')
      .option('--until <time>', 'ISO time: deliveries created before it (default: now)')
      .option('--type <type...>', 'only these event types ("topic.*" for a prefix)')
      .option('--dry-run', 'count what would be replayed, queue nothing')
      .option('--wait', 'follow them until none is still to be sent (progress bar on a terminal)')
      .option('--timeout <s>', 'with --wait: give up waiting after this many seconds', '600'),
    out,
    async (
      api,
      f: ApiFlags & {
        tenant: string;
        endpoint?: string;
        since: string;
        until?: string;
        type?: string[];
        dryRun?: boolean;
        wait?: boolean;
        timeout: string;
      },
    ) => {
      const since = new Date(f.since);
      const until = f.until ? new Date(f.until) : new Date();
      for (const [flag, t, text] of [
        ['--since', since, f.since],
        ['--until', until, f.until],
      ] as const) {
        if (Number.isNaN(t.getTime())) {
          out.err(`tidings: ${flag} ${text} is not a time (e.g. 2026-11-24T00:00:00Z)`);
          process.exitCode = 2;
          return;
        }
      }
      const body = {
        ...(f.endpoint ? { endpoint_id: f.endpoint } : {}),
        ...(f.type ? { type: f.type } : {}),
        state: 'failed',
        since: since.toISOString(),
        until: until.toISOString(),
      };
      const path = `/v1/tenants/${seg(f.tenant)}/deliveries/replay`;
      const counted = await api.call<{ matched: number }>('POST', path, { ...body, dry_run: true });
      if (!f.json) out.line(`${counted.matched} failed deliveries match`);
      if (f.dryRun || counted.matched === 0) {
        if (f.json) out.line(JSON.stringify({ matched: counted.matched, queued: 0, dry_run: true }, null, 2));
        return;
      }
      const bar = progress(out, 'queuing', counted.matched);
      const r = await api.call<{ matched: number; queued: number }>('POST', path, body);
      bar.update(r.queued, r.matched);
      bar.stop();
      const { remaining, states } =
        f.wait && r.queued > 0
          ? await follow(out, 'replaying', r.queued, Number(f.timeout), () =>
              windowDeliveries(api, f.tenant, f.endpoint, body.since, body.until),
            )
          : { remaining: 0, states: {} };
      if (f.json) {
        out.line(JSON.stringify({ ...r, dry_run: false, ...(f.wait ? { remaining, states } : {}) }, null, 2));
      } else {
        out.line(`queued ${r.queued} of ${r.matched} failed deliveries again`);
        if (f.wait) out.line(waited(remaining, states, f.timeout));
      }
      if (f.wait && remaining > 0) process.exitCode = 1;
    },
  );
}

/** Deliveries created in [since, until), of one endpoint or of the tenant. */
function windowDeliveries(
  api: Api,
  tid: string,
  eid: string | undefined,
  since: string,
  until: string,
): Promise<{ state: string }[]> {
  const filters = { created_after: since, created_before: until };
  return eid
    ? listDeliveries(api, tid, eid, filters)
    : listAll<{ state: string }>(api, `/v1/tenants/${seg(tid)}/deliveries`, filters);
}

/** Polls a list of deliveries until none is pending or being sent (or time is up), with a bar. */
async function follow(
  out: Out,
  label: string,
  total: number,
  timeoutS: number,
  list: () => Promise<{ state: string }[]>,
): Promise<{ remaining: number; states: Record<string, number> }> {
  const bar = progress(out, label, total);
  const deadline = Date.now() + timeoutS * 1000;
  let remaining = 0;
  let states: Record<string, number> = {};
  for (;;) {
    states = {};
    for (const d of await list()) states[d.state] = (states[d.state] ?? 0) + 1;
    remaining = (states.pending ?? 0) + (states.delivering ?? 0);
    bar.update(Math.max(0, total - remaining));
    if (remaining === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  bar.stop();
  return { remaining, states };
}

function waited(remaining: number, states: Record<string, number>, timeout: string): string {
  const summary = Object.entries(states)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return remaining === 0
    ? `all sent: ${summary}`
    : `still ${remaining} to send after ${timeout} s: ${summary}`;
}
