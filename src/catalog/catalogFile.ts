// Catalog files: the event types of a deployment, as shipped in catalogs/ and loaded by
// `tidings catalog load` or TIDINGS_CATALOG. The format is catalogs/catalog.schema.json; a bad
// file is refused with every problem found, each with its file, line, column and JSON path,
// so the previous catalog stays in force and the operator knows where to look.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { PROFILE_NAMES } from '../delivery/profiles/index.js';
import { type JsonPath, lineColumn, scanJson } from '../json/scan.js';
import { examplesProblem, payloadSchemaProblem } from '../publishing/payloadSchema.js';
import { validateReminderSettings } from '../scheduler/rules.js';
import { readReminderSettings } from '../scheduler/settings.js';

export type JsonSchema = Record<string, unknown>;

/**
 * Which rule forms a reminder (scheduled) event type allows; see DESIGN "Reminders". A type
 * alias rather than an interface, so it fits where a plain JSON record is expected.
 */
export type CatalogReminder = {
  anchor: string;
  negative_offsets: boolean;
  periodic: boolean;
  window?: string | { start?: string; end?: string; description?: string };
  resolved_by?: string;
};

export interface CatalogEventType {
  name: string;
  description: string;
  group: string | null;
  default_enabled: boolean;
  schema?: JsonSchema;
  reminder?: CatalogReminder;
  /** Example payloads (each satisfies the schema); the first is what a test event sends. */
  examples?: unknown[];
  deprecated?: { reason: string };
  /** JSON pointers of personal data in the payload (catalog/redact.ts). */
  redact?: string[];
}

/** What endpoints get when created without saying (catalog.schema.json's endpoint_defaults). */
export interface EndpointDefaults {
  profile: string;
  /** A tenant cannot choose another profile. */
  locked: boolean;
}

export interface Catalog {
  name: string;
  description: string;
  /** The wire profile the provider's clients expect; informational. */
  profile: string;
  endpoint_defaults?: EndpointDefaults;
  event_types: CatalogEventType[];
}

export type ParseCatalogResult = { ok: true; catalog: Catalog } | { ok: false; errors: string[] };

let catalogValidator: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!catalogValidator) {
    // catalogs/ sits two levels above both src/catalog/ and dist/catalog/.
    const url = new URL('../../catalogs/catalog.schema.json', import.meta.url);
    const schema = JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
    catalogValidator = new Ajv({ allErrors: true, verbose: true }).compile(schema);
  }
  return catalogValidator;
}

/** `event_types[3].name`, the way a reader would write the path. */
export function formatJsonPath(path: JsonPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || '(root)';
}

function pointerOf(path: JsonPath): string {
  return path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function pathOfPointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

function schemaErrorMessage(e: ErrorObject): { path: (string | number)[]; message: string } {
  const path = pathOfPointer(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path, message: `missing required property "${String(params['missingProperty'])}"` };
    case 'additionalProperties': {
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      const allowed = props ? ` (allowed: ${Object.keys(props).join(', ')})` : '';
      return { path: [...path, String(params['additionalProperty'])], message: `unknown property${allowed}` };
    }
    case 'pattern':
      return { path, message: `must match ${String(params['pattern'])}` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/**
 * Validates a catalog file's text. `fileName` only labels the messages, which read
 * `file:line:column: json.path: problem`.
 */
export function parseCatalog(text: string, fileName: string): ParseCatalogResult {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const offsets = new Map<string, number>();
  const syntax = scanJson(src, (path, start) => offsets.set(pointerOf(path), start));
  if (syntax) {
    return { ok: false, errors: [`${fileName}:${syntax.line}:${syntax.column}: ${syntax.message}`] };
  }
  const placed: { offset: number; text: string }[] = [];
  const at = (path: JsonPath, message: string) => {
    // A missing or unknown member is reported at the nearest enclosing value that exists.
    let p = [...path];
    while (p.length > 0 && !offsets.has(pointerOf(p))) p = p.slice(0, -1);
    const offset = offsets.get(pointerOf(p)) ?? 0;
    const { line, column } = lineColumn(src, offset);
    const text = `${fileName}:${line}:${column}: ${formatJsonPath(path)}: ${message}`;
    if (!placed.some((e) => e.text === text)) placed.push({ offset, text });
  };
  // In file order, so the list reads top to bottom.
  const refused = (): ParseCatalogResult => ({
    ok: false,
    errors: placed.sort((a, b) => a.offset - b.offset).map((e) => e.text),
  });

  const data: unknown = JSON.parse(src);
  const validate = validator();
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      const { path, message } = schemaErrorMessage(e);
      at(path, message);
    }
    return refused();
  }

  const file = data as {
    name: string;
    description?: string;
    profile?: string;
    endpoint_defaults?: { profile: string; locked?: boolean };
    event_types: (Omit<CatalogEventType, 'group'> & { group?: string })[];
  };
  const profile = file.profile ?? 'standard';
  if (!PROFILE_NAMES.includes(profile)) {
    at(['profile'], `unknown wire profile "${profile}" (known: ${PROFILE_NAMES.join(', ')})`);
  }
  const defaults = file.endpoint_defaults;
  if (defaults && !PROFILE_NAMES.includes(defaults.profile)) {
    at(
      ['endpoint_defaults', 'profile'],
      `unknown wire profile "${defaults.profile}" (known: ${PROFILE_NAMES.join(', ')})`,
    );
  }
  const seen = new Map<string, number>();
  file.event_types.forEach((t, i) => {
    const first = seen.get(t.name);
    if (first !== undefined) {
      at(['event_types', i, 'name'], `duplicate of event_types[${first}].name "${t.name}"`);
    } else {
      seen.set(t.name, i);
    }
    if (t.schema !== undefined) {
      // The same check PUT /v1/event-types makes, with the compiler ingest uses.
      const problem = payloadSchemaProblem(t.schema);
      if (problem) at(['event_types', i, 'schema'], `not a usable JSON Schema: ${problem}`);
    }
    const badExample = t.examples && examplesProblem(t.schema, t.examples);
    if (badExample) at(['event_types', i, 'examples'], badExample);
    const settings = t.reminder && readReminderSettings(t.reminder);
    const bounds = settings && validateReminderSettings(settings);
    if (bounds && !bounds.ok) at(['event_types', i, 'reminder', 'window'], bounds.message);
  });
  if (placed.length > 0) return refused();

  return {
    ok: true,
    catalog: {
      name: file.name,
      description: file.description ?? '',
      profile,
      ...(defaults
        ? { endpoint_defaults: { profile: defaults.profile, locked: defaults.locked ?? false } }
        : {}),
      event_types: file.event_types.map((t) => ({
        name: t.name,
        description: t.description,
        group: t.group ?? null,
        default_enabled: t.default_enabled,
        ...(t.schema !== undefined ? { schema: t.schema } : {}),
        ...(t.reminder !== undefined ? { reminder: t.reminder } : {}),
        ...(t.redact !== undefined ? { redact: t.redact } : {}),
        ...(t.examples !== undefined ? { examples: t.examples } : {}),
        ...(t.deprecated !== undefined ? { deprecated: t.deprecated } : {}),
      })),
    },
  };
}
