// The embedded engine's own thread: PGlite (PostgreSQL compiled to WebAssembly) runs here, in
// a worker thread of the service's process, so that its statements run beside the service's
// event loop instead of on it. pglite.ts is the other end: it posts each statement here and
// this thread answers it. Nothing else in src/ imports this file.
//
// PGlite has one connection; concurrent statements share it through PGlite's own queue, and
// a transaction holds it exclusively until it ends, as before the thread existed: every
// request is started as it arrives, and PGlite's locks order them.
import { parentPort, workerData } from 'node:worker_threads';
import { type ExecProtocolResult, PGlite, parse, protocol, type Transaction } from '@electric-sql/pglite';
import type { NamedSql } from './db.js';
import type { PgliteReply, PgliteRequest, PgliteThreadData } from './pgliteWire.js';
import { wireError } from './pgliteWire.js';

const port = parentPort;
if (!port) throw new Error('pgliteThread.ts runs as a worker thread (see pglite.ts)');
const { dataDir } = workerData as PgliteThreadData;

const pg = new PGlite({
  ...(dataDir ? { dataDir } : {}),
  // Keep the write-ahead log small: a bulk load otherwise grows it past a gigabyte.
  postgresqlconf: ['max_wal_size = 256MB', 'min_wal_size = 32MB', 'checkpoint_timeout = 60s'],
});
const named = namedStatements(pg);

/** Open transactions by the id of the request that began them. */
const open = new Map<
  number,
  { t: Transaction; decide: (commit: boolean) => void; settled: Promise<unknown> }
>();
/** Thrown inside PGlite's transaction callback to roll it back. */
const ROLLBACK = Symbol('rollback');

const reply = (r: PgliteReply) => {
  try {
    port.postMessage(r);
  } catch (err) {
    // A value that cannot be cloned fails this request, not the thread.
    port.postMessage({ id: r.id, error: wireError(err) });
  }
};

async function run(m: PgliteRequest): Promise<unknown[] | undefined> {
  const txId = 'tx' in m && m.op !== 'end' ? m.tx : undefined;
  const t = txId === undefined ? undefined : open.get(txId)?.t;
  if (txId !== undefined && !t) throw new Error(`no open transaction ${txId}`);
  switch (m.op) {
    case 'query':
      return (await (t ?? pg).query(m.text, m.params)).rows;
    case 'named': {
      const sql: NamedSql = { name: m.name, text: m.text, ...(m.plan ? { plan: m.plan } : {}) };
      // Outside a transaction a statement waits for any open one to end (PGlite's transaction
      // lock), as pg.query() does; inside one it only takes the connection.
      if (t) return pg.runExclusive(() => named.run(sql, m.params, false));
      return pg._runExclusiveTransaction(() => pg.runExclusive(() => named.run(sql, m.params, true)));
    }
    case 'exec':
      await (t ?? pg).exec(m.text);
      return undefined;
    case 'end': {
      const tx = open.get(m.tx);
      if (!tx) throw new Error(`no open transaction ${m.tx}`);
      open.delete(m.tx);
      tx.decide(m.commit);
      await tx.settled.catch((err) => {
        if (err !== ROLLBACK) throw err;
      });
      return undefined;
    }
    case 'close':
      await pg.close();
      return undefined;
    default:
      throw new Error(`unknown request ${(m as { op: string }).op}`);
  }
}

/** Begins a transaction; the answer is sent once it holds the connection. */
function begin(id: number) {
  let began = false;
  let decide: (commit: boolean) => void = () => undefined;
  const decided = new Promise<boolean>((resolve) => {
    decide = resolve;
  });
  const settled = pg.transaction(async (t) => {
    open.set(id, { t, decide, settled });
    began = true;
    reply({ id });
    if (!(await decided)) throw ROLLBACK;
  });
  settled.catch((err) => {
    if (!began) reply({ id, error: wireError(err) });
  });
}

port.on('message', (m: PgliteRequest) => {
  if (m.op === 'begin') return begin(m.id);
  run(m).then(
    (rows) => reply(rows ? { id: m.id, rows } : { id: m.id }),
    (err) => reply({ id: m.id, error: wireError(err) }),
  );
});

pg.waitReady.then(
  () => reply({ id: 0 }),
  (err) => reply({ id: 0, error: wireError(err) }),
);

