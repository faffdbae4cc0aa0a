// Turns a claimed delivery into the exact request to send: the profile's body, the
// Standard Webhooks headers (on every profile), and the endpoint's static headers.
import { isReservedHeader } from '../security/headerRules.js';
import { bodySigningKey, parsePrevious, signatureHeader } from '../signing/secrets.js';
import type { ClaimedDelivery } from '../store/deliveries/types.js';
import type { SecretCodec } from '../store/secrets.js';
import { getProfile } from './profiles/index.js';

export const USER_AGENT = 'Tidings/0.1 (+webhooks)';

export type BuiltRequest =
  | {
      ok: true;
      body: string;
      headers: Record<string, string>;
      /** What the attempt log keeps: static header values masked. */
      recordedHeaders: Record<string, string>;
    }
  | {
      ok: false;
      error: string;
      /**
       * The endpoint's own stored material (secret, static headers) could not be read: every
       * delivery of it would fail the same way, so the endpoint is parked, not the delivery failed.
       */
      endpointFault: boolean;
    };

/** What a request is built from: a claimed delivery (`previous_secrets` may be absent). */
export type ClaimedForSending = Omit<
  ClaimedDelivery,
  | 'previous_secrets'
  | 'endpoint_sequence'
  | 'endpoint_updated_at'
  | 'trace_context'
  | 'timeout_ms'
  | 'retry_schedule'
  | 'test'
> & {
  previous_secrets?: string | null;
  endpoint_sequence?: number | null;
  test?: boolean;
};

export function buildRequest(d: ClaimedForSending, codec: SecretCodec, now: Date): BuiltRequest {
  const timestamp = Math.floor(now.getTime() / 1000);
  let body: string;
  let signature: string;
  let statics: Record<string, string>;
  let current: string;
  let previous: ReturnType<typeof parsePrevious>;
  try {
    statics = d.headers ? (JSON.parse(codec.open(d.headers)) as Record<string, string>) : {};
    current = codec.open(d.secret);
    previous = parsePrevious(d.previous_secrets ? codec.open(d.previous_secrets) : null);
  } catch (err) {
    return {
      ok: false,
      error: `the endpoint's stored secret or headers cannot be read: ${(err as Error).message}`,
      endpointFault: true,
    };
  }
  try {
    body = getProfile(d.profile).encode(
      { id: d.event_id, type: d.event_type, createdAt: d.event_created_at, payloadJson: d.payload },
      { signingKey: bodySigningKey(current) },
    );
    // Every live secret signs, the current one first: during a rotation's grace period a
    // receiver that still holds the old secret keeps verifying.
    signature = signatureHeader(current, previous, now, d.event_id, timestamp, body);
  } catch (err) {
    return {
      ok: false,
      error: `could not build the request: ${(err as Error).message}`,
      endpointFault: false,
    };
  }
  const signed: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': d.event_id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
  if (d.sequence !== null) signed['webhook-sequence'] = String(d.sequence);
  // Gap-free per endpoint: a receiver that sees 57 then 59 knows 58 is owed.
  if (d.endpoint_sequence != null) signed['webhook-endpoint-sequence'] = String(d.endpoint_sequence);
  // A test event (portal "Send test event"): signed like any other, and said to be a test.
  if (d.test) signed['tidings-test'] = 'true';
  // Static headers cannot override the signed or framing ones: the API refuses such names,
  // and they are dropped here too, whatever their case, for rows written before that check.
  const allowed: Record<string, string> = {};
  const masked: Record<string, string> = {};
  for (const [name, value] of Object.entries(statics)) {
    if (isReservedHeader(name)) continue;
    allowed[name] = value;
    masked[name] = maskSecret(value);
  }
  return {
    ok: true,
    body,
    headers: { ...allowed, ...signed },
    recordedHeaders: { ...masked, ...signed },
  };
}

/**
 * Shows enough of a secret value to recognise it, never enough to use it: its last
 * characters, at most one in eight of them and never more than four (a 9-character key
 * used to show 6). Values shorter than 8 show nothing.
 */
export function maskSecret(value: string): string {
  const shown = Math.min(4, Math.floor(value.length / 8));
  return shown === 0 ? '****' : `****${value.slice(-shown)}`;
}
