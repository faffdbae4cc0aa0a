import type { WireProfile } from './types.js';

/** The payload exactly as published. */
export const raw: WireProfile = {
  name: 'raw',
  encode(event) {
    return event.payloadJson;
  },
};
