// The destination settings in the store, on both engines: sealed at rest (no key, client secret
// or password in any column), loaded by endpoint id for a batch and opened into targets whose
// version is updated_at, a value that cannot be opened turned into the target's problem,
// certificate rotation keeping the replaced one for its grace period, and `keys rotate`
// re-sealing the new columns.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/security/secretBox.js';
import { rotateClientCertificate } from '../../src/store/endpointCertificates.js';
import { createEndpoint, getEndpoint, updateEndpoint } from '../../src/store/endpoints.js';
import {
  type DestinationSettings,
  loadEndpointTargets,
  openEndpointTarget,
} from '../../src/store/endpointTargets.js';
import { resealAll } from '../../src/store/sealed.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const T0 = new Date('2026-03-02T09:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const box = createSecretBox([k1], 'k1');

const settings: DestinationSettings = {
  mtls: {
    current: { certificate: 'CERT-A', key: 'PRIVATE-KEY-A' },
    previous: [],
    ca: 'CA-BUNDLE',
  },
  oauth: {
    token_url: 'https://auth.example/token',
    client_id: 'client',
    client_secret: 'CLIENT-SECRET',
    scope: null,
    audience: null,
    auth_method: 'client_secret_basic',
  },
  broker: null,
};

describe.each(engines())('endpoint targets in the store (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
    await createTenant(t.db, { id: 't', name: 'T' }, T0);
    await createEndpoint(
      t.db,
      box,
      'ep_a',
      't',
      { url: 'https://a.example/h', secret: 'whsec_x', ...settings },
      T0,
    );
    await createEndpoint(
      t.db,
      box,
      'ep_b',
      't',
      {
        url: 'redis://r.example:6379/1',
        secret: 'whsec_y',
        broker: {
          subject: null,
          exchange: null,
          routing_key: null,
          stream: 's',
          max_len: 10,
          username: 'u',
          password: 'BROKER-PASSWORD',
        },
      },
      T0,
    );
    await createEndpoint(t.db, box, 'ep_c', 't', { url: 'https://c.example/h', secret: 'whsec_z' }, T0);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('keeps every secret sealed at rest', async () => {
    const rows = await t.db.query<Record<string, unknown>>('SELECT mtls, oauth, broker FROM endpoints');
    const text = JSON.stringify(rows);
    for (const secret of ['PRIVATE-KEY-A', 'CLIENT-SECRET', 'BROKER-PASSWORD', 'CERT-A']) {
      expect(text).not.toContain(secret);
    }
    expect(
      rows
        .flatMap((r) => Object.values(r))
        .filter((v) => v !== null)
        .every((v) => String(v).startsWith('enc:v1:k1:')),
    ).toBe(true);
  });

  it('loads a batch by id and opens it; updated_at is the version; a missing id has no row', async () => {
    const rows = await loadEndpointTargets(t.db, ['ep_a', 'ep_b', 'ep_c', 'ep_gone']);
    const targets = new Map(rows.map((r) => [r.id, openEndpointTarget(r, box)]));
    expect([...targets.keys()].sort()).toEqual(['ep_a', 'ep_b', 'ep_c']);
    expect(targets.get('ep_a')).toEqual({
      id: 'ep_a',
      url: 'https://a.example/h',
      version: T0.getTime(),
      ...settings,
    });
    expect(targets.get('ep_b')!.broker!.password).toBe('BROKER-PASSWORD');
    expect(targets.get('ep_c')).toMatchObject({ mtls: null, oauth: null, broker: null });
    expect(targets.get('ep_c')!.problem).toBeUndefined();
    expect(await loadEndpointTargets(t.db, [])).toEqual([]);
  });

  it('a target whose settings do not open carries the problem instead of throwing', async () => {
    const [row] = await loadEndpointTargets(t.db, ['ep_a']);
    const stranger = createSecretBox([k2], 'k2');
    const target = openEndpointTarget(row!, stranger);
    expect(target.mtls).toBeNull();
    expect(target.problem).toMatch(
      /^could not open the endpoint's destination settings: sealed with key "k1"/,
    );
  });

  it('a change of the settings moves the version; null clears one', async () => {
    await updateEndpoint(t.db, box, 't', 'ep_a', { oauth: null }, later(1000));
    const [row] = await loadEndpointTargets(t.db, ['ep_a']);
    const target = openEndpointTarget(row!, box);
    expect(target.version).toBe(later(1000).getTime());
    expect(target.oauth).toBeNull();
    expect(target.mtls).toEqual(settings.mtls);
  });

  it('rotates the client certificate, keeping the replaced one until its grace period ends', async () => {
    const r = await rotateClientCertificate(
      t.db,
      box,
      't',
      'ep_a',
      { certificate: 'CERT-B', key: 'PRIVATE-KEY-B' },
      later(3_600_000),
      later(2000),
    );
    expect(r.ok).toBe(true);
    const e = await getEndpoint(t.db, box, 't', 'ep_a');
    expect(e!.mtls).toEqual({
      current: { certificate: 'CERT-B', key: 'PRIVATE-KEY-B' },
      previous: [{ certificate: 'CERT-A', key: 'PRIVATE-KEY-A', expires_at: later(3_600_000).toISOString() }],
      ca: 'CA-BUNDLE',
    });
    expect(e!.updated_at.getTime()).toBe(later(2000).getTime());
    // Again, after the first grace period ended and with none for the second: only C is left.
    const again = await rotateClientCertificate(
      t.db,
      box,
      't',
      'ep_a',
      { certificate: 'CERT-C', key: 'PRIVATE-KEY-C' },
      later(3_700_000),
      later(3_700_000),
    );
    expect(again.ok && again.mtls.previous).toEqual([]);
    expect(
      await rotateClientCertificate(t.db, box, 't', 'ep_c', { certificate: 'x', key: 'y' }, T0, T0),
    ).toEqual({
      ok: false,
      reason: 'no_mtls',
    });
    expect(
      await rotateClientCertificate(t.db, box, 'other', 'ep_a', { certificate: 'x', key: 'y' }, T0, T0),
    ).toEqual({
      ok: false,
      reason: 'not_found',
    });
  });

  it('keys rotate re-seals the destination columns with the new key', async () => {
    const both = createSecretBox([k2, k1], 'k2');
    const report = await resealAll(t.db, both);
    expect(report.failed).toEqual({});
    expect(report.resealed['endpoints.mtls']).toBe(1);
    expect(report.resealed['endpoints.broker']).toBe(1);
    const rows = await t.db.query<{ mtls: string | null; broker: string | null }>(
      'SELECT mtls, broker FROM endpoints',
    );
    for (const v of rows.flatMap((r) => [r.mtls, r.broker]).filter((x) => x !== null)) {
      expect(v!.startsWith('enc:v1:k2:')).toBe(true);
    }
    const [row] = await loadEndpointTargets(t.db, ['ep_b']);
    expect(openEndpointTarget(row!, createSecretBox([k2], 'k2')).broker!.password).toBe('BROKER-PASSWORD');
  });
});
