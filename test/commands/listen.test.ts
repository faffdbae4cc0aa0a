// `tidings listen` and `tidings trigger` as a developer runs them: the real CLI in its own
// process, a Tidings it reaches only through its API, and a "local" HTTP server on 127.0.0.1
// that Tidings itself is never pointed at. The local server gets the event signed as Tidings
// signs it, the attempt shows the local status, a local 500 is retried, and Ctrl-C (SIGINT)
// removes the temporary endpoint.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../delivery/wait.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Child, spawnTidings } from '../helpers/processes.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface Delivery {
  id: string;
  state: string;
  attempt_log: { status: number | null; response_body: string | null; error: string | null }[];
}

describe.each(engines())('tidings listen (%s)', (engine) => {
  let app: TestApp;
  let local: Receiver;
  let token: string;
  let answer = 500;

  beforeAll(async () => {
    // The local server answers 500 until the test says otherwise.
    local = await startReceiver(() => ({ status: answer, body: answer === 500 ? 'local boom' : 'handled' }));
    // Tidings may not reach 127.0.0.1 itself: only the CLI does.
    app = await startApp(engine, { TIDINGS_ALLOW_PRIVATE_TARGETS: '' });
    await app.api('PUT', '/v1/event-types/loan.paid', {
      description: 'A loan payment',
      schema: {
        type: 'object',
        required: ['loan_id', 'amount_cents'],
        properties: { loan_id: { type: 'string' }, amount_cents: { type: 'integer', minimum: 1 } },
      },
    });
    await app.api('PUT', '/v1/event-types/loan.late', { description: 'A late loan' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', {})).body.token;
  });
  afterAll(async () => {
    await app?.stop();
    await local?.close();
  });

  const cli = (args: string[], tok = token): Child =>
    spawnTidings(args, { TIDINGS_URL: app.url, TIDINGS_TOKEN: tok, TIDINGS_LOG_LEVEL: 'silent' });
  /** The one delivery of an event (the relay is the tenant's only endpoint). */
  const deliveryOf = async (eventId: string) => {
    const e = await app.api<{ deliveries: { id: string }[] }>('GET', `/v1/tenants/acme/events/${eventId}`);
    return (await app.api<Delivery>('GET', `/v1/tenants/acme/deliveries/${e.body.deliveries[0]!.id}`)).body;
  };
  /** The first --json line of this event. */
  const jsonLine = <T>(c: Child, event: string): T =>
    JSON.parse(
      c
        .output()
        .split('\n')
        .find((l) => l.includes(`"event":"${event}"`))!,
    ) as T;
  const exitOf = (c: Child) =>
    new Promise<number | null>((resolve) => {
      if (c.proc.exitCode !== null) resolve(c.proc.exitCode);
      else c.proc.once('exit', (code) => resolve(code));
    });

  it('forwards the tenant’s events to a local URL, reports its status, retries a 500, and removes the endpoint on Ctrl-C', async () => {
    const listen = cli(['listen', '--forward-to', `${local.url}/hooks`, '--events', 'loan.paid']);
    try {
      await listen.waitForOutput(/Ctrl-C stops/);
      const secret = /signed with (whsec_\S+)/.exec(listen.output())![1]!;
      const endpointId = /Relay endpoint (ep_\S+);/.exec(listen.output())![1]!;
      const endpoints = await app.api<{ data: { id: string; destination: string }[] }>(
        'GET',
        '/v1/tenants/acme/endpoints',
      );
      expect(endpoints.body.data).toEqual([
        expect.objectContaining({ id: endpointId, destination: 'relay' }),
      ]);

      // trigger publishes the catalog's example: none here, so a minimal payload from the schema.
      const trigger = cli(['trigger', 'loan.paid', '--tenant', 'acme'], ADMIN_TOKEN);
      expect(await exitOf(trigger)).toBe(0);
      expect(trigger.output()).toMatch(
        /published msg_\S+ \(loan\.paid, a minimal payload built from the schema\) to acme: 1 deliveries/,
      );
      const eventId = /published (msg_\S+)/.exec(trigger.output())![1]!;

      // The local server gets it as Tidings signed it, answers 500, and gets it again.
      const [first] = await local.waitFor(1);
      expect(first!.path).toBe('/hooks');
      expect(first!.headers['webhook-id']).toBe(eventId);
      expect(new Webhook(secret).verify(first!.body, first!.headers as Record<string, string>)).toEqual({
        type: 'loan.paid',
        timestamp: expect.any(String),
        data: { loan_id: 'example', amount_cents: 1 },
      });
      await local.waitFor(2);
      answer = 200;
      const d = await until(async () => {
        const x = await deliveryOf(eventId);
        return x.state === 'succeeded' && x;
      }, 'the delivery to succeed once the local server answers 200');
      const statuses = d.attempt_log.map((a) => a.status);
      expect(statuses[0]).toBe(500);
      expect(statuses.at(-1)).toBe(200);
      expect(d.attempt_log[0]).toMatchObject({ response_body: 'local boom', error: 'HTTP 500' });
      expect(d.attempt_log.at(-1)).toMatchObject({ response_body: 'handled', error: null });
      expect(listen.output()).toMatch(new RegExp(`loan\\.paid  ${eventId}  -> 500`));
      expect(listen.output()).toMatch(new RegExp(`loan\\.paid  ${eventId}  -> 200`));

      // Ctrl-C: the endpoint goes, and the CLI exits cleanly.
      listen.proc.kill('SIGINT');
      expect(await exitOf(listen)).toBe(0);
      expect(listen.output()).toContain(`removed the relay endpoint ${endpointId}`);
      expect((await app.api('GET', `/v1/tenants/acme/endpoints/${endpointId}`)).status).toBe(404);
      expect((await app.api<{ data: unknown[] }>('GET', '/v1/tenants/acme/endpoints')).body.data).toEqual([]);
    } finally {
      await listen.kill();
    }
  });

  it('prints JSON lines with --json, and reports a local URL that refuses', async () => {
    // Nothing listens on the receiver's port once it is closed: take one and close it.
    const gone = await startReceiver();
    const refusing = gone.url;
    await gone.close();
    const listen = cli(['listen', '--forward-to', `${refusing}/hooks`, '--events', 'loan.late', '--json']);
    try {
      await listen.waitForOutput(/"event":"ready"/);
      const ready = jsonLine<{ endpoint_id: string; tenant_id: string }>(listen, 'ready');
      expect(ready.tenant_id).toBe('acme');
      const e = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
        type: 'loan.late',
        payload: {},
      });
      await listen.waitForOutput(/"event":"delivery"/);
      const line = jsonLine<{ webhook_id: string; status: number | null; error: string }>(listen, 'delivery');
      expect(line).toMatchObject({ webhook_id: e.body.id, status: null });
      expect(line.error).toMatch(/ECONNREFUSED/);
      const d = await until(async () => {
        const x = await deliveryOf(e.body.id);
        return x.attempt_log.length > 0 && x;
      }, 'an attempt');
      expect(d.attempt_log[0]!.status).toBeNull();
      expect(d.attempt_log[0]!.error).toMatch(/^relay: local: ECONNREFUSED/);
      listen.proc.kill('SIGINT');
      expect(await exitOf(listen)).toBe(0);
      expect((await app.api('GET', `/v1/tenants/acme/endpoints/${ready.endpoint_id}`)).status).toBe(404);
    } finally {
      await listen.kill();
    }
  });

  it('needs a tenant with the operator token, and the operator token to trigger', async () => {
    const noTenant = cli(['listen', '--forward-to', `${local.url}/hooks`], ADMIN_TOKEN);
    expect(await exitOf(noTenant)).toBe(2);
    expect(noTenant.output()).toContain('--tenant');
    const asTenant = cli(['trigger', 'loan.late']);
    expect(await exitOf(asTenant)).toBe(1);
    expect(asTenant.output()).toContain('publishing needs the operator token');
  });
});
