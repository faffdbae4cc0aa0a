// A catalog's endpoint_defaults: Highline's fixes the highline profile. An endpoint created
// without a profile gets it; a tenant cannot choose another (422 profile_locked), the operator
// can; a second catalog with other defaults is refused; loading Highline's again without them
// lifts them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { catalogText, loadCatalog } from './support.js';

describe.each(engines())('catalog endpoint defaults (%s)', (engine) => {
  let app: TestApp;
  let token = '';
  beforeAll(async () => {
    app = await startApp(engine, {}, { roles: 'api' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    token = (await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', {})).body.token;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const defaults = () => app.api('GET', '/v1/tenants/acme/endpoint-defaults', undefined, { token });
  const create = (body: Record<string, unknown>, as: 'tenant' | 'operator' = 'tenant') =>
    app.api<{ profile: string; id: string; error?: { code: string; details: unknown } }>(
      'POST',
      '/v1/tenants/acme/endpoints',
      { url: 'https://example.com/hook', ...body },
      as === 'tenant' ? { token } : {},
    );

  it('without a catalog that sets them: standard, any profile', async () => {
    expect((await defaults()).body).toEqual({ profile: 'standard', locked: false, catalog: null });
    expect((await create({})).body.profile).toBe('standard');
  });

  it("Highline's catalog fixes the highline profile for tenants", async () => {
    await loadCatalog(app, 'highline');
    expect((await defaults()).body).toEqual({ profile: 'highline', locked: true, catalog: 'highline' });
    const made = await create({});
    expect(made.status).toBe(201);
    expect(made.body.profile).toBe('highline');
    expect((await create({ profile: 'highline' })).status).toBe(201);
    const refused = await create({ profile: 'standard' });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'profile_locked', details: { profile: 'highline' } });
    const patched = await app.api<{ error: { code: string } }>(
      'PATCH',
      `/v1/tenants/acme/endpoints/${made.body.id}`,
      { profile: 'raw' },
      { token },
    );
    expect(patched.status).toBe(422);
    expect(patched.body.error.code).toBe('profile_locked');
    // A PATCH that leaves the profile alone is fine.
    const described = await app.api(
      'PATCH',
      `/v1/tenants/acme/endpoints/${made.body.id}`,
      { description: 'x' },
      { token },
    );
    expect(described.status).toBe(200);
    // The operator may still choose (its own endpoints, a migration).
    const byOperator = await create({ profile: 'standard' }, 'operator');
    expect(byOperator.status).toBe(201);
    expect(byOperator.body.profile).toBe('standard');
  });

  it('refuses a second catalog with other defaults, and lifts them when Highline is loaded without', async () => {
    const other = catalogText('billie')
      .replace('"name": "billie"', '"name": "billie-locked"')
      .replace(/"event_types": \[/, '"endpoint_defaults": {"profile": "billie"},\n  "event_types": [');
    const res = await app.api<{ error: { code: string; message: string } }>(
      'PUT',
      '/v1/catalog?file=billie-locked.json',
      undefined,
      { rawBody: other },
    );
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('invalid_catalog');
    expect(res.body.error.message).toContain('catalog "highline" already sets');
    const unknown = catalogText('highline').replace(
      '"endpoint_defaults": { "profile": "highline", "locked": true }',
      '"endpoint_defaults": { "profile": "fancy" }',
    );
    const bad = await app.api<{ error: { message: string } }>('PUT', '/v1/catalog?file=h.json', undefined, {
      rawBody: unknown,
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.message).toContain('endpoint_defaults.profile: unknown wire profile "fancy"');
    const without = catalogText('highline').replace(
      '  "endpoint_defaults": { "profile": "highline", "locked": true },\n',
      '',
    );
    expect(without).not.toContain('endpoint_defaults');
    expect((await app.api('PUT', '/v1/catalog?file=h.json', undefined, { rawBody: without })).status).toBe(
      200,
    );
    expect((await defaults()).body).toEqual({ profile: 'standard', locked: false, catalog: null });
    expect((await create({ profile: 'raw' })).status).toBe(201);
  });
});
