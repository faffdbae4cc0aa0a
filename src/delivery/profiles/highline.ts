import { ProfileError } from './profileError.js';
import type { WireProfile } from './types.js';

/** `bill_payments.paid` → topic `bill_payments`, event `paid`; the first dot separates them. */
export function splitHighlineType(type: string): { topic: string; event: string } | undefined {
  const dot = type.indexOf('.');
  if (dot <= 0 || dot === type.length - 1) return undefined;
  return { topic: type.slice(0, dot), event: type.slice(dot + 1) };
}

/** Highline's `{"topic", "event", "data"}`, in the order of every example in its document. */
export const highline: WireProfile = {
  name: 'highline',
  payloadAt: '/data',
  encode(event) {
    const parts = splitHighlineType(event.type);
    if (!parts) {
      throw new ProfileError(
        'highline',
        `event type "${event.type}" is not named topic.event (e.g. bill_payments.paid), so it has no topic`,
      );
    }
    // Spliced as text: the payload goes out byte for byte as it was published.
    return `{"topic":${JSON.stringify(parts.topic)},"event":${JSON.stringify(parts.event)},"data":${event.payloadJson.trim()}}`;
  },
};
