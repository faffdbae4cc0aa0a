// `tidings catalog load FILE [--url URL --token TOKEN]`: straight into the configured store,
// or through a running server's API, since the embedded store belongs to the one process
// that has it open. Either way the file is validated here first, and a refused file changes
// nothing.
import { readFileSync } from 'node:fs';
import { parseCatalog } from '../catalog/catalogFile.js';
import { type CatalogLoadSummary, describeLoad, loadCatalogIntoStore } from '../catalog/load.js';
import type { Config } from '../config.js';
import { migrate } from '../store/migrate.js';
import { lockDataDir, openStore } from '../store/open.js';

export interface CatalogLoadOptions {
  url?: string;
  token?: string;
}

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: CommandIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Runs the command; the exit code is the result (0 loaded, 1 refused or failed, 2 misused). */
export async function catalogLoadCommand(
  file: string,
  opts: CatalogLoadOptions,
  config: () => Config,
  io: CommandIo = consoleIo,
): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    io.err(`tidings: cannot read ${file}: ${(err as Error).message}`);
    return 1;
  }
  const parsed = parseCatalog(text, file);
  if (!parsed.ok) {
    io.err(`tidings: ${file} is refused; nothing was loaded:`);
    for (const e of parsed.errors) io.err(`  ${e}`);
    return 1;
  }
  if (opts.url !== undefined) {
    const token = opts.token ?? process.env.TIDINGS_ADMIN_TOKEN;
    if (!token) {
      io.err('tidings: --url needs the admin token: --token TOKEN (or TIDINGS_ADMIN_TOKEN)');
      return 2;
    }
    return loadThroughApi(opts.url.replace(/\/+$/, ''), token, file, text, parsed.catalog, io);
  }
  if (opts.token !== undefined) {
    io.err('tidings: --token goes with --url; without --url the file is loaded straight into the store');
    return 2;
  }
  return loadIntoStore(config(), file, text, io);
}

async function loadIntoStore(config: Config, file: string, text: string, io: CommandIo): Promise<number> {
  let unlock = () => {};
  if (!config.databaseUrl) {
    try {
      unlock = lockDataDir(config.dataDir);
    } catch (err) {
      io.err(`tidings: ${(err as Error).message}`);
      io.err('  To load into a running server, use --url URL --token TOKEN.');
      return 1;
    }
  }
  try {
    const db = await openStore(config);
    try {
      await migrate(db);
      const result = await loadCatalogIntoStore(db, text, file, new Date());
      if (!result.ok) {
        io.err(`tidings: ${file} is refused; nothing was loaded:`);
        for (const e of result.errors) io.err(`  ${e}`);
        return 1;
      }
      io.out(describeLoad(result));
      return 0;
    } finally {
      await db.close();
    }
  } finally {
    unlock();
  }
}

interface ErrorAnswer {
  error?: { code?: string; message?: string; details?: { errors?: string[] } | null };
}

async function loadThroughApi(
  base: string,
  token: string,
  file: string,
  text: string,
  catalog: import('../catalog/catalogFile.js').Catalog,
  io: CommandIo,
): Promise<number> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body: string) => {
    try {
      const res = await fetch(base + path, { method, headers, body });
      const answer = (await res.json().catch(() => ({}))) as unknown;
      return { status: res.status, answer };
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new Error(`cannot reach ${base}: ${cause ?? (err as Error).message}`);
    }
  };
  const failed = (status: number, answer: unknown) => {
    const e = (answer as ErrorAnswer).error;
    io.err(`tidings: the server refused the catalog (${status} ${e?.code ?? ''}): ${e?.message ?? ''}`);
    for (const line of e?.details?.errors ?? []) io.err(`  ${line}`);
    return 1;
  };
  try {
    // One call, one transaction on the server: a file is taken whole or not at all.
    const bulk = await call('PUT', `/v1/catalog?file=${encodeURIComponent(file)}`, text);
    if (bulk.status === 200) {
      io.out(describeLoad(bulk.answer as CatalogLoadSummary));
      return 0;
    }
    if (bulk.status !== 404 || (bulk.answer as ErrorAnswer).error?.code !== 'route_not_found') {
      return failed(bulk.status, bulk.answer);
    }
    // A server without PUT /v1/catalog: one type at a time (validated above, so each should pass).
    const summary: CatalogLoadSummary = { name: catalog.name, created: [], updated: [], unchanged: [] };
    for (const t of catalog.event_types) {
      const { name, ...body } = t;
      const res = await call('PUT', `/v1/event-types/${encodeURIComponent(name)}`, JSON.stringify(body));
      if (res.status === 201) summary.created.push(name);
      else if (res.status === 200) summary.updated.push(name);
      else {
        io.err(`tidings: stopped at ${name}; the types before it are loaded`);
        return failed(res.status, res.answer);
      }
    }
    io.out(`${describeLoad(summary)} (one by one; "updated" includes unchanged types)`);
    return 0;
  } catch (err) {
    io.err(`tidings: ${(err as Error).message}`);
    return 1;
  }
}
