// How a setting's text becomes a value: the setting table's shape, the readers its entries
// use, and the error that names the setting. The lowest room of the configuration.
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

/** Reads a setting's text (its trimmed value, or its default when unset or empty). */
export type Reader<T> = (text: string, name: string, src: Source) => T;

/** One setting: everything the parser, the defaults and the README table know of it. */
export interface Setting<T> {
  readonly name: string;
  /** The text read when the setting is unset ('' for an optional one). */
  readonly default: string;
  /** The README's default column, when it is not the default text itself ("(generated)"). */
  readonly shown: string;
  readonly meaning: string;
  readonly read: Reader<T>;
}

export function setting<T>(
  name: string,
  def: string,
  meaning: string,
  read: Reader<T>,
  shown?: string,
): Setting<T> {
  return { name, default: def, shown: shown ?? def, meaning, read };
}

/** The values of a table of settings, by key. */
export type SettingValues<T> = { -readonly [K in keyof T]: T[K] extends Setting<infer V> ? V : never };

export function readSettings<T extends Record<string, Setting<unknown>>>(
  table: T,
  src: Source,
): SettingValues<T> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(table))
    out[key] = s.read(src[s.name]?.trim() || s.default, s.name, src);
  return out as SettingValues<T>;
}

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

export const wholeNumber =
  (min: number, max: number): Reader<number> =>
  (text, name) => {
    if (!/^\d+$/.test(text)) throw new ConfigError(name, `expected a whole number, got "${text}"`);
    const n = Number(text);
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  };

/** A whole number, or undefined when unset. */
export const optionalWholeNumber =
  (min: number, max: number): Reader<number | undefined> =>
  (text, name, src) =>
    text === '' ? undefined : wholeNumber(min, max)(text, name, src);

/** A positive duration ("12h", "5d"). */
export const duration = (): Reader<number> => (text, name) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(name, `"${text}" is not a duration such as 12h or 5d`);
  return ms;
};

/** A duration between two bounds, in ms. */
export const durationBetween =
  (minMs: number, maxMs: number): Reader<number> =>
  (text, name) => {
    const ms = parseDuration(text);
    if (ms === undefined) throw new ConfigError(name, `"${text}" is not a duration such as 15m, 8h, 1d`);
    if (ms < minMs || ms > maxMs) {
      throw new ConfigError(
        name,
        `must be between ${minMs / 1000} s and ${maxMs / 3_600_000} h, got ${text}`,
      );
    }
    return ms;
  };

export const flag = (): Reader<boolean> => (text, name) => {
  const t = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(name, `expected true or false, got "${text}"`);
};

export const text = (): Reader<string> => (t) => t;

/** Any text, or undefined when unset. */
export const optionalText = (): Reader<string | undefined> => (t) => t || undefined;

/** Text that must match `re`; `why` says what it must be. */
export const matching =
  (re: RegExp, why: string | ((text: string) => string)): Reader<string> =>
  (t, name) => {
    if (!re.test(t)) throw new ConfigError(name, typeof why === 'string' ? why : why(t));
    return t;
  };

/** Like matching, or undefined when unset. */
export const optionalMatching =
  (re: RegExp, why: string): Reader<string | undefined> =>
  (t, name, src) =>
    t === '' ? undefined : matching(re, why)(t, name, src);

export const oneOf =
  <V extends string>(values: readonly V[], why = `expected one of ${values.join(', ')}`): Reader<V> =>
  (t, name) => {
    if (!(values as readonly string[]).includes(t)) throw new ConfigError(name, why);
    return t as V;
  };

/** A comma-separated list, blanks dropped. */
export const list = (): Reader<string[]> => (t) =>
  t
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
