// What a firing reminder publishes: an ordinary event whose id is derived from the tenant,
// the anchor and the slot (so no retry, restart or second scheduler can publish it twice:
// events are unique per tenant and id), and whose payload is the anchor's payload with the
// fields Tidings computes at fire time. The anchor's member texts are kept exactly (number
// formatting, big integers, key order); computed members replace same-named ones in place
// and the rest are appended.
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { scanTopLevel } from '../json/raw.js';
import { computedFields } from './rules.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** "rem_" + 26 base32 characters (130 bits) of sha256(tenant, anchor, slot). */
export function reminderEventId(tenantId: string, anchorId: string, slotKey: string): string {
  const digest = createHash('sha256').update(`${tenantId}\u0000${anchorId}\u0000${slotKey}`).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === 26) break;
    value &= 0xff;
  }
  return `rem_${out}`;
}

export interface FireInput {
  eventType: string;
  /** The anchor's (or the refresh answer's) payload text: a JSON object. */
  payloadText: string;
  anchorAt: Date;
  timeZone: string;
  /** When the webhook is sent. */
  firedAt: Date;
  late: boolean;
}

/**
 * The event payload: anchor payload + computable day count + time_stamp (+ late: true).
 * A producer that wants them elsewhere in the object puts placeholders there (null).
 */
export function firePayload(f: FireInput): string {
  const anchor = DateTime.fromJSDate(f.anchorAt, { zone: f.timeZone });
  const { time_stamp, ...days } = computedFields(f.eventType, anchor, f.firedAt);
  // The day count before time_stamp, as in the reference's account_delinquency example.
  const extra: Record<string, unknown> = { ...days, time_stamp };
  if (f.late) extra.late = true;
  return mergeMembers(f.payloadText, extra);
}

/** Object text with `extra` members set: same-named members replaced in place, others appended. */
export function mergeMembers(text: string, extra: Record<string, unknown>): string {
  const scan = scanTopLevel(text);
  if (!scan) throw new TypeError('a reminder payload must be a JSON object');
  const parts: string[] = [];
  for (const [key, [start, end]] of scan.members) {
    const value = Object.hasOwn(extra, key) ? JSON.stringify(extra[key]) : text.slice(start, end);
    parts.push(`${JSON.stringify(key)}:${value}`);
  }
  for (const [key, value] of Object.entries(extra)) {
    if (!scan.members.has(key)) parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}
