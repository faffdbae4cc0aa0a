// The endpoint defaults catalogs set (catalog.schema.json's endpoint_defaults): the profile an
// endpoint gets when created without one, and whether tenants may choose another.
import type { Queryable } from './db.js';

export interface StoredEndpointDefaults {
  catalog: string;
  profile: string;
  locked: boolean;
}

/** The defaults in force; undefined: none (endpoints get `standard`, any profile may be chosen). */
export async function getEndpointDefaults(q: Queryable): Promise<StoredEndpointDefaults | undefined> {
  const rows = await q.query<StoredEndpointDefaults>(
    'SELECT catalog, profile, locked FROM catalog_endpoint_defaults ORDER BY catalog LIMIT 1',
  );
  return rows[0];
}

/**
 * Records what catalog `catalog` sets (null: it sets nothing, and its row goes). Returns the
 * other catalog whose different defaults are in force, if any: then nothing is written and the
 * caller refuses the catalog, since a deployment has one set of defaults.
 */
export async function putCatalogEndpointDefaults(
  q: Queryable,
  catalog: string,
  defaults: { profile: string; locked: boolean } | null,
  now: Date,
): Promise<StoredEndpointDefaults | undefined> {
  if (!defaults) {
    await q.query('DELETE FROM catalog_endpoint_defaults WHERE catalog = $1', [catalog]);
    return undefined;
  }
  const others = await q.query<StoredEndpointDefaults>(
    `SELECT catalog, profile, locked FROM catalog_endpoint_defaults
     WHERE catalog <> $1 AND (profile <> $2 OR locked <> $3) ORDER BY catalog LIMIT 1`,
    [catalog, defaults.profile, defaults.locked],
  );
  if (others[0]) return others[0];
  await q.query(
    `INSERT INTO catalog_endpoint_defaults (catalog, profile, locked, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (catalog) DO UPDATE SET profile = EXCLUDED.profile, locked = EXCLUDED.locked,
       updated_at = CASE WHEN (catalog_endpoint_defaults.profile, catalog_endpoint_defaults.locked)
                              = (EXCLUDED.profile, EXCLUDED.locked)
                         THEN catalog_endpoint_defaults.updated_at ELSE EXCLUDED.updated_at END`,
    [catalog, defaults.profile, defaults.locked, now],
  );
  return undefined;
}
