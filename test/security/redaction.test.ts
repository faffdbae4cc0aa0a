// Log lines never carry a signing secret, a static header value, a token or a key: neither
// the shapes code is likely to log, nor a whole session of real traffic at trace level.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

function capture(level = 'trace') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger(level, stream), text: () => lines.join('') };
}

const S = {
  secret: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAxMjM0NTY3',
  previous: 'whsec_b2xkLXNpZ25pbmcta2V5LTc2NTQzMjEwOTg3',
  header: 'Basic dXNlcjpzdXBlci1zZWNyZXQtcGFzcw==',
  apiKey: 'xk_live_5f4e3d2c1b0a99887766',
  token: 'tid_tenant_Q29uZmlkZW50aWFsLXRlbmFudC10b2tlbi0xMjM0NQ',
  key: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
};

describe('redaction of the shapes secrets travel in', () => {
  it('redacts secrets, headers, tokens and keys at every depth the paths cover', async () => {
    const { log, text } = capture();
    log.info({ secret: S.secret, token: S.token }, 'top level');
    log.info(
      { endpoint: { secret: S.secret, previous_secrets: S.previous, headers: { Authorization: S.header } } },
      'an endpoint',
    );
    log.info(
      { req: { headers: { authorization: `Bearer ${S.token}`, 'x-api-key': S.apiKey } } },
      'a request',
    );
    log.info({ body: { secret: S.secret, headers: { 'X-Api-Key': S.apiKey }, token: S.token } }, 'a body');
    log.info({ config: { encryptionKey: S.key, adminToken: ADMIN_TOKEN } }, 'the configuration');
    log.warn({ delivery: { endpoint: { secret: S.secret, headers: { k: S.apiKey } } } }, 'deep');
    log.error({ err: { headers: { authorization: S.header } } }, 'an error');
    await new Promise((r) => setImmediate(r));
    const out = text();
    expect(out.split('\n').filter(Boolean)).toHaveLength(7);
    expect(out).toContain('[redacted]');
    for (const [name, value] of Object.entries({ ...S, admin: ADMIN_TOKEN }))
      expect(out, name).not.toContain(value);
  });
});

describe('a session of real traffic at trace level', () => {
  let app: TestApp;
  let rx: Receiver;
  const { log, text } = capture('trace');
  beforeAll(async () => {
    rx = await startReceiver((_req, i) => ({ status: i === 0 ? 500 : 200 }));
    app = await startApp('pglite', { TIDINGS_ENCRYPTION_KEY: S.key }, { log });
  });
  let stopped = false;
  afterAll(async () => {
    if (!stopped) await app?.stop();
    await rx?.close();
  });

  it('leaves no secret in any log line', async () => {
    await app.api('PUT', '/v1/event-types/loan.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'quiet', name: 'Quiet' });
    const made = await app.api<{ token: string }>('POST', '/v1/tenants/quiet/tokens', {});
    const tenantToken = made.body.token;
    const ep = await app.api<{ id: string }>(
      'POST',
      '/v1/tenants/quiet/endpoints',
      { url: `${rx.url}/h`, secret: S.previous, headers: { Authorization: S.header, 'X-Api-Key': S.apiKey } },
      { token: tenantToken },
    );
    expect(ep.status).toBe(201);
    await app.api(
      'POST',
      `/v1/tenants/quiet/endpoints/${ep.body.id}/secret/rotate`,
      { secret: S.secret },
      { token: tenantToken },
    );
    await app.api('GET', `/v1/tenants/quiet/endpoints/${ep.body.id}/secret`, undefined, {
      token: tenantToken,
    });
    await app.api('GET', '/v1/tenants/quiet', undefined, { token: `${tenantToken}x` });
    await app.api(
      'POST',
      '/v1/tenants/quiet/endpoints',
      { url: 'http://10.0.0.1/', secret: S.secret },
      { token: tenantToken },
    );
    await app.api('POST', '/v1/tenants/quiet/endpoints', { url: `${rx.url}/h`, headers: { Host: S.apiKey } });
    await app.api('POST', '/v1/tenants/quiet/events', { type: 'loan.paid', payload: { n: 1 } });
    // The first attempt fails (500) and is retried.
    const got = await rx.waitFor(2);
    expect(got[1]!.headers.authorization).toBe(S.header);
    await app.stop();
    stopped = true;
    const out = text();
    expect(out.length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries({ ...S, admin: ADMIN_TOKEN, tenantToken })) {
      expect(out, name).not.toContain(value);
    }
  });
});
