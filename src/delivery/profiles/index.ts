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

export function getProfile(name: string): WireProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown wire profile "${name}"`);
  return p;
}
