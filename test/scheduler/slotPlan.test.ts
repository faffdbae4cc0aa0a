// The pure parts of firing: what a re-plan does to stored slots, the payload text, the
// deterministic event id, and how a refresh_url answer is read.
import { describe, expect, it } from 'vitest';
import { mergeMembers, reminderEventId } from '../../src/scheduler/payload.js';
import { readAnswer } from '../../src/scheduler/refresh.js';
import {
  type AnchorPlan,
  anchorPlan,
  decide,
  type KnownSlot,
  type PlanAnchor,
  slotRule,
} from '../../src/scheduler/slotPlan.js';

const NOW = new Date('2024-06-10T12:00:00Z');
const H = 3_600_000;
const at = (hours: number) => new Date(NOW.getTime() + hours * H);
const anchor: PlanAnchor = {
  event_type: 'x',
  at: at(-48),
  time_zone: 'UTC',
  window_start: null,
  window_end: null,
  resolved_at: null,
};

function known(
  slot_key: string,
  due: Date,
  state: KnownSlot['state'] = 'planned',
  lease?: [Date, string],
): KnownSlot {
  return { slot_key, due_at: due, state, locked_until: lease?.[0] ?? null, locked_by: lease?.[1] ?? null };
}

function planOf(
  rule: { offsets?: string[]; periodic_interval?: string },
  a: PlanAnchor = anchor,
): AnchorPlan {
  return anchorPlan(
    a,
    slotRule(
      { offsets: rule.offsets ?? [], periodic_interval: rule.periodic_interval ?? null, business_days: null },
      'x',
    ),
    undefined,
    NOW,
  );
}

describe('decide', () => {
  it('fires due offsets once, never a fired one, and plans the rest', () => {
    const plan = planOf({ offsets: ['1 day', '2 days', '3 days'] });
    const d = decide(plan, [known('offset:1 day', at(-24), 'fired'), known('offset:2 days', at(0))], {
      now: NOW,
      fire: true,
    });
    expect(d.fire.map((s) => s.key)).toEqual(['offset:2 days']);
    expect(d.changes).toEqual([
      { slot_key: 'offset:3 days', due_at: at(24), state: 'planned', reason: null },
    ]);
  });

  it('only plans when not firing (API writes)', () => {
    const d = decide(planOf({ offsets: ['2 days'] }), [], { now: NOW, fire: false });
    expect(d.fire).toEqual([]);
    expect(d.changes).toEqual([{ slot_key: 'offset:2 days', due_at: at(0), state: 'planned', reason: null }]);
  });

  it('cancels what the plan no longer has, and plans a cancelled slot again when it comes back', () => {
    const d = decide(
      planOf({ offsets: ['3 days'] }),
      [known('offset:1 hour', at(-47)), known('offset:3 days', at(24), 'cancelled')],
      {
        now: NOW,
        fire: true,
      },
    );
    expect(d.fire).toEqual([]);
    expect(d.changes).toEqual([
      { slot_key: 'offset:3 days', due_at: at(24), state: 'planned', reason: null },
      { slot_key: 'offset:1 hour', due_at: at(-47), state: 'cancelled', reason: 'no longer planned' },
    ]);
  });

  it('a resolved anchor cancels everything still planned, and leaves what fired', () => {
    const plan = planOf({ offsets: ['1 day'] }, { ...anchor, resolved_at: NOW });
    const d = decide(plan, [known('offset:1 day', at(-24), 'fired'), known('offset:3 days', at(24))], {
      now: NOW,
      fire: true,
    });
    expect(d.changes).toEqual([
      { slot_key: 'offset:3 days', due_at: at(24), state: 'cancelled', reason: 'resolved' },
    ]);
  });

  it('periodic: fires the latest due period, skips older ones, including those behind the horizon', () => {
    const plan = planOf({ periodic_interval: 'HOURLY' });
    // Planned long ago for periods 1..3; now is period 48.
    const stale = [1, 2, 3].map((n) => known(`periodic:HOURLY:${n}`, at(n - 48)));
    const d = decide(plan, stale, { now: NOW, fire: true });
    expect(d.fire.map((s) => [s.key, s.late])).toEqual([['periodic:HOURLY:48', false]]);
    const skipped = d.changes.filter((c) => c.state === 'skipped').map((c) => c.slot_key);
    expect(skipped).toEqual(
      expect.arrayContaining([
        'periodic:HOURLY:1',
        'periodic:HOURLY:2',
        'periodic:HOURLY:3',
        'periodic:HOURLY:47',
      ]),
    );
    expect(d.changes.filter((c) => c.state === 'planned').map((c) => c.slot_key)).toContain(
      'periodic:HOURLY:49',
    );
  });

  it('a slot leased by another scheduler does not fire here; one leased by this scheduler does', () => {
    const plan = planOf({ offsets: ['2 days'] });
    const leased = [known('offset:2 days', at(0), 'planned', [at(1), 'other'])];
    expect(decide(plan, leased, { now: NOW, fire: true, schedulerId: 'me' }).fire).toEqual([]);
    const mine = [known('offset:2 days', at(0), 'planned', [at(1), 'me'])];
    expect(decide(plan, mine, { now: NOW, fire: true, schedulerId: 'me' }).fire).toHaveLength(1);
    const expired = [known('offset:2 days', at(0), 'planned', [at(0), 'other'])];
    expect(decide(plan, expired, { now: NOW, fire: true, schedulerId: 'me' }).fire).toHaveLength(1);
  });
});

describe('payload and event id', () => {
  it('keeps the anchor payload text exactly, replaces computed members in place, appends the rest', () => {
    const text =
      '{ "amount": 2.50, "big": 12345678901234567890, "time_stamp": null, "nested": {"a": [1, 2]} }';
    expect(mergeMembers(text, { time_stamp: 'T', days_past_due: 3 })).toBe(
      '{"amount":2.50,"big":12345678901234567890,"time_stamp":"T","nested":{"a": [1, 2]},"days_past_due":3}',
    );
    expect(() => mergeMembers('[1]', {})).toThrow(/JSON object/);
  });

  it('derives the event id from tenant, anchor and slot, so a retry cannot publish twice', () => {
    const id = reminderEventId('t', 'a', 'offset:1 day');
    expect(id).toMatch(/^rem_[a-z2-7]{26}$/);
    expect(reminderEventId('t', 'a', 'offset:1 day')).toBe(id);
    expect(reminderEventId('t', 'a', 'offset:2 days')).not.toBe(id);
    expect(reminderEventId('t2', 'a', 'offset:1 day')).not.toBe(id);
  });
});

describe('refresh answers', () => {
  it('reads a fresh payload with its exact text, a resolution, and refuses anything else', () => {
    expect(readAnswer('{"payload": {"min_pay_cents": 2500.0}}')).toEqual({
      kind: 'payload',
      payloadText: '{"min_pay_cents": 2500.0}',
    });
    expect(readAnswer('{"resolved": true}')).toMatchObject({ kind: 'resolved' });
    expect(readAnswer('{"resolved": false}')).toMatchObject({ kind: 'failed' });
    expect(readAnswer('[]')).toMatchObject({ kind: 'failed' });
    expect(readAnswer('not json')).toMatchObject({
      kind: 'failed',
      error: expect.stringMatching(/not JSON/),
    });
  });
});
