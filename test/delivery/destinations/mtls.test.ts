// Mutual TLS to an HTTPS receiver that requires a client certificate from a test CA (made with
// openssl here): accepted with the certificate, refused without it or with one it does not
// trust; a rotation's overlap lets the receiver switch its trust at any moment; agents follow
// the endpoint's settings; the pinned-address rules still hold.
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationSet } from '../../../src/delivery/destinations/index.js';
import { send } from '../../../src/delivery/sender.js';
import type { MtlsSettings } from '../../../src/store/endpointTargets.js';
import { type MtlsReceiver, startMtlsReceiver } from '../../helpers/mtlsReceiver.js';
import { type KeyPair, makeCa, type TestCa } from '../../helpers/testCa.js';
import { destinations, signedRequest, target, verify } from './support.js';

describe('mTLS destinations', () => {
  let serverCa: TestCa;
  let oldCa: TestCa;
  let newCa: TestCa;
  let rx: MtlsReceiver;
  let d: DestinationSet;
  let oldCert: KeyPair;
  let newCert: KeyPair;

  beforeAll(async () => {
    serverCa = makeCa('Receiver server CA');
    oldCa = makeCa('Bank client CA 2025');
    newCa = makeCa('Bank client CA 2026');
    oldCert = oldCa.issue('tidings-2025');
    newCert = newCa.issue('tidings-2026');
    rx = await startMtlsReceiver(serverCa.issue('127.0.0.1', { server: true }), [oldCa.cert]);
    d = destinations();
  });
  afterAll(async () => {
    await d.close();
    await rx.close();
  });

  const mtls = (current: KeyPair, previous: (KeyPair & { expires_at: string })[] = []): MtlsSettings => ({
    current: { certificate: current.cert, key: current.key },
    previous: previous.map((p) => ({ certificate: p.cert, key: p.key, expires_at: p.expires_at })),
    ca: serverCa.cert,
  });
  const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

  it('delivers with the client certificate; the receiver verifies the signature', async () => {
    const { req, secret } = signedRequest({ loan: 'L-9' });
    const res = await d.send(target(`${rx.url}/hooks`, { mtls: mtls(oldCert) }), req);
    expect(res.error).toBeNull();
    expect(res.status).toBe(200);
    const got = rx.requests.at(-1)!;
    expect(got.commonName).toBe('tidings-2025');
    expect(verify(secret, got.body, got.headers as Record<string, string>)).toMatchObject({
      data: { loan: 'L-9' },
    });
  });

  it('is refused without a certificate, or with one from a CA the receiver does not trust', async () => {
    const before = rx.requests.length;
    const refusedBefore = rx.refused;
    // No client certificate, the receiver's server certificate trusted: the receiver refuses.
    const plain = new Agent({ connect: { ca: serverCa.cert } });
    const none = await send(plain, {
      url: `${rx.url}/hooks`,
      headers: {},
      body: '{}',
      timeoutMs: 3000,
      bodyLimit: 100,
    });
    await plain.close();
    expect(none.ok).toBe(false);
    expect(none.status).toBeNull();
    const untrusted = await d.send(target(`${rx.url}/hooks`, { mtls: mtls(newCert) }), signedRequest().req);
    expect(untrusted.ok).toBe(false);
    expect(untrusted.status).toBeNull();
    expect(rx.requests.length).toBe(before);
    expect(rx.refused).toBeGreaterThan(refusedBefore);
  });

  it('does not trust a receiver whose certificate is not from the endpoint CA bundle', async () => {
    const other = makeCa('Somebody else');
    const res = await d.send(
      target(`${rx.url}/hooks`, { mtls: { ...mtls(oldCert), ca: other.cert } }),
      signedRequest().req,
    );
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/);
  });

  it('rotation with overlap: the old certificate while the receiver trusts only it, the new one once it switches, never an expired one', async () => {
    const id = 'ep_rotating';
    rx.trust([oldCa.cert]);
    // Rotated: the new certificate is current, the old one offered until its grace period ends.
    const rotated = mtls(newCert, [{ ...oldCert, expires_at: inAnHour() }]);
    const first = await d.send(target(`${rx.url}/r`, { id, version: 2, mtls: rotated }), signedRequest().req);
    expect(first.error).toBeNull();
    expect(rx.requests.at(-1)!.commonName).toBe('tidings-2025');

    // The receiver moves to the new CA only: the old certificate is refused, the new one taken.
    rx.trust([newCa.cert]);
    const second = await d.send(
      target(`${rx.url}/r`, { id, version: 2, mtls: rotated }),
      signedRequest().req,
    );
    expect(second.error).toBeNull();
    expect(rx.requests.at(-1)!.commonName).toBe('tidings-2026');
    // And it stays with the new one.
    const third = await d.send(target(`${rx.url}/r`, { id, version: 2, mtls: rotated }), signedRequest().req);
    expect(third.error).toBeNull();
    expect(rx.requests.at(-1)!.commonName).toBe('tidings-2026');

    // A replaced certificate whose grace period is over is not offered any more.
    rx.trust([oldCa.cert]);
    const expired = mtls(newCert, [{ ...oldCert, expires_at: new Date(Date.now() - 1000).toISOString() }]);
    const before = rx.requests.length;
    const fourth = await d.send(
      target(`${rx.url}/r`, { id, version: 3, mtls: expired }),
      signedRequest().req,
    );
    expect(fourth.ok).toBe(false);
    expect(rx.requests.length).toBe(before);
    rx.trust([oldCa.cert]);
  });

  it('follows the endpoint settings: a new certificate is used from the next send on', async () => {
    rx.trust([oldCa.cert, newCa.cert]);
    const id = 'ep_changing';
    await d.send(target(`${rx.url}/c`, { id, version: 10, mtls: mtls(oldCert) }), signedRequest().req);
    expect(rx.requests.at(-1)!.commonName).toBe('tidings-2025');
    await d.send(target(`${rx.url}/c`, { id, version: 11, mtls: mtls(newCert) }), signedRequest().req);
    expect(rx.requests.at(-1)!.commonName).toBe('tidings-2026');
    rx.trust([oldCa.cert]);
  });

  it('keeps the pinned-address rules: an address not allowed is refused before any handshake', async () => {
    const res = await d.send(
      target(rx.url.replace('127.0.0.1', '127.0.0.3'), { mtls: mtls(oldCert) }),
      signedRequest().req,
    );
    expect(res.ok).toBe(false);
    expect(res.error).toBe('TARGET_BLOCKED: refused: 127.0.0.3 is loopback');
  });
});
