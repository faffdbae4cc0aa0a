// The operator commands of the CLI (src/commands/), run as `tidings …` child processes against
// a running server: tenants, endpoints, events and deliveries listed and shown (--json parsed,
// tables for people), resend, recover and replay of deliveries that failed on a real receiver.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../bin/tidings.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('tidings operator commands', () => {
  let app: TestApp;
  let receiver: Receiver;
  let healthy = false;
  let endpointId: string;
  const eventIds: string[] = [];

  /** The CLI in its own process, asynchronously: the server it calls runs in this one. */
  const tidings = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Run>((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        {
          encoding: 'utf8',
          env: { ...process.env, TIDINGS_URL: app.url, TIDINGS_TOKEN: ADMIN_TOKEN, ...env },
          timeout: 60_000,
        },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
  const json = async <T>(args: string[]): Promise<T> => {
    const r = await tidings([...args, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: healthy ? 200 : 500 }));
    app = await startApp('pglite');
    await app.api('PUT', '/v1/event-types/loan.paid', { description: 'A loan payment' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Lending' });
    const ep = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${receiver.url}/hooks`,
    });
    endpointId = ep.body.id;
    for (let n = 1; n <= 3; n++) {
      const e = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
        type: 'loan.paid',
        payload: { n },
      });
      eventIds.push(e.body.id);
    }
    // The receiver answers 500 until told otherwise: every delivery gives up (4 attempts).
    await until(async () => {
      const r = await app.api<{ data: { state: string }[] }>(
        'GET',
        `/v1/tenants/acme/endpoints/${endpointId}/deliveries?state=failed`,
      );
      return r.body.data.length === 3;
    }, 'three failed deliveries');
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('lists and shows tenants, with --url/--token or TIDINGS_URL/TIDINGS_TOKEN', async () => {
    const list = await json<{ id: string; name: string }[]>(['tenants', 'list']);
    expect(list.map((t) => t.id)).toContain('acme');
    const flags = await tidings(
      ['tenants', 'show', 'acme', '--url', app.url, '--token', ADMIN_TOKEN, '--json'],
      {
        TIDINGS_URL: '',
        TIDINGS_TOKEN: '',
      },
    );
    expect(JSON.parse(flags.stdout)).toMatchObject({ id: 'acme', name: 'Acme Lending' });
    const human = await tidings(['tenants', 'list']);
    expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATED$/);
    expect(human.stdout).toMatch(/^acme\s+Acme Lending\s+\d{4}-/m);
  });

  it('lists and shows endpoints', async () => {
    const list = await json<{ id: string; url: string; health: { state: string } }[]>([
      'endpoints',
      'list',
      '--tenant',
      'acme',
    ]);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: endpointId, url: `${receiver.url}/hooks` });
    const one = await json<{ id: string; profile: string }>([
      'endpoints',
      'show',
      endpointId,
      '--tenant',
      'acme',
    ]);
    expect(one).toMatchObject({ id: endpointId, profile: 'standard' });
  });

  it('lists events with filters and shows one with its deliveries', async () => {
    const all = await json<{ id: string }[]>(['events', 'list', '--tenant', 'acme']);
    expect(all.map((e) => e.id)).toEqual([...eventIds].reverse());
    const two = await json<{ id: string }[]>(['events', 'list', '--tenant', 'acme', '--limit', '2']);
    expect(two).toHaveLength(2);
    const undelivered = await json<{ id: string }[]>(['events', 'list', '--tenant', 'acme', '--undelivered']);
    expect(undelivered).toHaveLength(3);
    const shown = await json<{ id: string; deliveries: { state: string; attempts: number }[] }>([
      'events',
      'show',
      eventIds[0]!,
      '--tenant',
      'acme',
    ]);
    expect(shown.deliveries).toEqual([expect.objectContaining({ state: 'failed', attempts: 4 })]);
    const human = await tidings(['events', 'show', eventIds[0]!, '--tenant', 'acme']);
    expect(human.stdout).toMatch(/^type:\s+loan\.paid$/m);
    expect(human.stdout).toMatch(/^ID\s+ENDPOINT\s+STATE\s+ATTEMPTS/m);
  });

  it('lists and shows deliveries with their attempts', async () => {
    const failed = await json<{ id: string; state: string; last_status: number }[]>([
      'deliveries',
      'list',
      '--tenant',
      'acme',
      '--endpoint',
      endpointId,
      '--state',
      'failed',
    ]);
    expect(failed).toHaveLength(3);
    expect(failed.every((d) => d.last_status === 500)).toBe(true);
    const one = await json<{ id: string; attempt_log: { status: number }[] }>([
      'deliveries',
      'show',
      failed[0]!.id,
      '--tenant',
      'acme',
    ]);
    expect(one.attempt_log.map((a) => a.status)).toEqual([500, 500, 500, 500]);
    const human = await tidings(['deliveries', 'show', failed[0]!.id, '--tenant', 'acme']);
    expect(human.stdout).toMatch(/^ATTEMPT\s+STARTED\s+STATUS\s+MS\s+ERROR$/m);
  });

  it('resends deliveries, and says which could not be', async () => {
    healthy = true;
    const failed = await json<{ id: string }[]>([
      'deliveries',
      'list',
      '--tenant',
      'acme',
      '--endpoint',
      endpointId,
      '--state',
      'failed',
      '--limit',
      '1',
    ]);
    const r = await tidings(['resend', failed[0]!.id, 'dlv_999999', '--tenant', 'acme', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual([
      { id: failed[0]!.id, state: 'pending' },
      { id: 'dlv_999999', error: expect.objectContaining({ status: 404, code: 'delivery_not_found' }) },
    ]);
    await until(async () => {
      const d = await app.api<{ state: string }>('GET', `/v1/tenants/acme/deliveries/${failed[0]!.id}`);
      return d.body.state === 'succeeded';
    }, 'the resent delivery');
  });

  it('recovers every failed delivery since a time and waits until they are sent', async () => {
    const r = await json<{ requeued: number; remaining: number; states: Record<string, number> }>([
      'recover',
      '--tenant',
      'acme',
      '--endpoint',
      endpointId,
      '--since',
      '2000-01-01T00:00:00Z',
      '--wait',
    ]);
    expect(r).toEqual({ requeued: 2, remaining: 0, states: { succeeded: 3 } });
    const human = await tidings([
      'recover',
      '--tenant',
      'acme',
      '--endpoint',
      endpointId,
      '--since',
      '2000-01-01T00:00:00Z',
    ]);
    expect(human.stdout.trim()).toBe('queued 0 failed deliveries again');
  });

  it('reports API errors and missing settings with an exit code', async () => {
    const missing = await tidings(['tenants', 'show', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^tidings: 404 tenant_not_found: No tenant with id "nobody"\.$/m);
    const noToken = await tidings(['tenants', 'list'], { TIDINGS_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/--token TOKEN \(or TIDINGS_TOKEN\)/);
    const badTime = await tidings([
      'recover',
      '--tenant',
      'acme',
      '--endpoint',
      endpointId,
      '--since',
      'yesterday',
    ]);
    expect(badTime.code).toBe(2);
  });

  it('replays failed deliveries of a window: counts first, --dry-run stops there, --wait follows them', async () => {
    healthy = false;
    const since = new Date().toISOString();
    for (let n = 1; n <= 2; n++) {
      await app.api('POST', '/v1/tenants/acme/events', { type: 'loan.paid', payload: { replay: n } });
    }
    await until(async () => {
      const r = await app.api<{ data: unknown[] }>(
        'GET',
        `/v1/tenants/acme/endpoints/${endpointId}/deliveries?state=failed&created_after=${since}`,
      );
      return r.body.data.length === 2;
    }, 'two more failed deliveries');
    const dry = await json<{ matched: number; queued: number }>([
      'replay',
      '--tenant',
      'acme',
      '--since',
      since,
      '--dry-run',
    ]);
    expect(dry).toEqual({ matched: 2, queued: 0, dry_run: true });
    const human = await tidings(['replay', '--tenant', 'acme', '--since', since, '--dry-run']);
    expect(human.stdout.trim()).toBe('2 failed deliveries match');
    healthy = true;
    const r = await json<Record<string, unknown>>([
      'replay',
      '--tenant',
      'acme',
      '--endpoint',
      endpointId,
      '--since',
      since,
      '--wait',
    ]);
    expect(r).toEqual({ matched: 2, queued: 2, dry_run: false, remaining: 0, states: { succeeded: 2 } });
    const again = await tidings(['replay', '--tenant', 'acme', '--since', since]);
    expect(again.stdout.trim()).toBe('0 failed deliveries match');
    const badTime = await tidings(['replay', '--tenant', 'acme', '--since', 'soon']);
    expect(badTime.code).toBe(2);
  });
});
