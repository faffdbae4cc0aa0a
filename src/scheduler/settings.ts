// The `reminder` object of a catalog event type (event_types.reminder), read into the
// ReminderSettings the rule validator wants. Catalog files (catalogs/*.json) write `window`
// as a phrase ("from the moment the statement was cut to the next statement's due date"):
// the exact bounds differ per anchor and come with it (window_start, window_end), so the
// phrase only explains refusals. An object {start, end, description} with offsets as
// bounds is accepted too and bounds every rule of the type.
import type { ReminderSettings, ReminderWindow } from './rules.js';

export function readReminderSettings(
  json: Record<string, unknown> | null | undefined,
): ReminderSettings | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const settings: ReminderSettings = {
    anchor: typeof json.anchor === 'string' && json.anchor !== '' ? json.anchor : 'the anchor',
    negative_offsets: json.negative_offsets === true,
    periodic: json.periodic === true,
  };
  const w = json.window;
  if (typeof w === 'string' && w !== '') settings.window = { description: w };
  else if (w && typeof w === 'object' && !Array.isArray(w)) {
    const o = w as Record<string, unknown>;
    const window: ReminderWindow = {};
    if (typeof o.start === 'string') window.start = o.start;
    if (typeof o.end === 'string') window.end = o.end;
    if (typeof o.description === 'string') window.description = o.description;
    settings.window = window;
  }
  return settings;
}
