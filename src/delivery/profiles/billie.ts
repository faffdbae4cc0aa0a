import { objectMembers } from '../../json/scan.js';
import { ProfileError } from './profileError.js';
import type { WireProfile } from './types.js';

/**
 * Billie's flat body: `{"created_at", "event", ...payload fields}`.
 *
 * The payload's members are copied as text, so each value (numbers as written, nested key
 * order, string escapes) and the members' order are the producer's. What changes: the
 * whitespace between top-level members is dropped, keys are re-quoted, `created_at` moves to
 * the front, and a payload member named `event` is left out, since the event type names the
 * event. `created_at` is the producer's when it gave one (not null), else the time the event
 * was published.
 */
export const billie: WireProfile = {
  name: 'billie',
  payloadAt: '',
  encode(event) {
    const members = objectMembers(event.payloadJson);
    if (!members) {
      throw new ProfileError(
        'billie',
        `the payload of event ${event.id} (${event.type}) is not a JSON object; a Billie body is flat, made of the payload's fields`,
      );
    }
    let createdAt = JSON.stringify(event.createdAt.toISOString());
    let rest = '';
    for (const m of members) {
      if (m.key === 'created_at') {
        // The last one wins, as with JSON.parse.
        if (m.text !== 'null') createdAt = m.text;
      } else if (m.key !== 'event') {
        rest += `,${JSON.stringify(m.key)}:${m.text}`;
      }
    }
    return `{"created_at":${createdAt},"event":${JSON.stringify(event.type)}${rest}}`;
  },
};
