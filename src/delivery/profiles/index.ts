import { raw } from './raw.js';
import { standard } from './standard.js';
import type { WireProfile } from './types.js';

const PROFILES: Record<string, WireProfile> = {
  [standard.name]: standard,
  [raw.name]: raw,
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function getProfile(name: string): WireProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown wire profile "${name}"`);
  return p;
}
