// Turns a claimed delivery into the exact request to send: the profile's body, the
// Standard Webhooks headers (on every profile), and the endpoint's static headers.
import type { ClaimedDelivery } from '../store/deliveries.js';
import type { SecretCodec } from '../store/secrets.js';
import { getProfile } from './profiles/index.js';
import { hmacSignature, secretKey } from './sign.js';

export const USER_AGENT = 'Tidings/0.1 (+webhooks)';

export type BuiltRequest =
  | {
      ok: true;
      body: string;
      headers: Record<string, string>;
      /** What the attempt log keeps: static header values masked. */
      recordedHeaders: Record<string, string>;
    }
  | { ok: false; error: string };

export function buildRequest(d: ClaimedDelivery, codec: SecretCodec, now: Date): BuiltRequest {
  let body: string;
  let key: Buffer;
  try {
    key = secretKey(codec.open(d.secret));
    body = getProfile(d.profile).encode(
      { id: d.event_id, type: d.event_type, createdAt: d.event_created_at, payloadJson: d.payload },
      { signingKey: key },
    );
  } catch (err) {
    return { ok: false, error: `could not build the request: ${(err as Error).message}` };
  }
  const timestamp = Math.floor(now.getTime() / 1000);
  const signed: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': d.event_id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': hmacSignature(key, d.event_id, timestamp, body),
  };
  if (d.sequence !== null) signed['webhook-sequence'] = String(d.sequence);
  const statics: Record<string, string> = d.headers
    ? (JSON.parse(codec.open(d.headers)) as Record<string, string>)
    : {};
  const masked: Record<string, string> = {};
  for (const name of Object.keys(statics)) masked[name] = maskSecret(statics[name]!);
  return {
    ok: true,
    body,
    // Static headers cannot override the signed ones: the API refuses such names, and
    // they are spread first here as a second guard.
    headers: { ...statics, ...signed },
    recordedHeaders: { ...masked, ...signed },
  };
}

/** Shows enough of a secret value to recognise it, never enough to use it. */
export function maskSecret(value: string): string {
  if (value.length <= 8) return '****';
  return `${value.slice(0, 4)}****${value.slice(-2)}`;
}
