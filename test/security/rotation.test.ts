// Secret rotation and Ed25519 signing, end to end: what a receiver gets, checked with the
// `standardwebhooks` package (HMAC) and with an Ed25519 verifier, before and after the grace
// period of a rotation, on an injected clock.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { verifyEd25519 } from '../../src/signing/ed25519.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import { ED25519_SPEC as SPEC } from '../signing/vectors.js';

const DAY_MS = 86_400_000;

function headersOf(r: Received) {
  return {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
}

/**
 * Whether the `standardwebhooks` verifier accepts the request with this secret. The verifier
 * checks the timestamp against the wall clock; the app runs on a manual clock, so the wall
 * clock is set to the request's own time for the (synchronous) check.
 */
function verifies(secret: string, r: Received): boolean {
  const h = headersOf(r);
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Number(h['webhook-timestamp']) * 1000);
  try {
    new Webhook(secret).verify(r.body, h);
    return true;
  } catch {
    return false;
  } finally {
    vi.useRealTimers();
  }
}

function ed25519Verifies(publicKey: string, r: Received): boolean {
  const h = headersOf(r);
  return verifyEd25519(
    publicKey,
    h['webhook-id'],
    Number(h['webhook-timestamp']),
    r.body,
    h['webhook-signature'],
  );
}

interface SecretAnswer {
  secret: string;
  signing: string;
  public_key: string | null;
  previous_valid_until: string[];
}

