// The Prometheus metrics of one Tidings instance (prom-client), rendered at GET /metrics in
// the text exposition format. Counters and histograms move as things happen (observer.ts,
// instrumentDb.ts, the scheduler's hook); the store-wide gauges are computed at scrape time by
// bounded queries (store/metricsQueries.ts).
//
// Labels are bounded: no tenant id unless asked for (TIDINGS_METRICS_TENANT_LABEL), event
// types and statement names capped at MAX_LABEL_VALUES distinct values (then "other").
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Queryable } from '../store/db.js';
import {
  COUNT_CAP,
  countDeliveries,
  countDueReminders,
  countEndpointsByHealth,
  oldestDueDelivery,
} from '../store/metricsQueries.js';

/** Distinct values one free-form label (event type, statement name) may take. */
export const MAX_LABEL_VALUES = 200;

const SECONDS_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const SECONDS_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];
const SECONDS_LONG = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 7200, 21600, 86400,
];
const BATCH_SIZES = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** Process-wide metrics (CPU, memory, event loop, GC): one set per process, whatever the instances. */
let processRegistry: Registry | undefined;
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Keeps a label's distinct values under a cap; later newcomers share "other". */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max = MAX_LABEL_VALUES) {}
  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(v);
    return v;
  }
}

export interface MetricsOptions {
  version: string;
  /** Add a `tenant` label to the per-event counters (cardinality grows with tenants). */
  tenantLabel?: boolean;
  /** Consecutive failures that open an endpoint's circuit (the "open" health). */
  circuitOpenAfter: number;
}

export class TidingsMetrics {
  readonly registry = new Registry();
  readonly tenantLabel: boolean;
  readonly types = new BoundedLabel();
  readonly statements = new BoundedLabel();

  readonly eventsPublished: Counter<string>;
  readonly deliveriesCreated: Counter<string>;
  readonly attempts: Counter<string>;
  readonly attemptDuration: Histogram<string>;
  readonly deliveriesCompleted: Counter<string>;
  readonly publishToDelivery: Histogram<string>;
  readonly claimBatchSize: Histogram<string>;
  readonly ackBatchSize: Histogram<string>;
  readonly statementDuration: Histogram<string>;
  readonly statementErrors: Counter<string>;
  readonly transactionDuration: Histogram<string>;
  readonly reminderFireLag: Histogram<string>;
  readonly remindersFired: Counter<string>;

  private readonly pending: Gauge<string>;
  private readonly inFlight: Gauge<string>;
  private readonly oldestAge: Gauge<string>;
  private readonly endpoints: Gauge<string>;
  private readonly remindersDue: Gauge<string>;
  private readonly storeUp: Gauge<string>;

