// /readyz tells a process that is up from one that works (issue 13: every claim threw for
// hours while /readyz stayed green). A role's loop failing continuously for longer than
// TIDINGS_LOOP_FAILING_AFTER turns it 503, naming the role; parked endpoints are counted
// (the rest flows, so the process stays ready).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { LoopHealth } from '../../src/loopHealth.js';
import { parkEndpoint } from '../../src/store/faults.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { until } from '../helpers/wait.js';

describe('LoopHealth', () => {
  it('reports a loop failing without a success for longer than the threshold, until it succeeds', () => {
    let now = 1_000;
    const loops = new LoopHealth(() => now);
    loops.ok('worker');
    loops.failed('scheduler');
    now += 5_000;
    loops.failed('scheduler');
    expect(loops.failing(10_000)).toEqual([]);
    now += 5_001;
    expect(loops.failing(10_000).map((f) => [f.role, f.failures, f.failingForMs])).toEqual([
      ['scheduler', 2, 10_001],
    ]);
    loops.ok('scheduler');
    expect(loops.failing(10_000)).toEqual([]);
    // A streak starts at its first failure, not at the last success.
    now += 60_000;
    loops.failed('worker');
    expect(loops.failing(10_000)).toEqual([]);
  });

  it('reads a watched loop by its parts, on its own clock', () => {
    const clock = new ManualClock(new Date('2031-01-01T00:00:00Z'));
    const status = {
      claim: { failingSince: null as Date | null },
      ack: { failingSince: null as Date | null },
    };
    const loops = new LoopHealth();
    loops.watch('worker', () => status, clock);
    expect(loops.list()).toEqual([{ role: 'worker', failing: false }]);
    status.ack.failingSince = clock.now();
    clock.advance(31_000);
    expect(loops.list()).toEqual([{ role: 'worker', failing: true }]);
    expect(loops.failing(30_000).map((f) => [f.role, f.part, f.failingForMs])).toEqual([
      ['worker', 'ack', 31_000],
    ]);
    status.ack.failingSince = null;
    expect(loops.failing(30_000)).toEqual([]);
  });
});

describe.each(engines())('/readyz (%s)', (engine) => {
  let app: TestApp;
  const ready = async () => {
    const r = await fetch(`${app.url}/readyz`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_LOOP_FAILING_AFTER: '500ms' }, { roles: 'api,worker,scheduler' });
  });
  afterAll(() => app?.stop());

  it('is ready while the loops go round', async () => {
    const r = await until(async () => {
      const x = await ready();
      const loops = x.body.loops as Record<string, string> | undefined;
      return loops?.worker && loops.scheduler ? x : undefined;
    }, 'both loops to report');
    expect(r).toEqual({
      status: 200,
      body: {
        status: 'ready',
        store: engine,
        loops: { worker: 'ok', scheduler: 'ok' },
        parked_endpoints: 0,
      },
    });
  });

  /**
   * While `sql` holds, every round of a loop throws: the first 503 /readyz gives meanwhile.
   * It is ready again once `undo` has run.
   */
  async function unreadyWhile(sql: string, undo: string) {
    await app.testDb.db.exec(sql);
    try {
      return await until(async () => {
        const x = await ready();
        return x.status === 503 ? x : undefined;
      }, '/readyz to turn 503');
    } finally {
      await app.testDb.db.exec(undo);
      await until(async () => (await ready()).status === 200, '/readyz to be ready again');
    }
  }

  it('answers 503 naming the worker while every claim fails, and is ready again after', async () => {
    // Every claim consumes turn marks; the store now refuses that as if out of resources (a
    // failure of the store, not of one endpoint's data, so nothing is parked).
    const r = await unreadyWhile(
      `CREATE FUNCTION test_store_refuses() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'out of resources (test)' USING ERRCODE = '53000'; END $$;
       CREATE TRIGGER test_store_refuses BEFORE DELETE ON endpoint_turns
         FOR EACH STATEMENT EXECUTE FUNCTION test_store_refuses();`,
      `DROP TRIGGER test_store_refuses ON endpoint_turns; DROP FUNCTION test_store_refuses();`,
    );
    expect(r.body).toMatchObject({
      error: { code: 'loop_failing', details: { roles: ['worker'], threshold_ms: 500 } },
    });
    expect((r.body.error as { message: string }).message).toMatch(
      /^the worker loop \(claim\) has failed for \d+ s/,
    );
  });

  it('answers 503 naming the scheduler while its batches fail', async () => {
    const r = await unreadyWhile(
      'ALTER TABLE reminder_slots RENAME TO reminder_slots_away',
      'ALTER TABLE reminder_slots_away RENAME TO reminder_slots',
    );
    expect(r.body).toMatchObject({ error: { code: 'loop_failing', details: { roles: ['scheduler'] } } });
  });

  it('counts parked endpoints, and a PATCH un-parks one (its GET shows the fault meanwhile)', async () => {
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    const ep = await app.api<{ id: string; fault: unknown }>('POST', '/v1/tenants/acme/endpoints', {
      url: 'https://example.com/hook',
      disabled: true,
    });
    expect(ep.body.fault).toBeNull();
    await app.testDb.db.tx((q) => parkEndpoint(q, ep.body.id, 'RangeError: Invalid time value', new Date()));
    expect((await ready()).body).toMatchObject({ status: 'ready', parked_endpoints: 1 });
    const shown = await app.api<{ fault: { at: string; error: string } }>(
      'GET',
      `/v1/tenants/acme/endpoints/${ep.body.id}`,
    );
    expect(shown.body.fault).toEqual({ at: expect.any(String), error: 'RangeError: Invalid time value' });
    const patched = await app.api<{ fault: unknown }>('PATCH', `/v1/tenants/acme/endpoints/${ep.body.id}`, {
      description: 'fixed',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.fault).toBeNull();
    expect((await ready()).body).toMatchObject({ parked_endpoints: 0 });
  });
});
