// The TypeScript client (clients/typescript/): its README walkthrough against a real server
// and receiver, its webhook verifier on real deliveries (v1, v1a, a rotation), its retries
// on the server's real rate limit, and whether its generated types are current.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTidings,
  paginate,
  TidingsError,
  unwrap,
  verifyWebhook,
  WebhookVerificationError,
} from '../../clients/typescript/src/index.js';
import { SCHEMA_FILE, schemaText } from '../../scripts/client.js';
import { buildApiDocument } from '../../src/apiDocument.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const CLIENT = path.resolve('clients/typescript');

/** The README's walkthrough block, importing the client from this checkout. */
function walkthroughProgram(): string {
  const readme = readFileSync(path.join(CLIENT, 'README.md'), 'utf8');
  const block = /<!-- walkthrough:start -->\n```ts\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(readme);
  if (!block) throw new Error('clients/typescript/README.md has no walkthrough block');
  return block[1]!.replace("'@tidings/client'", `'${path.join(CLIENT, 'src/index.ts')}'`);
}

describe('the TypeScript client', () => {
  let app: TestApp;
  let receiver: Receiver;
  let dir: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    app = await startApp('pglite', { TIDINGS_RATE_LIMIT_PER_S: '2' });
    dir = mkdtempSync(path.join(tmpdir(), 'tidings-client-'));
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has types generated from the current document (run `npm run client` after changing a route)', async () => {
    const fresh = await schemaText(await buildApiDocument());
    expect(
      readFileSync(SCHEMA_FILE, 'utf8') === fresh,
      `${SCHEMA_FILE} is stale: run \`npm run client\``,
    ).toBe(true);
  });

  it('runs the README walkthrough against a real server, twice', async () => {
    const file = path.join(dir, 'walkthrough.mts');
    writeFileSync(file, walkthroughProgram());
    // In a child process, and asynchronously: the server answering it runs in this one.
    const run = () =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const env = {
          ...process.env,
          TIDINGS_URL: app.url,
          TIDINGS_TOKEN: ADMIN_TOKEN,
          RECEIVER_URL: `${receiver.url}/hooks`,
        };
        const child = execFile(
          process.execPath,
          ['--import', 'tsx', file],
          { encoding: 'utf8', env, timeout: 60_000 },
          (_err, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
        );
      });
    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^delivery \S+ succeeded after 1 attempt\(s\)$/m);
    expect(first.stdout).toMatch(/^tenant acme Acme Lending$/m);
    const secret = /^endpoint \S+ secret (whsec_\S+)$/m.exec(first.stdout)![1]!;
    const [got] = await receiver.waitFor(1);
    const hook = verifyWebhook(secret, got!.headers as Record<string, string>, got!.body);
    expect(hook.payload).toMatchObject({
      type: 'bill_payments.paid',
      data: { bill_payment_id: 'bp_123', amount_cents: 12500 },
    });
    // Again: the tenant exists (its 409 is caught by code), a second endpoint gets the event.
    const second = await run();
    expect(second.status).toBe(0);
    expect(second.stdout.match(/^delivery \S+ succeeded/gm)).toHaveLength(2);
  });

  it('throws TidingsError with the documented code', async () => {
    const api = createTidings({ baseUrl: app.url, token: ADMIN_TOKEN });
    const err = await unwrap(api.GET('/v1/tenants/{tid}', { params: { path: { tid: 'nobody' } } })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TidingsError);
    expect(err).toMatchObject({ status: 404, code: 'tenant_not_found' });
  });

  it('pages through a list', async () => {
    const api = createTidings({ baseUrl: app.url, token: ADMIN_TOKEN });
    for (const id of ['pg-1', 'pg-2', 'pg-3']) {
      await unwrap(api.POST('/v1/tenants', { body: { id, name: id } }));
    }
    const ids: string[] = [];
    for await (const t of paginate((cursor) =>
      api.GET('/v1/tenants', { params: { query: { limit: 2, cursor } } }),
    )) {
      ids.push(t.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['pg-1', 'pg-2', 'pg-3']));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("retries the server's 429 after its Retry-After, or throws it when told not to", async () => {
    const admin = createTidings({ baseUrl: app.url, token: ADMIN_TOKEN });
    await unwrap(admin.POST('/v1/tenants', { body: { id: 'limited', name: 'Limited' } }));
    const { token } = await unwrap(
      admin.POST('/v1/tenants/{tid}/tokens', { params: { path: { tid: 'limited' } }, body: {} }),
    );
    const waits: number[] = [];
    const patient = createTidings({
      baseUrl: app.url,
      token,
      retries: 5,
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((r) => setTimeout(r, ms));
      },
    });
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        unwrap(patient.GET('/v1/tenants/{tid}', { params: { path: { tid: 'limited' } } })),
      ),
    );
    expect(answers.every((t) => t.id === 'limited')).toBe(true);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((ms) => ms >= 1000)).toBe(true);

    const impatient = createTidings({ baseUrl: app.url, token, retries: 0 });
    const errors = await Promise.all(
      Array.from({ length: 8 }, () =>
        unwrap(impatient.GET('/v1/tenants/{tid}', { params: { path: { tid: 'limited' } } })).catch(
          (e: unknown) => e,
        ),
      ),
    );
    const limited = errors.filter((e): e is TidingsError => e instanceof TidingsError);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ status: 429, code: 'rate_limited' });
  });

  it('verifies real v1 and v1a deliveries, and both signatures during a rotation', async () => {
    const api = createTidings({ baseUrl: app.url, token: ADMIN_TOKEN });
    await unwrap(
      api.PUT('/v1/event-types/{name}', {
        params: { path: { name: 'bill_payments.paid' } },
        body: { description: 'paid' },
      }),
    );
    await unwrap(api.POST('/v1/tenants', { body: { id: 'verify', name: 'Verify' } }));
    const tid = { tid: 'verify' };
    const hmac = await unwrap(
      api.POST('/v1/tenants/{tid}/endpoints', { params: { path: tid }, body: { url: `${receiver.url}/v1` } }),
    );
    const ed = await unwrap(
      api.POST('/v1/tenants/{tid}/endpoints', {
        params: { path: tid },
        body: { url: `${receiver.url}/v1a`, signing: 'ed25519' },
      }),
    );
    expect(ed.public_key).toMatch(/^whpk_/);
    const before = receiver.requests.length;
    const publish = (n: number) =>
      unwrap(
        api.POST('/v1/tenants/{tid}/events', {
          params: { path: tid },
          body: { type: 'bill_payments.paid', payload: { n } },
        }),
      );
    await publish(1);
    const got = (await receiver.waitFor(before + 2)).slice(before);
    const byPath = (p: string) => got.find((r) => r.path === p)!;
    const v1 = byPath('/v1');
    const v1a = byPath('/v1a');
    expect(verifyWebhook(hmac.secret, v1.headers as Record<string, string>, v1.body).payload).toMatchObject({
      data: { n: 1 },
    });
    // The stock Standard Webhooks verifier agrees.
    expect(new Webhook(hmac.secret).verify(v1.body, v1.headers as Record<string, string>)).toMatchObject({
      data: { n: 1 },
    });
    expect(verifyWebhook(ed.public_key!, v1a.headers as Record<string, string>, v1a.body).id).toBe(
      v1a.headers['webhook-id'],
    );
    // Refused: another key, a changed body, an old timestamp.
    expect(() => verifyWebhook(hmac.secret, v1a.headers as Record<string, string>, v1a.body)).toThrow(
      WebhookVerificationError,
    );
    expect(() =>
      verifyWebhook(ed.public_key!, v1a.headers as Record<string, string>, `${v1a.body} `),
    ).toThrow(WebhookVerificationError);
    expect(() =>
      verifyWebhook(hmac.secret, v1.headers as Record<string, string>, v1.body, {
        now: new Date(Date.now() + 10 * 60_000),
      }),
    ).toThrow(/more than 300 s/);

    // Rotation: the old and the new secret both sign until the grace period ends.
    const rotated = await unwrap(
      api.POST('/v1/tenants/{tid}/endpoints/{eid}/secret/rotate', {
        params: { path: { ...tid, eid: hmac.id } },
        body: { grace_period_s: 3600 },
      }),
    );
    const edRotated = await unwrap(
      api.POST('/v1/tenants/{tid}/endpoints/{eid}/secret/rotate', {
        params: { path: { ...tid, eid: ed.id } },
        body: { grace_period_s: 3600 },
      }),
    );
    const mid = receiver.requests.length;
    await publish(2);
    const during = (await receiver.waitFor(mid + 2)).slice(mid);
    const h = during.find((r) => r.path === '/v1')!;
    const e = during.find((r) => r.path === '/v1a')!;
    expect(String(h.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(String(e.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const key of [hmac.secret, rotated.secret]) {
      expect(verifyWebhook(key, h.headers as Record<string, string>, h.body).payload).toMatchObject({
        data: { n: 2 },
      });
    }
    for (const key of [ed.public_key!, edRotated.public_key!]) {
      expect(verifyWebhook(key, e.headers as Record<string, string>, e.body).payload).toMatchObject({
        data: { n: 2 },
      });
    }
  });
});
