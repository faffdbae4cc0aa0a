// The small rules of the destinations: the setting, URL kinds, {type} names, what counts as a
// certificate refusal, the connection pool's single flight, and target loading in batches.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { isCertificateRefusal } from '../../../src/delivery/destinations/http.js';
import { type BrokerConnection, ConnectionPool } from '../../../src/delivery/destinations/pool.js';
import { EndpointTargets } from '../../../src/delivery/destinations/targets.js';
import { expandName, kindOfUrl, messageHeaders } from '../../../src/delivery/destinations/types.js';
import { createEndpoint, updateEndpoint } from '../../../src/store/endpoints.js';
import { plainCodec } from '../../../src/store/secrets.js';
import { createTenant } from '../../../src/store/tenants.js';
import { freshDb } from '../../helpers/engines.js';

describe('TIDINGS_DESTINATION_SCHEMES', () => {
  it('defaults to https and http, takes known schemes in any case and spelling, refuses others', () => {
    expect(loadConfig({}).destinationSchemes).toEqual(['https', 'http']);
    expect(
      loadConfig({ TIDINGS_DESTINATION_SCHEMES: 'HTTPS, nats://, amqps:,rediss' }).destinationSchemes,
    ).toEqual(['https', 'nats', 'amqps', 'rediss']);
    expect(() => loadConfig({ TIDINGS_DESTINATION_SCHEMES: 'https,kafka' })).toThrow(
      'TIDINGS_DESTINATION_SCHEMES: unknown scheme "kafka"',
    );
    expect(() => loadConfig({ TIDINGS_DESTINATION_SCHEMES: ' , ' })).toThrow('at least one scheme');
  });
});

describe('destination names', () => {
  it('knows the kind of a URL by its scheme', () => {
    expect(
      [
        'https://a',
        'http://a',
        'nats://a',
        'amqp://a',
        'amqps://a',
        'redis://a',
        'rediss://a',
        'ftp://a',
      ].map(kindOfUrl),
    ).toEqual(['http', 'http', 'nats', 'amqp', 'amqp', 'redis', 'redis', undefined]);
  });
  it('fills {type} and leaves the HTTP-only headers out of broker messages', () => {
    expect(expandName('bank.{type}.v1', 'bill_payments.paid')).toBe('bank.bill_payments.paid.v1');
    expect(messageHeaders({ 'user-agent': 'Tidings', 'webhook-id': 'msg_1', 'X-Api-Key': 'k' })).toEqual({
      'webhook-id': 'msg_1',
      'X-Api-Key': 'k',
    });
  });
  it('takes TLS alerts and a close before any answer for a refused certificate, nothing else', () => {
    const r = (status: number | null, error: string | null) => ({
      ok: false,
      status,
      headers: null,
      body: null,
      error,
      durationMs: 1,
    });
    expect(isCertificateRefusal(r(null, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: alert unknown ca'))).toBe(true);
    expect(isCertificateRefusal(r(null, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: x'))).toBe(true);
    expect(isCertificateRefusal(r(null, 'UND_ERR_SOCKET: other side closed'))).toBe(true);
    expect(isCertificateRefusal(r(null, 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1'))).toBe(false);
    expect(isCertificateRefusal(r(null, 'timeout: no complete answer within 100 ms'))).toBe(false);
    expect(isCertificateRefusal(r(403, 'HTTP 403'))).toBe(false);
  });
});

describe('ConnectionPool', () => {
  class Conn implements BrokerConnection {
    closed = false;
    alive = true;
    usable() {
      return this.alive;
    }
    async close() {
      this.closed = true;
    }
  }

  it('opens once for callers that arrive together, does not keep a failed open, replaces a dead connection', async () => {
    const pool = new ConnectionPool<Conn>();
    let opens = 0;
    let fail = true;
    const open = async () => {
      opens += 1;
      await new Promise((r) => setTimeout(r, 10));
      if (fail) throw new Error('ECONNREFUSED');
      return new Conn();
    };
    const failed = await Promise.allSettled([pool.get('k', open), pool.get('k', open), pool.get('k', open)]);
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    expect(opens).toBe(1);
    fail = false;
    const [a, b] = await Promise.all([pool.get('k', open), pool.get('k', open)]);
    expect(a).toBe(b);
    expect(opens).toBe(2);
    a.alive = false;
    const c = await pool.get('k', open);
    expect(c).not.toBe(a);
    expect(a.closed).toBe(true);
    await pool.close();
    expect(c.closed).toBe(true);
    await expect(pool.get('k', open)).rejects.toThrow('destinations are closed');
  });
});

describe('EndpointTargets', () => {
  it('loads the endpoints wanted in one turn with one statement, and reloads a stale one', async () => {
    const t = await freshDb('pglite');
    try {
      const at = new Date('2026-03-02T09:00:00Z');
      await createTenant(t.db, { id: 't', name: 'T' }, at);
      for (const id of ['ep_1', 'ep_2', 'ep_3']) {
        await createEndpoint(
          t.db,
          plainCodec,
          id,
          't',
          { url: `https://${id}.example/`, secret: 'whsec_x' },
          at,
        );
      }
      const targets = new EndpointTargets({ q: t.db, codec: plainCodec, ttlMs: 60_000 });
      const got = await Promise.all(['ep_1', 'ep_2', 'ep_3', 'ep_1', 'ep_gone'].map((id) => targets.get(id)));
      expect(targets.loads).toBe(1);
      expect(got.map((g) => g.url)).toEqual([
        'https://ep_1.example/',
        'https://ep_2.example/',
        'https://ep_3.example/',
        'https://ep_1.example/',
        '',
      ]);
      expect(got[4]!.problem).toBe('the endpoint no longer exists');
      // Cached: no statement. A claimed URL or version that differs reloads.
      await targets.get('ep_1', { url: 'https://ep_1.example/' });
      expect(targets.loads).toBe(1);
      const changed = new Date(at.getTime() + 5000);
      await updateEndpoint(t.db, plainCodec, 't', 'ep_2', { url: 'https://moved.example/' }, changed);
      expect((await targets.get('ep_2', { url: 'https://moved.example/' })).url).toBe(
        'https://moved.example/',
      );
      expect(targets.loads).toBe(2);
      await targets.get('ep_2', { version: changed.getTime() });
      expect(targets.loads).toBe(2);
      await targets.get('ep_3', { version: changed.getTime() });
      expect(targets.loads).toBe(3);
      // The store away: the target loaded last, or one whose problem says so; no throw.
      await t.db.close();
      const stale = await targets.get('ep_1', { version: 1 });
      expect(stale.url).toBe('https://ep_1.example/');
      expect(stale.problem).toBeUndefined();
      const down = await targets.get('ep_never_seen');
      expect(down.problem).toMatch(/^could not load the endpoint's settings: /);
    } finally {
      await t.drop().catch(() => {});
    }
  });
});
