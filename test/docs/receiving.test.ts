// The receiver snippets of docs/receiving.md (Node.js with standardwebhooks, Python with its
// standard library, Java with the JDK), each run as its own process against real deliveries
// of every wire profile, signed v1 (HMAC) and v1a (Ed25519), and through a secret rotation:
// Tidings records each delivery as answered 204, the snippet processes it once, refuses a
// forgery, a replay and a stale timestamp, and answers a repeat without processing it again.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_NAMES } from '../../src/delivery/profiles/index.js';
import { newKeyPair } from '../../src/signing/ed25519.js';
import { newSecret } from '../../src/signing/hmac.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/wait.js';

const DIR = path.resolve('docs/receiving');

const SNIPPETS: Record<string, { cmd: string; args: string[] }> = {
  node: { cmd: process.execPath, args: [path.join(DIR, 'node/receiver.mjs')] },
  python: { cmd: 'python3', args: [path.join(DIR, 'python/receiver.py')] },
  java: { cmd: 'java', args: [path.join(DIR, 'java/Receiver.java')] },
};

interface Line {
  event: 'listening' | 'processed' | 'duplicate' | 'rejected';
  port?: number;
  id?: string;
  sequence?: number | null;
  body?: unknown;
  reason?: string;
}

interface Snippet {
  url: string;
  lines: Line[];
  stop(): void;
}

