// The shapes that pass between the delivery engine's stages: what a claim hands the worker,
// and what the worker reports back for the ack.
import { CIRCUIT_OPEN_AFTER } from '../claimPlan.js';

export type DeliveryState = 'pending' | 'delivering' | 'succeeded' | 'failed' | 'cancelled';

/** Everything the worker needs to send one claimed delivery, from one claim statement. */
export interface ClaimedDelivery {
  id: number;
  attempts: number;
  tenant_id: string;
  endpoint_id: string;
  url: string;
  profile: string;
  /** Sealed, as stored (open with the store's codec). */
  secret: string;
  headers: string | null;
  previous_secrets: string | null;
  /** The endpoint's updated_at: the version its cached destination settings are keyed by. */
  endpoint_updated_at: Date;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  payload: string;
  /** The publish's trace context, when it was traced. */
  trace_context: string | null;
  ordering_key: string | null;
  sequence: number | null;
  /** Gap-free per endpoint, in the order of first sending (webhook-endpoint-sequence). */
  endpoint_sequence: number;
  /** The endpoint's own request timeout; null: the deployment's. */
  timeout_ms: number | null;
  /** The endpoint's own retry delays (ms); null: the deployment's schedule. */
  retry_schedule: number[] | null;
  /** A test event (sent from the portal or POST …/test): marked with `tidings-test: true`. */
  test: boolean;
}

/** The outcome of one attempt, as the worker reports it. */
export interface AttemptResult {
  deliveryId: number;
  endpointId: string;
  /** Attempt number (1 for the first). */
  attempt: number;
  startedAt: Date;
  durationMs: number;
  url: string;
  status: number | null;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  error: string | null;
  /** What happens to the delivery next. */
  next: 'succeeded' | 'retry' | 'failed';
  /** When next is 'retry'. */
  retryAt: Date | null;
  /** The endpoint answered 410 Gone: disable it. */
  gone: boolean;
  /** The claim's webhook-endpoint-sequence, kept with the attempt. */
  endpointSequence?: number | null;
  /** sha256 (hex) of the exact body bytes sent; null when nothing was sent. */
  bodySha256?: string | null;
  /** Those bytes compressed (delivery/keptBody.ts), kept for the body retention. */
  bodyPacked?: Buffer | null;
}

/** How an open circuit spaces its probes (see ack.ts). */
export interface CircuitSettings {
  openAfter: number;
  /** Shortest wait before a probe. */
  probeMinMs: number;
  /** Longest wait before a probe. */
  probeMaxMs: number;
}

export const DEFAULT_CIRCUIT: CircuitSettings = {
  openAfter: CIRCUIT_OPEN_AFTER,
  probeMinMs: 5_000,
  probeMaxMs: 300_000,
};
