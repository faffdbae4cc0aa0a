import type { WireProfile } from './types.js';

/** `{"type", "timestamp", "data"}`: the Standard Webhooks envelope. */
export const standard: WireProfile = {
  name: 'standard',
  payloadAt: '/data',
  encode(event) {
    // Built as text so the payload goes out byte for byte as it was published.
    return `{"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.createdAt.toISOString())},"data":${event.payloadJson}}`;
  },
};
