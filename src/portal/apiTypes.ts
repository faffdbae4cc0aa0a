// The API answers the portal reads (JSON as the /v1 routes send it).

export interface EndpointJson {
  id: string;
  url: string;
  description: string;
  event_types: string[] | null;
  channels: string[] | null;
  profile: string;
  /** hmac or ed25519, where the server signs both ways. */
  signing?: string;
  headers: Record<string, string>;
  disabled: boolean;
  disabled_reason: string | null;
  disabled_at: string | null;
  health: {
    state: string;
    consecutive_failures: number;
    last_success_at: string | null;
    last_failure_at: string | null;
    failing_since: string | null;
  };
  /** Set while Tidings has the endpoint parked (a value it cannot compute with); saving it un-parks it. */
  fault?: { at: string; error: string } | null;
  /** The payload filter (issue 15); absent on servers before it. */
  filter?: Record<string, unknown> | null;
  timeout_ms?: number | null;
  retry_schedule?: string[] | null;
  created_at: string;
  /** Where deliveries go (http, nats, amqp, redis) and how; absent on servers before issue 17. */
  destination?: string;
  mtls?: { certificate: { subject: string; valid_to: string }; previous: { offered_until: string }[] } | null;
  oauth?: { token_url: string; client_id: string } | null;
  broker?: {
    subject: string | null;
    exchange: string | null;
    routing_key: string | null;
    stream: string | null;
  } | null;
}

export interface EventTypeJson {
  name: string;
  description: string;
  group: string | null;
  default_enabled: boolean;
  reminder: Record<string, unknown> | null;
  schema?: Record<string, unknown> | null;
  examples?: unknown[];
  deprecated?: { reason: string } | null;
}

export interface DeliveryJson {
  id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface AttemptJson {
  attempt: number;
  started_at: string;
  duration_ms: number;
  url: string;
  status: number | null;
  request_headers: Record<string, string> | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  error: string | null;
}

export interface DeliveryDetailJson extends DeliveryJson {
  attempt_log: AttemptJson[];
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
