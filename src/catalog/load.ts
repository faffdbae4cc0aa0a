// Writes a catalog file into the store: every type upserted by name in one transaction, so
// a file is taken whole or not at all, and the catalog already in force stays when a file
// is refused. Loading the same file again changes nothing (the store keeps updated_at on an
// identical upsert).
import { readFileSync } from 'node:fs';
import type { Db, Queryable } from '../store/db.js';
import { putCatalogEndpointDefaults } from '../store/endpointDefaults.js';
import { getEventTypes, upsertEventType } from '../store/eventTypes.js';
import { type Catalog, parseCatalog } from './catalogFile.js';

export interface CatalogLoadSummary {
  /** The catalog's own name (its `name` member). */
  name: string;
  created: string[];
  updated: string[];
  unchanged: string[];
}

export type LoadCatalogResult = ({ ok: true } & CatalogLoadSummary) | { ok: false; errors: string[] };

/** A catalog file that cannot be loaded; the message lists every problem with its place. */
export class CatalogError extends Error {
  constructor(readonly errors: string[]) {
    super(`catalog refused:\n  ${errors.join('\n  ')}`);
    this.name = 'CatalogError';
  }
}

async function upsertCatalog(
  q: Queryable,
  catalog: Catalog,
  fileName: string,
  now: Date,
): Promise<CatalogLoadSummary> {
  const summary: CatalogLoadSummary = { name: catalog.name, created: [], updated: [], unchanged: [] };
  const clash = await putCatalogEndpointDefaults(q, catalog.name, catalog.endpoint_defaults ?? null, now);
  if (clash) {
    // Thrown inside the transaction: nothing of the file is written.
    throw new CatalogError([
      `${fileName}: endpoint_defaults: catalog "${clash.catalog}" already sets ${JSON.stringify({ profile: clash.profile, locked: clash.locked })}; a deployment has one set of endpoint defaults (load "${clash.catalog}" again without them first)`,
    ]);
  }
  // In name order, so that two processes loading overlapping catalogs at once (several
  // servers booting with TIDINGS_CATALOG) lock the rows in the same order and cannot deadlock.
  const types = [...catalog.event_types].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const before = new Map(
    (
      await getEventTypes(
        q,
        types.map((t) => t.name),
      )
    ).map((t) => [t.name, t.updated_at.getTime()]),
  );
  for (const t of types) {
    const { type, created } = await upsertEventType(
      q,
      {
        name: t.name,
        description: t.description,
        group: t.group,
        schema: t.schema ?? null,
        default_enabled: t.default_enabled,
        reminder: t.reminder ?? null,
        redact: t.redact ?? null,
        examples: t.examples ?? null,
        deprecated_reason: t.deprecated?.reason ?? null,
      },
      now,
    );
    if (created) summary.created.push(t.name);
    else if (type.updated_at.getTime() !== before.get(t.name)) summary.updated.push(t.name);
    else summary.unchanged.push(t.name);
  }
  return summary;
}

/**
 * Validates a catalog file's text and, when it is sound, upserts every type in one
 * transaction. On errors nothing is written and they are returned, each as
 * `file:line:column: path: problem`. `fileName` only labels the messages.
 */
export async function loadCatalogIntoStore(
  db: Db,
  text: string,
  fileName: string,
  now: Date,
): Promise<LoadCatalogResult> {
  const parsed = parseCatalog(text, fileName);
  if (!parsed.ok) return parsed;
  try {
    const summary = await db.tx((q) => upsertCatalog(q, parsed.catalog, fileName, now));
    return { ok: true, ...summary };
  } catch (err) {
    if (err instanceof CatalogError) return { ok: false, errors: err.errors };
    throw err;
  }
}

/**
 * Loads catalog files (TIDINGS_CATALOG at boot): every file is read and validated first,
 * then all are written in one transaction. Throws CatalogError, writing nothing, when any
 * file is missing or refused.
 */
export async function loadCatalogFiles(db: Db, paths: string[], now: Date): Promise<CatalogLoadSummary[]> {
  const catalogs: { catalog: Catalog; path: string }[] = [];
  const errors: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      errors.push(`${path}: cannot read the catalog file: ${(err as Error).message}`);
      continue;
    }
    const parsed = parseCatalog(text, path);
    if (parsed.ok) catalogs.push({ catalog: parsed.catalog, path });
    else errors.push(...parsed.errors);
  }
  if (errors.length > 0) throw new CatalogError(errors);
  if (catalogs.length === 0) return [];
  return db.tx(async (q) => {
    const out: CatalogLoadSummary[] = [];
    for (const c of catalogs) out.push(await upsertCatalog(q, c.catalog, c.path, now));
    return out;
  });
}

/** One line for a person: `highline: 16 event types (2 created, 1 updated, 13 unchanged)`. */
export function describeLoad(s: CatalogLoadSummary): string {
  const total = s.created.length + s.updated.length + s.unchanged.length;
  return `${s.name}: ${total} event types (${s.created.length} created, ${s.updated.length} updated, ${s.unchanged.length} unchanged)`;
}
