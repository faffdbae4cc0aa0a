// How a setting's text becomes a value: the readers the configuration is built with, and the
// error that names the setting. The lowest room of the configuration: it imports nothing.
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The environment (or any name → text map) settings are read from. */
export type Source = Record<string, string | undefined>;

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses "500ms", "5s", "30m", "2h", "1d" (a bare number is seconds). */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = DURATION_UNITS[m[2] ?? 's'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

export function int(src: Source, name: string, def: number, min: number, max: number): number {
  const raw = src[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function durationSetting(src: Source, name: string, def: string): number {
  const raw = src[name]?.trim() || def;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(name, `"${raw}" is not a duration such as 12h or 5d`);
  return ms;
}

export function bool(src: Source, name: string, def: boolean): boolean {
  const raw = src[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${src[name]}"`);
}
