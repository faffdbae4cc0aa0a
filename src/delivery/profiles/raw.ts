import type { WireProfile } from './types.js';

/** The payload exactly as published. */
export const raw: WireProfile = {
  name: 'raw',
  payloadAt: '',
  encode(event) {
    return event.payloadJson;
  },
};
