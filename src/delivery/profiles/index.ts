import { billie } from './billie.js';
import { canopy } from './canopy.js';
import { highline } from './highline.js';
import { raw } from './raw.js';
import { standard } from './standard.js';
import type { WireProfile } from './types.js';

const PROFILES: Record<string, WireProfile> = {
  [standard.name]: standard,
  [raw.name]: raw,
  [highline.name]: highline,
  [canopy.name]: canopy,
  [billie.name]: billie,
};

export const PROFILE_NAMES = Object.keys(PROFILES);

/** Every place a profile puts the payload in its body (WireProfile.payloadAt). */
export const PAYLOAD_PLACES: readonly string[] = [
  ...new Set(Object.values(PROFILES).map((p) => p.payloadAt)),
];

export function getProfile(name: string): WireProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown wire profile "${name}"`);
  return p;
}