  constructor(private readonly o: MetricsOptions) {
    this.tenantLabel = o.tenantLabel ?? false;
    const tenant = this.tenantLabel ? ['tenant'] : [];
    const registers = [this.registry];
    new Gauge({
      name: 'tidings_build_info',
      help: 'Always 1: the version and runtime of this process',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: o.version, node: process.versions.node }, 1);
    this.eventsPublished = new Counter({
      name: 'tidings_events_published_total',
      help: 'Events published (new ones; repeats of an id or idempotency key are not counted), by type',
      labelNames: ['type', ...tenant],
      registers,
    });
    this.deliveriesCreated = new Counter({
      name: 'tidings_deliveries_created_total',
      help: 'Deliveries created by publishes and fired reminders (one per event and matching endpoint)',
      registers,
    });
    this.attempts = new Counter({
      name: 'tidings_attempts_total',
      help: 'Delivery attempts, by result (success: a 2xx answer)',
      labelNames: ['result', ...tenant],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'tidings_attempt_duration_seconds',
      help: 'Duration of one delivery attempt (the HTTP request), by result',
      labelNames: ['result'],
      buckets: SECONDS_HTTP,
      registers,
    });
    this.deliveriesCompleted = new Counter({
      name: 'tidings_deliveries_completed_total',
      help: 'Deliveries that reached a final state: succeeded, failed (given up) or cancelled (skipped)',
      labelNames: ['state', ...tenant],
      registers,
    });
    this.publishToDelivery = new Histogram({
      name: 'tidings_publish_to_delivery_seconds',
      help: 'From the publish to the first successful receipt of a delivery (retries included)',
      buckets: SECONDS_LONG,
      registers,
    });
    this.claimBatchSize = new Histogram({
      name: 'tidings_claim_batch_size',
      help: 'Deliveries taken by one claim (0: a poll that found nothing due)',
      buckets: BATCH_SIZES,
      registers,
    });
    this.ackBatchSize = new Histogram({
      name: 'tidings_ack_batch_size',
      help: 'Attempt results recorded by one ack transaction',
      buckets: BATCH_SIZES,
      registers,
    });
    this.statementDuration = new Histogram({
      name: 'tidings_store_statement_duration_seconds',
      help: 'Duration of one store statement, by statement name ("unnamed" for statements without one)',
      labelNames: ['statement'],
      buckets: SECONDS_FAST,
      registers,
    });
    this.statementErrors = new Counter({
      name: 'tidings_store_statement_errors_total',
      help: 'Store statements that failed, by statement name',
      labelNames: ['statement'],
      registers,
    });
    this.transactionDuration = new Histogram({
      name: 'tidings_store_transaction_duration_seconds',
      help: 'Duration of one store transaction, from BEGIN to COMMIT or ROLLBACK',
      buckets: SECONDS_FAST,
      registers,
    });
    this.reminderFireLag = new Histogram({
      name: 'tidings_reminder_fire_lag_seconds',
      help: 'How late a reminder fired: from its due time to the moment its event was published',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 3600, 21600, 86400],
      registers,
    });
    this.remindersFired = new Counter({
      name: 'tidings_reminders_fired_total',
      help: 'Reminders fired (published as events)',
      registers,
    });
    this.pending = new Gauge({
      name: 'tidings_deliveries_pending',
      help: `Deliveries waiting for an attempt (due, retry scheduled, or behind an ordering key); exact up to ${COUNT_CAP.toLocaleString('en')}, estimated above`,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'tidings_deliveries_in_flight',
      help: 'Deliveries being attempted now (leased by a worker)',
      registers,
    });
    this.oldestAge = new Gauge({
      name: 'tidings_oldest_pending_age_seconds',
      help: 'How long the oldest due delivery has waited past its due time (0: none waiting); the queue age to alert on',
      registers,
    });
    this.endpoints = new Gauge({
      name: 'tidings_endpoints',
      help: 'Endpoints by health: healthy, failing (failures since the last success), open (circuit open), disabled',
      labelNames: ['health'],
      registers,
    });
    this.remindersDue = new Gauge({
      name: 'tidings_reminders_due',
      help: `Reminders whose time has come and that are not fired yet (capped at ${COUNT_CAP.toLocaleString('en')})`,
      registers,
    });
    this.storeUp = new Gauge({
      name: 'tidings_store_up',
      help: 'Whether the store answered the queries behind the gauges at this scrape (1) or not (0)',
      registers,
    });
  }

  typeLabel(type: string, tenantId: string): Record<string, string> {
    const labels: Record<string, string> = { type: this.types.value(type) };
    if (this.tenantLabel) labels.tenant = tenantId;
    return labels;
  }

  tenant(tenantId: string): Record<string, string> {
    return this.tenantLabel ? { tenant: tenantId } : {};
  }

  /** Computes the store-wide gauges (bounded queries; see store/metricsQueries.ts). */
  async refreshStoreGauges(q: Queryable, clock: Clock, log: Logger): Promise<void> {
    try {
      const now = clock.now();
      const [pending, inFlight, oldest, endpoints, due] = await Promise.all([
        countDeliveries(q, 'pending'),
        countDeliveries(q, 'delivering'),
        oldestDueDelivery(q, now),
        countEndpointsByHealth(q, this.o.circuitOpenAfter),
        countDueReminders(q, now),
      ]);
      this.pending.set(pending);
      this.inFlight.set(inFlight);
      this.oldestAge.set(oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0);
      for (const [health, n] of Object.entries(endpoints)) this.endpoints.set({ health }, n);
      this.remindersDue.set(due);
      this.storeUp.set(1);
    } catch (err) {
      // The last values stay; tidings_store_up says they are stale.
      this.storeUp.set(0);
      log.warn({ err: String(err) }, 'metrics: store gauges failed');
    }
  }

  /** The text exposition: this instance's metrics, then the process's. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    const proc = await processMetrics().metrics();
    return `${own}\n${proc}`;
  }

  static readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
}
