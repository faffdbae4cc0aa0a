// The endpoint health sweep, run by every worker now and then (and safe to run anywhere at
// once): warn the operator about endpoints failing for a day, disable those failing for
// TIDINGS_DISABLE_AFTER, and say when a reported endpoint recovers. Each step takes its rows
// and publishes the operator events in one transaction, so a notice is sent exactly once.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db, Queryable } from '../store/db.js';
import {
  autoDisable,
  type EndpointNotice,
  takeDisabledNotices,
  takeFailingNotices,
  takeRecoveredNotices,
} from '../store/health.js';
import { publishEvents } from '../store/publish.js';
import { type OperatorEventType, operatorEvents } from './operatorEvents.js';

export interface HealthSweepOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  operatorTenant: string;
  failingNoticeAfterMs: number;
  disableAfterMs: number;
}

export interface SweepResult {
  failing: number;
  disabled: number;
  recovered: number;
}

const BATCH = 100;

export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  }
  return `${ms} ms`;
}

export async function sweepEndpointHealth(o: HealthSweepOptions): Promise<SweepResult> {
  const result: SweepResult = { failing: 0, disabled: 0, recovered: 0 };

  const notify = async (
    type: OperatorEventType,
    take: (q: Queryable, now: Date) => Promise<EndpointNotice[]>,
    log: (n: EndpointNotice) => void,
  ): Promise<number> => {
    let total = 0;
    for (;;) {
      const now = o.clock.now();
      const taken = await o.db.tx(async (q) => {
        const notices = await take(q, now);
        const inputs = await operatorEvents(q, o.operatorTenant, type, notices, now);
        if (inputs.length > 0) await publishEvents(q, inputs);
        return notices;
      });
      for (const n of taken) log(n);
      total += taken.length;
      if (taken.length < BATCH) return total;
    }
  };

  result.failing = await notify(
    'tidings.endpoint.failing',
    (q, now) => takeFailingNotices(q, new Date(now.getTime() - o.failingNoticeAfterMs), now, BATCH),
    (n) =>
      o.log.warn(
        {
          endpoint: n.endpoint_id,
          tenant: n.tenant_id,
          failingSince: n.failing_since,
          failures: n.consecutive_failures,
        },
        `endpoint failing for ${describeDuration(o.failingNoticeAfterMs)} or more; it will be disabled after ${describeDuration(o.disableAfterMs)}`,
      ),
  );

  const reason = `no successful delivery for ${describeDuration(o.disableAfterMs)} (TIDINGS_DISABLE_AFTER)`;
  for (;;) {
    const now = o.clock.now();
    const off = await o.db.tx((q) =>
      autoDisable(q, new Date(now.getTime() - o.disableAfterMs), now, reason, BATCH),
    );
    if (off.length < BATCH) break;
  }

  result.disabled = await notify(
    'tidings.endpoint.disabled',
    (q, now) => takeDisabledNotices(q, now, BATCH),
    (n) =>
      o.log.warn(
        {
          endpoint: n.endpoint_id,
          tenant: n.tenant_id,
          failingSince: n.failing_since,
          reason: n.disabled_reason,
        },
        'endpoint disabled by Tidings; its events are kept and sent when it is enabled again',
      ),
  );

  result.recovered = await notify(
    'tidings.endpoint.recovered',
    (q) => takeRecoveredNotices(q, BATCH),
    (n) =>
      o.log.info(
        { endpoint: n.endpoint_id, tenant: n.tenant_id, lastSuccess: n.last_success_at },
        'endpoint recovered',
      ),
  );
  return result;
}
