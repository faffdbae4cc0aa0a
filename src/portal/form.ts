// HTML forms in, API bodies out. Browsers post application/x-www-form-urlencoded; the
// endpoint form is turned into the same JSON an API client would send.

export type FormData = Record<string, string[]>;

export function parseForm(text: string): FormData {
  const out: FormData = Object.create(null) as FormData;
  for (const [k, v] of new URLSearchParams(text)) {
    const list = out[k] ?? [];
    list.push(v);
    out[k] = list;
  }
  return out;
}

export function field(form: FormData, name: string): string {
  return form[name]?.[0]?.trim() ?? '';
}

/** What the endpoint form holds, as typed (re-shown when the API refuses it). */
export interface EndpointFormValues {
  url: string;
  description: string;
  typesMode: 'default' | 'chosen';
  eventTypes: string[];
  channels: string;
  profile: string;
  headerName: string;
  headerValue: string;
  headerRemove: boolean;
}

export function endpointFormValues(form: FormData): EndpointFormValues {
  return {
    url: field(form, 'url'),
    description: field(form, 'description'),
    typesMode: field(form, 'types_mode') === 'chosen' ? 'chosen' : 'default',
    eventTypes: [...new Set((form.event_types ?? []).map((t) => t.trim()).filter(Boolean))],
    channels: form.channels?.[0] ?? '',
    profile: field(form, 'profile') || 'standard',
    headerName: field(form, 'header_name'),
    headerValue: form.header_value?.[0] ?? '',
    headerRemove: field(form, 'header_remove') === '1',
  };
}

export function splitChannels(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\n,]/)
        .map((c) => c.trim())
        .filter(Boolean),
    ),
  ];
}

export interface EndpointBody {
  url: string;
  description: string;
  event_types: string[] | null;
  channels: string[] | null;
  /** Left out when the catalog fixes it (endpoint_defaults, locked). */
  profile?: string;
  headers?: Record<string, string>;
}

/**
 * The API body for a create (no `current`) or an edit. Static header values are never
 * shown back, so an edit that leaves the value empty keeps the stored header untouched.
 * Problems the API would not put in words a person expects are caught here.
 */
export function endpointBody(
  v: EndpointFormValues,
  current?: { headerNames: string[] },
  profileLocked = false,
): { ok: true; body: EndpointBody } | { ok: false; problem: string } {
  if (v.typesMode === 'chosen' && v.eventTypes.length === 0) {
    return { ok: false, problem: 'Choose at least one event type, or receive every default event type.' };
  }
  const channels = splitChannels(v.channels);
  const body: EndpointBody = {
    url: v.url,
    description: v.description,
    event_types: v.typesMode === 'chosen' ? v.eventTypes : null,
    channels: channels.length > 0 ? channels : null,
    ...(profileLocked ? {} : { profile: v.profile }),
  };
  const value = v.headerValue.trim();
  if (v.headerRemove) {
    body.headers = {};
  } else if (value !== '') {
    if (!v.headerName)
      return { ok: false, problem: 'Give the authentication header a name, e.g. X-Api-Key.' };
    body.headers = { [v.headerName]: value };
  } else if (
    v.headerName &&
    !current?.headerNames.some((n) => n.toLowerCase() === v.headerName.toLowerCase())
  ) {
    return { ok: false, problem: `Enter the value of the ${v.headerName} header.` };
  }
  return { ok: true, body };
}

/**
 * A datetime-local value ("2024-05-01T12:30") as an instant. `tzOffset` is the browser's
 * getTimezoneOffset() (minutes behind UTC), sent by the page script; without it, UTC.
 */
export function localTime(value: string, tzOffset: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return undefined;
  const utc = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
  );
  const offset = /^-?\d{1,4}$/.test(tzOffset) ? Number(tzOffset) : 0;
  const t = new Date(utc + offset * 60_000);
  return Number.isNaN(t.getTime()) ? undefined : t;
}