/**
 * Named statements on PGlite's one connection, through its wire protocol: parsed and described
 * once (PREPARE), then only bound and executed. pg.query() parses, analyses and describes its
 * text on every call, which for the hot statements (CTEs of 20-30 nodes) costs more than
 * running them. PostgreSQL's plan cache then decides between custom and generic plans as it
 * does for the pg driver's named statements. Callers hold the connection (pg.runExclusive)
 * around run().
 *
 * Each exchange is one buffer of messages ending in Sync, which PGlite's backend reads to the
 * end in one call: Parse + Describe + Sync to prepare, Bind + Execute + Sync to run. The row
 * description comes from the statement's Describe, kept with it, so an execution needs no
 * Describe of its portal (a prepared statement's result columns do not change; a schema change
 * under it fails the Bind, as on PostgreSQL). After an error the Sync in the same buffer has
 * already ended the extended-protocol exchange, so the connection is ready for the next one.
 */
function namedStatements(pg: PGlite) {
  const { serialize } = protocol;
  type Messages = ExecProtocolResult['messages'];
  /** Parameter type oids and the result's row description of each prepared statement. */
  const prepared = new Map<string, { types: number[]; rowDescription: Messages }>();
  const opts = { syncToFs: false };
  const send = async (...msgs: Uint8Array[]): Promise<Messages> =>
    (await pg.execProtocol(Buffer.concat(msgs), opts)).messages;

  async function prepare(sql: NamedSql) {
    try {
      const messages = await send(
        serialize.parse({ name: sql.name, text: sql.text }),
        serialize.describe({ type: 'S', name: sql.name }),
        serialize.sync(),
      );
      const statement = {
        types: parse.parseDescribeStatementResults(messages),
        rowDescription: messages.filter((m) => m.name === 'rowDescription'),
      };
      prepared.set(sql.name, statement);
      return statement;
    } catch (err) {
      // A statement parsed but not described would make the next parse fail: let it go.
      await send(serialize.close({ type: 'S', name: sql.name }), serialize.sync()).catch(() => undefined);
      throw withQuery(err, sql);
    }
  }

  const GENERIC = { name: 'tidings_plan_generic', text: 'SET plan_cache_mode = force_generic_plan' };
  const AUTO = { name: 'tidings_plan_auto', text: 'SET plan_cache_mode = auto' };
  async function prepareSettings() {
    if (!prepared.has(GENERIC.name)) await prepare(GENERIC);
    if (!prepared.has(AUTO.name)) await prepare(AUTO);
  }

  return {
    async run<T>(sql: NamedSql, params: unknown[], autocommit: boolean): Promise<T[]> {
      const { types, rowDescription } = prepared.get(sql.name) ?? (await prepare(sql));
      const values = params.map((v, i) => {
        if (v === null || v === undefined) return null;
        const serializer = pg.serializers[types[i] ?? 0];
        return serializer ? serializer(v) : String(v);
      });
      const run = [serialize.bind({ statement: sql.name, values }), serialize.execute({})];
      // A generic plan for this statement alone: the plan cache reads plan_cache_mode at the
      // Bind. The three run in the exchange's one implicit transaction; if the statement
      // fails, the rest is skipped and the SET is undone with the transaction.
      const generic = autocommit && sql.plan === 'generic';
      if (generic) {
        await prepareSettings();
        run.unshift(serialize.bind({ statement: GENERIC.name, values: [] }), serialize.execute({}));
        run.push(serialize.bind({ statement: AUTO.name, values: [] }), serialize.execute({}));
      }
      let messages: Messages;
      try {
        messages = await send(...run, serialize.sync());
      } catch (err) {
        throw withQuery(err, sql);
      }
      // Only the statement's own rows: each SET answers with a CommandComplete of its own.
      if (generic) messages = messages.slice(messages.findIndex((m) => m.name === 'commandComplete') + 1);
      if (autocommit) await pg.syncToFs();
      return (parse.parseResults([...rowDescription, ...messages], pg.parsers)[0]?.rows ?? []) as T[];
    },
  };
}

/** The statement's name on an error from it, as pg.query() adds its text. */
function withQuery(err: unknown, sql: NamedSql): unknown {
  if (err instanceof Error && !('query' in err)) Object.assign(err, { query: sql.name });
  return err;
}
