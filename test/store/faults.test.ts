// Parked endpoints at the store and health-sweep level (fault isolation, issue 13). The
// engine's claim and ack will call parkEndpoint for an endpoint they cannot compute with;
// here the store functions and the operator notice are held to what they promise.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { sweepEndpointHealth } from '../../src/delivery/health.js';
import { registerOperatorEventTypes } from '../../src/delivery/operatorEvents.js';
import { createLogger } from '../../src/log.js';
import { getEndpoint, updateEndpoint } from '../../src/store/endpoints.js';
import { listEvents } from '../../src/store/events.js';
import {
  countParkedEndpoints,
  MAX_FAULT_TEXT,
  parkEndpoint,
  unparkEndpoint,
} from '../../src/store/faults.js';
import { takeFaultNotices } from '../../src/store/health.js';
import { plainCodec } from '../../src/store/secrets.js';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit, T0 } from '../helpers/kit.js';

interface StateRow {
  faulted_at: Date | null;
  fault: string | null;
  /** The endpoint's turn marks: how the claim knows it has due work. */
  marks: number;
}

describe.each(engines())('parked endpoints (%s)', (engine) => {
  let k: Kit;
  const state = async (id: string) =>
    (
      await k.q.query<StateRow>(
        `SELECT faulted_at, fault,
                (SELECT count(*)::int FROM endpoint_turns t WHERE t.endpoint_id = s.endpoint_id) AS marks
         FROM endpoint_state s WHERE endpoint_id = $1`,
        [id],
      )
    )[0]!;

  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('t');
    await k.tenant('u');
    await k.endpoint('t', 'ep_bad');
    await k.endpoint('t', 'ep_good');
    await k.endpoint('u', 'ep_other');
    await registerOperatorEventTypes(k.q, T0);
  });
  afterAll(() => k?.drop());

  it('parks an endpoint out of the claim, keeping the first error, and shows it', async () => {
    await k.publish('t', 3);
    expect((await state('ep_bad')).marks).toBeGreaterThan(0);
    expect(await parkEndpoint(k.q, 'ep_bad', 'RangeError: Invalid time value', at(1000))).toBe(true);
    expect(await parkEndpoint(k.q, 'ep_bad', 'a second fault', at(2000))).toBe(false);
    const s = await state('ep_bad');
    expect(s).toEqual({ faulted_at: at(1000), fault: 'RangeError: Invalid time value', marks: 0 });
    expect(await countParkedEndpoints(k.q)).toBe(1);
    // Out of the claim's queue: its pending deliveries wait, the other endpoint's are claimed.
    const claimed = await k.claim(at(5000));
    expect(new Set(claimed.map((d) => d.endpoint_id))).toEqual(new Set(['ep_good']));
    const e = await getEndpoint(k.q, plainCodec, 't', 'ep_bad');
    expect(e?.fault).toEqual({ at: at(1000), error: 'RangeError: Invalid time value' });
    expect((await getEndpoint(k.q, plainCodec, 't', 'ep_good'))?.fault).toBeNull();
  });

  it('keeps a long error to a bounded length, and never an empty one', async () => {
    expect(await parkEndpoint(k.q, 'ep_other', 'x'.repeat(10_000), at(0))).toBe(true);
    expect((await state('ep_other')).fault).toHaveLength(MAX_FAULT_TEXT);
    await unparkEndpoint(k.q, 'ep_other');
    expect(await parkEndpoint(k.q, 'ep_other', '', at(0))).toBe(true);
    expect((await state('ep_other')).fault).toBe('unknown fault');
    await unparkEndpoint(k.q, 'ep_other');
    expect(await parkEndpoint(k.q, 'ep_missing', 'boom', at(0))).toBe(false);
  });

  it('tells the operator once per parking, through the health sweep', async () => {
    const clock = new ManualClock(at(10_000));
    const sweep = () =>
      sweepEndpointHealth({
        db: k.t.db,
        clock,
        log: createLogger('silent'),
        operatorTenant: 'operator',
        failingNoticeAfterMs: 86_400_000,
        disableAfterMs: 5 * 86_400_000,
      });
    expect((await sweep()).faulted).toBe(1);
    expect((await sweep()).faulted).toBe(0);
    const events = await listEvents(k.q, 'operator', { type: 'tidings.endpoint.faulted' }, 10);
    expect(events?.data).toHaveLength(1);
    const payload = events!.data[0]!.payload;
    expect(payload).toMatchObject({
      endpoint_id: 'ep_bad',
      tenant_id: 't',
      fault: { at: at(1000).toISOString(), error: 'RangeError: Invalid time value' },
    });
    expect(await takeFaultNotices(k.q, at(20_000))).toEqual([]);
  });

  it('un-parks on any change of the endpoint, making what waited due, and a new parking is told again', async () => {
    const updated = await updateEndpoint(
      k.q,
      plainCodec,
      't',
      'ep_bad',
      { description: 'fixed' },
      at(30_000),
    );
    expect(updated?.fault).toBeNull();
    const after = await state('ep_bad');
    expect(after).toMatchObject({ faulted_at: null, fault: null });
    expect(after.marks).toBeGreaterThan(0);
    expect(await countParkedEndpoints(k.q)).toBe(0);
    const claimed = await k.claim(at(31_000));
    expect(claimed.filter((d) => d.endpoint_id === 'ep_bad')).toHaveLength(3);
    expect(await unparkEndpoint(k.q, 'ep_bad')).toBe(false);

    await parkEndpoint(k.q, 'ep_bad', 'TypeError: profile threw', at(40_000));
    const notices = await takeFaultNotices(k.q, at(41_000));
    expect(notices.map((n) => [n.endpoint_id, n.fault])).toEqual([['ep_bad', 'TypeError: profile threw']]);
  });
});
