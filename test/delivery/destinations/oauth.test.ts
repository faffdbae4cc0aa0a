// OAuth2 client credentials against a local token server that counts its requests: tokens are
// cached, fetched once for many concurrent sends, refreshed shortly before expiry, refreshed
// once on a 401; a failing token server gives attempts with its error; the token URL obeys the
// SSRF rules.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpDestination } from '../../../src/delivery/destinations/http.js';
import { OAuthTokens } from '../../../src/delivery/destinations/oauth.js';
import { startDeadline } from '../../../src/delivery/destinations/types.js';
import { createPinnedAgent } from '../../../src/delivery/pinnedAgent.js';
import type { OAuthSettings } from '../../../src/store/endpointTargets.js';
import { type Receiver, startReceiver } from '../../helpers/receiver.js';
import { LOOPBACK, signedRequest, target } from './support.js';

interface TokenRequest {
  authorization: string | undefined;
  form: URLSearchParams;
}

describe('OAuth2 client credentials', () => {
  let tokenServer: http.Server;
  let tokenUrl: string;
  const tokenRequests: TokenRequest[] = [];
  let answer: (n: number) => { status: number; body: unknown; delayMs?: number };
  let rx: Receiver;
  /** Tokens the receiver accepts. */
  const accepted = new Set<string>();
  let clock = Date.now();
  const dispatcher = createPinnedAgent({ allow: LOOPBACK, connectTimeoutMs: 2000 });
  let tokens: OAuthTokens;
  let dest: HttpDestination;

  beforeAll(async () => {
    tokenServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', async () => {
        tokenRequests.push({ authorization: req.headers.authorization, form: new URLSearchParams(body) });
        const a = answer(tokenRequests.length);
        if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/oauth/token`;
    rx = await startReceiver((req) => {
      const auth = String(req.headers.authorization ?? '');
      return accepted.has(auth.replace(/^Bearer /, ''))
        ? { status: 200 }
        : { status: 401, body: 'bad token' };
    });
  });
  afterAll(async () => {
    await dest.close();
    await dispatcher.close();
    await rx.close();
    await new Promise((r) => tokenServer.close(r));
  });
  beforeEach(() => {
    tokenRequests.length = 0;
    accepted.clear();
    clock = Date.now();
    // Token n is "tok-n", valid an hour.
    answer = (n) => ({
      status: 200,
      body: { access_token: `tok-${n}`, token_type: 'Bearer', expires_in: 3600 },
    });
    tokens = new OAuthTokens({ dispatcher, timeoutMs: 3000, now: () => clock });
    dest = new HttpDestination({ dispatcher, agent: { allow: LOOPBACK, connectTimeoutMs: 2000 }, tokens });
  });

  const settings = (over: Partial<OAuthSettings> = {}): OAuthSettings => ({
    token_url: tokenUrl,
    client_id: 'tidings client',
    client_secret: 's3cr:et/+',
    scope: 'webhooks:write',
    audience: 'https://bank.example/webhooks',
    auth_method: 'client_secret_basic',
    ...over,
  });
  const send = (oauth: OAuthSettings, timeoutMs = 3000) => {
    const { req } = signedRequest({}, { timeoutMs });
    return dest.send(target(`${rx.url}/hooks`, { oauth }), req, startDeadline(timeoutMs));
  };

  it('fetches one token (client_secret_basic, scope, audience) and reuses it', async () => {
    accepted.add('tok-1');
    const s = settings();
    for (let i = 0; i < 3; i++) expect((await send(s)).status).toBe(200);
    expect(tokenRequests).toHaveLength(1);
    const t = tokenRequests[0]!;
    expect(t.form.get('grant_type')).toBe('client_credentials');
    expect(t.form.get('scope')).toBe('webhooks:write');
    expect(t.form.get('audience')).toBe('https://bank.example/webhooks');
    expect(t.form.get('client_secret')).toBeNull();
    // RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
    const [id, secret] = Buffer.from(t.authorization!.replace('Basic ', ''), 'base64').toString().split(':');
    expect(decodeURIComponent(id!.replaceAll('+', ' '))).toBe('tidings client');
    expect(decodeURIComponent(secret!.replaceAll('+', ' '))).toBe('s3cr:et/+');
    expect(rx.requests.at(-1)!.headers.authorization).toBe('Bearer tok-1');
  });

  it('client_secret_post sends the credentials in the form', async () => {
    accepted.add('tok-1');
    expect(
      (await send(settings({ auth_method: 'client_secret_post', scope: null, audience: null }))).status,
    ).toBe(200);
    const t = tokenRequests[0]!;
    expect(t.authorization).toBeUndefined();
    expect(t.form.get('client_id')).toBe('tidings client');
    expect(t.form.get('client_secret')).toBe('s3cr:et/+');
    expect(t.form.has('scope')).toBe(false);
  });

  it('fetches a token once for many concurrent sends (single flight)', async () => {
    accepted.add('tok-1');
    answer = (n) => ({ status: 200, body: { access_token: `tok-${n}`, expires_in: 3600 }, delayMs: 100 });
    const results = await Promise.all(Array.from({ length: 20 }, () => send(settings())));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(tokenRequests).toHaveLength(1);
  });

  it('refreshes shortly before expiry, in the background, still sending with the valid token', async () => {
    for (const t of ['tok-1', 'tok-2', 'tok-3']) accepted.add(t);
    const s = settings();
    await send(s);
    // An hour's token: the refresh starts 60 s before the end (at most a tenth of the lifetime).
    clock += 3_600_000 - 61_000;
    await send(s);
    expect(tokenRequests).toHaveLength(1);
    clock += 2000;
    const during = await send(s);
    expect(during.status).toBe(200);
    expect(rx.requests.at(-1)!.headers.authorization).toBe('Bearer tok-1');
    await new Promise((r) => setTimeout(r, 100));
    expect(tokenRequests).toHaveLength(2);
    await send(s);
    expect(rx.requests.at(-1)!.headers.authorization).toBe('Bearer tok-2');
    // Past the expiry of a token, it is never used.
    clock += 3_600_000;
    await send(s);
    expect(tokenRequests).toHaveLength(3);
    expect(rx.requests.at(-1)!.headers.authorization).toBe('Bearer tok-3');
  });

  it('on a 401 refreshes once and retries; a second 401 is the attempt result', async () => {
    const s = settings();
    accepted.add('tok-1');
    await send(s);
    // The gateway revokes tok-1 and would take tok-2.
    accepted.clear();
    accepted.add('tok-2');
    const before = rx.requests.length;
    const res = await send(s);
    expect(res.status).toBe(200);
    expect(tokenRequests).toHaveLength(2);
    expect(rx.requests.slice(before).map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
    // Nothing accepted: one retry with a fresh token, then the 401 stands.
    accepted.clear();
    const refused = await send(s);
    expect(refused.status).toBe(401);
    expect(refused.error).toBe('HTTP 401');
    expect(tokenRequests).toHaveLength(3);
  });

  it('a failing token server gives attempts with its error, and nothing is sent', async () => {
    answer = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'unknown client' } });
    const before = rx.requests.length;
    const res = await send(settings());
    expect(res.ok).toBe(false);
    expect(res.status).toBeNull();
    expect(res.error).toBe(
      `oauth: token endpoint ${tokenUrl} answered HTTP 401 (invalid_client: unknown client)`,
    );
    expect(res.error).not.toContain('s3cr');
    answer = () => ({ status: 200, body: { token_type: 'Bearer' } });
    expect((await send(settings())).error).toMatch(/answered without an access_token/);
    answer = () => ({ status: 200, body: { access_token: 'x', token_type: 'DPoP' } });
    expect((await send(settings())).error).toMatch(/"DPoP" token; only Bearer/);
    answer = () => ({ status: 200, body: { access_token: 'x' }, delayMs: 2000 });
    expect((await send(settings(), 300)).error).toMatch(/^oauth: timeout: no OAuth2 token within 300 ms/);
    expect(rx.requests.length).toBe(before);
    // Failures are not cached: the next attempt asks again.
    answer = (n) => ({ status: 200, body: { access_token: `tok-${n}` } });
    accepted.add(`tok-${tokenRequests.length + 1}`);
    expect((await send(settings())).status).toBe(200);
  });

  it('the token URL obeys the SSRF rules', async () => {
    const res = await send(settings({ token_url: tokenUrl.replace('127.0.0.1', '127.0.0.9') }));
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(
      /^oauth: token request to http:\/\/127\.0\.0\.9:\d+\/oauth\/token failed: TARGET_BLOCKED: refused: 127\.0\.0\.9 is loopback/,
    );
    expect(tokenRequests).toHaveLength(0);
  });
});