async function startSnippet(language: string, secret: string): Promise<Snippet> {
  const { cmd, args } = SNIPPETS[language]!;
  const proc: ChildProcess = spawn(cmd, args, {
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let buffered = '';
  let errors = '';
  proc.stdout!.on('data', (b: Buffer) => {
    buffered += b.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Line);
  });
  proc.stderr!.on('data', (b: Buffer) => {
    errors += b.toString();
  });
  const listening = await until(
    () =>
      lines.find((l) => l.event === 'listening') ??
      (proc.exitCode !== null ? Promise.reject(new Error(errors)) : undefined),
    `the ${language} receiver to listen (${errors})`,
  );
  return { url: `http://127.0.0.1:${listening.port}`, lines, stop: () => proc.kill() };
}

/** A profile's endpoint per scheme: canopy signs its body with HMAC, so it is not ed25519. */
const profilesFor = (scheme: 'hmac' | 'ed25519') =>
  PROFILE_NAMES.filter((p) => !(scheme === 'ed25519' && p === 'canopy'));

let app: TestApp;
const running: Snippet[] = [];
let tenants = 0;

beforeAll(async () => {
  app = await startApp('pglite');
  await app.api('PUT', '/v1/event-types/bill_payments.paid', { description: 'A bill was paid' });
});
afterAll(async () => {
  for (const s of running) s.stop();
  await app?.stop();
});

describe.each(Object.keys(SNIPPETS))('the %s receiver of docs/receiving.md', (language) => {
  const start = async (secret: string) => {
    const s = await startSnippet(language, secret);
    running.push(s);
    return s;
  };

  async function publish(tid: string, n: number): Promise<string> {
    const res = await app.api<{ id: string }>('POST', `/v1/tenants/${tid}/events`, {
      type: 'bill_payments.paid',
      payload: { bill_payment_id: `bp_${n}`, amount_cents: 100 * n },
    });
    expect(res.status).toBe(202);
    return res.body.id;
  }

  /** Waits until every delivery of the event is done, and returns them. */
  async function deliveriesOf(tid: string, eventId: string) {
    return until(async () => {
      const r = await app.api<{
        deliveries: { id: string; endpoint_id: string; state: string; last_status: number }[];
      }>('GET', `/v1/tenants/${tid}/events/${eventId}`);
      const ds = r.body.deliveries;
      return ds.every((d) => d.state === 'succeeded' || d.state === 'failed') ? ds : undefined;
    }, `the deliveries of ${eventId}`);
  }

  it.each(['hmac', 'ed25519'] as const)(
    'verifies every profile signed %s, and through a rotation',
    async (scheme) => {
      const tid = `${language}-${scheme}-${++tenants}`;
      await app.api('POST', '/v1/tenants', { id: tid, name: tid });
      const pair = (): { sign: string; verify: string } => {
        if (scheme === 'hmac') {
          const s = newSecret();
          return { sign: s, verify: s };
        }
        const k = newKeyPair();
        return { sign: k.secretKey, verify: k.publicKey };
      };
      const first = pair();
      const r1 = await start(first.verify);
      const profiles = profilesFor(scheme);
      const endpoints: string[] = [];
      for (const profile of profiles) {
        const res = await app.api<{ id: string }>('POST', `/v1/tenants/${tid}/endpoints`, {
          url: `${r1.url}/${profile}`,
          profile,
          signing: scheme,
          secret: first.sign,
          ordering: 'endpoint',
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        endpoints.push(res.body.id);
      }

      // Every profile verifies; Tidings records the snippet's quick 204.
      const e1 = await publish(tid, 1);
      const d1 = await deliveriesOf(tid, e1);
      expect(d1.map((d) => [d.state, d.last_status])).toEqual(profiles.map(() => ['succeeded', 204]));
      await until(
        () => r1.lines.filter((l) => l.event === 'processed' && l.id === e1).length === profiles.length,
        'processing',
      );
      const processed = r1.lines.filter((l) => l.event === 'processed' && l.id === e1);
      expect(processed.map((l) => l.sequence)).toEqual(profiles.map(() => 1));
      expect(processed.map((l) => JSON.stringify(l.body))).toEqual(
        expect.arrayContaining([expect.stringContaining('"bill_payment_id":"bp_1"')]),
      );

      // A resend is the same webhook-id: answered, not processed again.
      await app.api('POST', `/v1/tenants/${tid}/deliveries/${d1[0]!.id}/resend`);
      await until(() => r1.lines.some((l) => l.event === 'duplicate' && l.id === e1), 'the duplicate');
      expect(r1.lines.filter((l) => l.event === 'processed' && l.id === e1)).toHaveLength(profiles.length);

      // Rotation: the new secret signs beside the old one; the receiver that still holds the old
      // one verifies, and so does one that already holds the new one.
      const second = pair();
      for (const eid of endpoints) {
        const res = await app.api('POST', `/v1/tenants/${tid}/endpoints/${eid}/secret/rotate`, {
          secret: second.sign,
          grace_period_s: 3600,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
      const e2 = await publish(tid, 2);
      const d2 = await deliveriesOf(tid, e2);
      expect(d2.every((d) => d.state === 'succeeded')).toBe(true);
      const sent = await app.api<{ attempt_log: { request_headers: Record<string, string> }[] }>(
        'GET',
        `/v1/tenants/${tid}/deliveries/${d2[0]!.id}`,
      );
      // Two signatures: the old secret's and the new one's.
      expect(sent.body.attempt_log[0]!.request_headers['webhook-signature']!.split(' ')).toHaveLength(2);
      await until(
        () => r1.lines.filter((l) => l.event === 'processed' && l.id === e2).length === profiles.length,
        'old key',
      );
      const r2 = await start(second.verify);
      for (const [i, eid] of endpoints.entries()) {
        await app.api('PATCH', `/v1/tenants/${tid}/endpoints/${eid}`, { url: `${r2.url}/${profiles[i]}` });
      }
      const e3 = await publish(tid, 3);
      expect((await deliveriesOf(tid, e3)).every((d) => d.state === 'succeeded')).toBe(true);
      await until(
        () => r2.lines.filter((l) => l.event === 'processed' && l.id === e3).length === profiles.length,
        'new key',
      );
      expect(r2.lines.filter((l) => l.event === 'processed').map((l) => l.sequence)).toEqual(
        profiles.map(() => 3),
      );
      expect(r1.lines.some((l) => l.event === 'rejected')).toBe(false);
      expect(r2.lines.some((l) => l.event === 'rejected')).toBe(false);
    },
  );

  it('refuses a forged signature, a changed body and a stale timestamp', async () => {
    const secret = newSecret();
    const r = await start(secret);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const send = (id: string, ts: number, body: string, signed = body) =>
      fetch(`${r.url}/hooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': `v1,${createHmac('sha256', key).update(`${id}.${ts}.${signed}`).digest('base64')}`,
        },
        body,
      });
    const now = Math.floor(Date.now() / 1000);
    expect((await send('msg_good', now, '{"a":1}')).status).toBe(204);
    expect((await send('msg_changed', now, '{"a":2}', '{"a":1}')).status).toBe(400);
    expect((await send('msg_stale', now - 600, '{"a":1}')).status).toBe(400);
    const forged = await fetch(`${r.url}/hooks`, {
      method: 'POST',
      headers: {
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(now),
        'webhook-signature': 'v1,AAAA',
      },
      body: '{"a":1}',
    });
    expect(forged.status).toBe(400);
    await until(() => r.lines.filter((l) => l.event === 'rejected').length === 3, 'three rejections');
    expect(r.lines.filter((l) => l.event === 'processed').map((l) => l.id)).toEqual(['msg_good']);
  });
});
