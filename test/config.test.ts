import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.requestTimeoutMs).toBe(15_000);
    expect(c.maxPayloadBytes).toBe(256 * 1024);
    expect(c.retryScheduleMs).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(c.roles).toEqual(['api', 'worker', 'scheduler']);
    expect(c.allowPrivateTargets).toEqual([]);
  });

  it.each([
    [{ TIDINGS_PORT: 'eighty' }, 'TIDINGS_PORT'],
    [{ TIDINGS_PORT: '70000' }, 'TIDINGS_PORT'],
    [{ TIDINGS_RETRY_SCHEDULE: '5s,soon' }, 'TIDINGS_RETRY_SCHEDULE'],
    [{ TIDINGS_ALLOW_PRIVATE_TARGETS: '10.0.0.0/33' }, 'TIDINGS_ALLOW_PRIVATE_TARGETS'],
    [{ TIDINGS_ALLOW_PRIVATE_TARGETS: 'intranet' }, 'TIDINGS_ALLOW_PRIVATE_TARGETS'],
    [{ TIDINGS_LOG_LEVEL: 'loud' }, 'TIDINGS_LOG_LEVEL'],
    [{ TIDINGS_ADMIN_TOKEN: 'short' }, 'TIDINGS_ADMIN_TOKEN'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ TIDINGS_WORKER_CONCURRENCY: '0' }, 'TIDINGS_WORKER_CONCURRENCY'],
    [{ TIDINGS_MAX_PAYLOAD_BYTES: '-1' }, 'TIDINGS_MAX_PAYLOAD_BYTES'],
    [{ TIDINGS_REQUEST_TIMEOUT_MS: '1.5' }, 'TIDINGS_REQUEST_TIMEOUT_MS'],
    [{ TIDINGS_REQUIRE_HTTPS: 'maybe' }, 'TIDINGS_REQUIRE_HTTPS'],
  ])('refuses %j naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as ConfigError).setting).toBe(setting);
      expect((err as Error).message).toContain(setting);
    }
  });

  it('refuses an unknown role', () => {
    expect(() => loadConfig({}, { roles: 'api,mailer' })).toThrow(/--roles/);
  });

  it('lets flags win over the environment', () => {
    const c = loadConfig({ TIDINGS_PORT: '9000' }, { port: '9001', roles: 'worker' });
    expect(c.port).toBe(9001);
    expect(c.roles).toEqual(['worker']);
  });

  it('reads durations and CIDR lists', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('3')).toBe(3000);
    expect(parseDuration('x')).toBeUndefined();
    const c = loadConfig({ TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32, ::1, 10.0.0.0/8' });
    expect(c.allowPrivateTargetsText).toEqual(['127.0.0.1/32', '::1', '10.0.0.0/8']);
    expect(c.allowPrivateTargets).toHaveLength(3);
  });
});
