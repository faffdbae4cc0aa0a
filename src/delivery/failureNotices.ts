// tidings.delivery.failed: the operator's event for each delivery that gave up. The ack that
// records a give-up leaves a row in delivery_failures (same statement: nothing more for the
// deliveries that succeed or retry); the worker whose ack batch gave something up publishes the
// notices right after it, batched, and the health sweep publishes whatever a worker that died
// left behind. Each batch takes its rows and publishes their events in one transaction.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { takeDeliveryFailures } from '../store/deliveryFailures.js';
import { publishEvents } from '../store/publish.js';
import { deliveryFailedEvents } from './operatorEvents.js';

export interface FailureNoticeOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  operatorTenant: string;
}

const BATCH = 200;

/** Publishes every notice owed now; returns how many were published. */
export async function publishDeliveryFailures(o: FailureNoticeOptions): Promise<number> {
  let published = 0;
  for (;;) {
    const now = o.clock.now();
    const { taken, failures } = await o.db.tx(async (q) => {
      const got = await takeDeliveryFailures(q, o.operatorTenant, BATCH);
      const inputs = await deliveryFailedEvents(q, o.operatorTenant, got.failures, now);
      if (inputs.length > 0) await publishEvents(q, inputs);
      return got;
    });
    for (const f of failures) {
      o.log.warn(
        {
          delivery: f.delivery_id,
          event: f.event_id,
          endpoint: f.endpoint_id,
          tenant: f.tenant_id,
          attempts: f.attempts,
          lastStatus: f.last_status,
        },
        'delivery gave up after its last retry',
      );
    }
    published += failures.length;
    if (taken < BATCH) return published;
  }
}