describe.each(engines())('secret rotation and Ed25519 (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const clock = new ManualClock(new Date('2031-03-01T12:00:00Z'));
  let seen = 0;

  /** Publishes one event for the tenant and returns what the receiver got for it. */
  async function deliverOne(
    tid: string,
    body: Record<string, unknown> = { type: 'loan.paid', payload: { n: seen } },
  ) {
    const pub = await app.api<{ id: string }>('POST', `/v1/tenants/${tid}/events`, body);
    expect(pub.status).toBe(202);
    seen += 1;
    const all = await rx.waitFor(seen);
    const got = all[seen - 1]!;
    expect(got.headers['webhook-id']).toBe(pub.body.id);
    return got;
  }

  beforeAll(async () => {
    app = await startApp(engine, {}, { clock });
    rx = await startReceiver();
    await app.api('PUT', '/v1/event-types/loan.paid', { description: 'paid' });
    await app.api('PUT', '/v1/event-types/vector.test', {
      description: 'the spec vector',
      default_enabled: false,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('during the grace period both secrets sign (new first); after it only the new one', async () => {
    await app.api('POST', '/v1/tenants', { id: 'rot', name: 'Rotating' });
    const ep = await app.api<{ id: string; secret: string; signing: string }>(
      'POST',
      '/v1/tenants/rot/endpoints',
      {
        url: `${rx.url}/rot`,
      },
    );
    expect(ep.body.signing).toBe('hmac');
    const oldSecret = ep.body.secret;

    const before = await deliverOne('rot');
    expect(verifies(oldSecret, before)).toBe(true);
    expect(String(before.headers['webhook-signature']).split(' ')).toHaveLength(1);

    const rotated = await app.api<SecretAnswer>(
      'POST',
      `/v1/tenants/rot/endpoints/${ep.body.id}/secret/rotate`,
      {},
    );
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated.body.previous_valid_until).toEqual([
      new Date(clock.now().getTime() + DAY_MS).toISOString(),
    ]);

    clock.advance(DAY_MS - 60_000);
    const during = await deliverOne('rot');
    const sigs = String(during.headers['webhook-signature']).split(' ');
    expect(sigs).toHaveLength(2);
    expect(verifies(newSecret, during)).toBe(true);
    expect(verifies(oldSecret, during)).toBe(true);
    // The new secret's signature comes first.
    const ts = Number(during.headers['webhook-timestamp']);
    expect(sigs[0]).toBe(
      new Webhook(newSecret).sign(String(during.headers['webhook-id']), new Date(ts * 1000), during.body),
    );

    clock.advance(60_000);
    const after = await deliverOne('rot');
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(newSecret, after)).toBe(true);
    expect(verifies(oldSecret, after)).toBe(false);
    const shown = await app.api<SecretAnswer>('GET', `/v1/tenants/rot/endpoints/${ep.body.id}/secret`);
    expect(shown.body).toEqual({
      secret: newSecret,
      signing: 'hmac',
      public_key: null,
      previous_valid_until: [],
    });
  });

  it('a chosen secret with no grace period replaces the old one at once', async () => {
    await app.api('POST', '/v1/tenants', { id: 'now', name: 'Now' });
    const ep = await app.api<{ id: string; secret: string }>('POST', '/v1/tenants/now/endpoints', {
      url: `${rx.url}/now`,
    });
    const chosen = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const bad = await app.api('POST', `/v1/tenants/now/endpoints/${ep.body.id}/secret/rotate`, {
      secret: 'whsec_short',
    });
    expect(bad.status).toBe(422);
    const r = await app.api<SecretAnswer>('POST', `/v1/tenants/now/endpoints/${ep.body.id}/secret/rotate`, {
      secret: chosen,
      grace_period_s: 0,
    });
    expect(r.body).toMatchObject({ secret: chosen, previous_valid_until: [] });
    const got = await deliverOne('now');
    expect(verifies(chosen, got)).toBe(true);
    expect(verifies(ep.body.secret, got)).toBe(false);
    // Rotating twice keeps every secret still in its grace period.
    await app.api('POST', `/v1/tenants/now/endpoints/${ep.body.id}/secret/rotate`, { grace_period_s: 3600 });
    const third = await app.api<SecretAnswer>(
      'POST',
      `/v1/tenants/now/endpoints/${ep.body.id}/secret/rotate`,
      {
        grace_period_s: 7200,
      },
    );
    expect(third.body.previous_valid_until).toHaveLength(2);
    const got3 = await deliverOne('now');
    expect(String(got3.headers['webhook-signature']).split(' ')).toHaveLength(3);
    expect(verifies(chosen, got3)).toBe(true);
    expect(verifies(third.body.secret, got3)).toBe(true);
  });

  it('an ed25519 endpoint sends v1a signatures that verify with its public key', async () => {
    await app.api('POST', '/v1/tenants', { id: 'ed', name: 'Ed' });
    const ep = await app.api<{ id: string; secret: string; signing: string; public_key: string }>(
      'POST',
      '/v1/tenants/ed/endpoints',
      { url: `${rx.url}/ed`, signing: 'ed25519' },
    );
    expect(ep.status).toBe(201);
    expect(ep.body.signing).toBe('ed25519');
    expect(ep.body.public_key).toMatch(/^whpk_/);
    // What the tenant is given is the public key; the secret key never leaves Tidings.
    expect(ep.body.secret).toBe(ep.body.public_key);
    const shown = await app.api<{ public_key: string; signing: string }>(
      'GET',
      `/v1/tenants/ed/endpoints/${ep.body.id}`,
    );
    expect(shown.body).toMatchObject({ signing: 'ed25519', public_key: ep.body.public_key });
    const secret = await app.api<SecretAnswer>('GET', `/v1/tenants/ed/endpoints/${ep.body.id}/secret`);
    expect(secret.body).toMatchObject({ secret: ep.body.public_key, public_key: ep.body.public_key });
    expect(JSON.stringify([ep.body, shown.body, secret.body])).not.toContain('whsk_');

    const got = await deliverOne('ed');
    const sig = String(got.headers['webhook-signature']);
    expect(sig).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(ed25519Verifies(ep.body.public_key, got)).toBe(true);
    expect(ed25519Verifies(`whpk_${Buffer.alloc(32, 1).toString('base64')}`, got)).toBe(false);
  });

  it('reproduces the Standard Webhooks Ed25519 vector through a real delivery', async () => {
    await app.api('POST', '/v1/tenants', { id: 'vec', name: 'Vector' });
    const ep = await app.api<{ id: string; public_key: string }>('POST', '/v1/tenants/vec/endpoints', {
      url: `${rx.url}/vector`,
      signing: 'ed25519',
      secret: SPEC.secretKey,
      profile: 'raw',
      event_types: ['vector.test'],
    });
    expect(ep.status).toBe(201);
    expect(ep.body.public_key).toBe(SPEC.publicKey);
    const saved = clock.now();
    clock.set(new Date(SPEC.timestamp * 1000));
    try {
      const pub = await app.api<{ id: string }>('POST', '/v1/tenants/vec/events', undefined, {
        rawBody: `{"type":"vector.test","id":"${SPEC.id}","payload":${SPEC.body}}`,
      });
      expect(pub.status).toBe(202);
      seen += 1;
      const got = (await rx.waitFor(seen))[seen - 1]!;
      expect(got.body).toBe(SPEC.body);
      expect(got.headers['webhook-id']).toBe(SPEC.id);
      expect(got.headers['webhook-timestamp']).toBe(String(SPEC.timestamp));
      expect(got.headers['webhook-signature']).toBe(SPEC.signature);
    } finally {
      clock.set(saved);
    }
  });

  it('switching an endpoint from hmac to ed25519 keeps the old secret signing through the grace period', async () => {
    await app.api('POST', '/v1/tenants', { id: 'sw', name: 'Switch' });
    const ep = await app.api<{ id: string; secret: string }>('POST', '/v1/tenants/sw/endpoints', {
      url: `${rx.url}/sw`,
    });
    const patched = await app.api<{ signing: string; public_key: string }>(
      'PATCH',
      `/v1/tenants/sw/endpoints/${ep.body.id}`,
      {
        signing: 'ed25519',
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.signing).toBe('ed25519');
    const during = await deliverOne('sw');
    const sigs = String(during.headers['webhook-signature']).split(' ');
    expect(sigs.map((s) => s.split(',')[0])).toEqual(['v1a', 'v1']);
    expect(ed25519Verifies(patched.body.public_key, during)).toBe(true);
    expect(verifies(ep.body.secret, during)).toBe(true);
    clock.advance(DAY_MS);
    const after = await deliverOne('sw');
    expect(verifies(ep.body.secret, after)).toBe(false);
    expect(ed25519Verifies(patched.body.public_key, after)).toBe(true);
    // Patching to the scheme it already has changes nothing.
    await app.api('PATCH', `/v1/tenants/sw/endpoints/${ep.body.id}`, { signing: 'ed25519' });
    const same = await app.api<{ public_key: string }>('GET', `/v1/tenants/sw/endpoints/${ep.body.id}`);
    expect(same.body.public_key).toBe(patched.body.public_key);
  });

  it('refuses what cannot work: canopy with ed25519, a secret of the wrong kind', async () => {
    await app.api('POST', '/v1/tenants', { id: 'no', name: 'No' });
    const canopy = await app.api<{ error: { code: string } }>('POST', '/v1/tenants/no/endpoints', {
      url: 'https://example.com/c',
      profile: 'canopy',
      signing: 'ed25519',
    });
    expect(canopy.status).toBe(422);
    expect(canopy.body.error.code).toBe('profile_needs_hmac');
    const wrong = await app.api('POST', '/v1/tenants/no/endpoints', {
      url: 'https://example.com/c',
      signing: 'ed25519',
      secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
    });
    expect(wrong.status).toBe(422);
    const ep = await app.api<{ id: string }>('POST', '/v1/tenants/no/endpoints', {
      url: 'https://example.com/c',
      profile: 'canopy',
    });
    const toEd = await app.api('PATCH', `/v1/tenants/no/endpoints/${ep.body.id}`, { signing: 'ed25519' });
    expect(toEd.status).toBe(422);
    const rotateToEd = await app.api('POST', `/v1/tenants/no/endpoints/${ep.body.id}/secret/rotate`, {
      secret: SPEC.secretKey,
    });
    expect(rotateToEd.status).toBe(422);
    expect((await app.api('POST', '/v1/tenants/no/endpoints/ep_missing/secret/rotate', {})).status).toBe(404);
  });
});
