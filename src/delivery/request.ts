// Turns a claimed delivery into the exact request to send: the profile's body, the
// Standard Webhooks headers (on every profile), and the endpoint's static headers.
import { isReservedHeader } from '../security/headerRules.js';
import { bodySigningKey, parsePrevious, signatureHeader } from '../security/signingSecrets.js';
import type { ClaimedDelivery } from '../store/deliveries.js';
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
  | { ok: false; error: string };

/** A claimed delivery; `previous_secrets` (sealed, see security/signingSecrets.ts) when the claim selects it. */
export type ClaimedForSending = ClaimedDelivery & { previous_secrets?: string | null };

export function buildRequest(d: ClaimedForSending, codec: SecretCodec, now: Date): BuiltRequest {
  const timestamp = Math.floor(now.getTime() / 1000);
  let body: string;
  let signature: string;
  let statics: Record<string, string>;
  try {
    statics = d.headers ? (JSON.parse(codec.open(d.headers)) as Record<string, string>) : {};
    const current = codec.open(d.secret);
    const previous = parsePrevious(d.previous_secrets ? codec.open(d.previous_secrets) : null);
    body = getProfile(d.profile).encode(
      { id: d.event_id, type: d.event_type, createdAt: d.event_created_at, payloadJson: d.payload },
      { signingKey: bodySigningKey(current) },
    );
    // Every live secret signs, the current one first: during a rotation's grace period a
    // receiver that still holds the old secret keeps verifying.
    signature = signatureHeader(current, previous, now, d.event_id, timestamp, body);
  } catch (err) {
    return { ok: false, error: `could not build the request: ${(err as Error).message}` };
  }
  const signed: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': d.event_id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
  if (d.sequence !== null) signed['webhook-sequence'] = String(d.sequence);
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
