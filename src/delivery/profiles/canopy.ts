import { bodyHmac } from '../../signing/hmac.js';
import type { WireProfile } from './types.js';

/** base64 HMAC-SHA256 of the `data` text exactly as it appears in the body. */
export function canopySignature(key: Buffer, dataText: string): string {
  return bodyHmac(key, dataText);
}

/**
 * Canopy's `{"event", "data", "hmac_signature"}`.
 *
 * Key order: the reference is split, three examples to three (account_create, account_update
 * and account_delinquency put `data` first; line_item_update, loans_restructure and
 * payment_reversed put `event` first), and the signature covers `data` alone, so any order
 * verifies. We put `event` first, as DESIGN's table does, so a receiver can route before it
 * reads a large `data`; `hmac_signature` is last, as in all six examples, which makes the
 * signed text easy to cut out of the body: everything between `"data":` and
 * `,"hmac_signature":`.
 *
 * The key is the endpoint's current signing key (the bytes behind `whsec_`), the same one
 * that signs the Standard Webhooks header; during a secret rotation only the new key signs
 * here, since the body has room for one signature.
 */
export const canopy: WireProfile = {
  name: 'canopy',
  payloadAt: '/data',
  encode(event, ctx) {
    // Spliced, never re-serialised: the signed text is the published payload text.
    const data = event.payloadJson.trim();
    const signature = canopySignature(ctx.signingKey, data);
    return `{"event":${JSON.stringify(event.type)},"data":${data},"hmac_signature":${JSON.stringify(signature)}}`;
  },
};
