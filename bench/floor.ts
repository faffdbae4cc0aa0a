// The durable floor: the least a PostgreSQL design can do, with no Tidings code. One narrow jobs
// table (one row per delivery, the payload text inline) in its own schema, and three prepared
// (named) statements, each run once per batch:
//
// - publish: the ingest (node:http, single publishes and a batch path) group-commits: requests
//   that arrive while an INSERT is in flight wait for the next one, which takes all of them in
//   ONE multi-row INSERT (unnest of arrays). Up to `writers` INSERTs are in flight at once (with
//   one in flight, another starts once `eagerRows` rows wait); a request is answered 202 once
//   its INSERT has committed.
// - claim: ONE `UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE SKIP LOCKED LIMIT n)) RETURNING`
//   per batch, run ahead of the free send slots (up to `prefetch` claimed rows wait for a slot;
//   a claim goes once half the send slots' worth of room is free), one claim in flight. An
//   INSERT that commits wakes the claimer at once (same process); an empty claim sleeps until
//   then (or `idlePollMs`).
// - ack: results are grouped (each waits up to `ackDelayMs` for others); ONE UPDATE per group
//   marks them delivered or failed, up to `ackers` acks in flight. A failed POST leaves its row
//   failed: no retries, no fairness, no lease reaper. It is a floor, not a product.
//
// The sender is the one every system uses (bench/post.ts: the same undici pool, the same
// concurrency, signed per request). Runs as its own process, like the service.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import pg from 'pg';
import type { Pool as HttpPool } from 'undici';
import { accepted, close, eventsOf, ingestServer, listen, NO_EVENTS, NOT_FOUND } from './ingest.js';
import { serve } from './ipc.js';
import { deliveryPool, postWebhook } from './post.js';
import { logStatementOptions } from './statements.js';
import { DEFAULT_FLOOR_SETTINGS, type FloorSettings } from './systems/floor.js';
import { dropSchema, type StoredStartArgs } from './systems/helperSystem.js';

/** The schema: one table, one partial index for the claim's scan. Dropped before each run. */
function schemaSql(schema: string): string[] {
  const s = pg.escapeIdentifier(schema);
  return [
    `DROP SCHEMA IF EXISTS ${s} CASCADE`,
    `CREATE SCHEMA ${s}`,
    // state: 0 pending, 1 sending, 2 delivered, 3 failed. Vacuum and analyze often: the table
    // grows from empty during a run and every row is updated twice.
    `CREATE TABLE ${s}.jobs (
       id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       state smallint NOT NULL DEFAULT 0,
       msg_id text NOT NULL,
       path text NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       payload text NOT NULL
     ) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`,
    // Only pending rows are indexed for the claim; the claim walks it in id order.
    `CREATE INDEX jobs_pending ON ${s}.jobs (id) WHERE state = 0`,
  ];
}

// The three hot statements, prepared once per connection (search_path names the schema).
const PUBLISH: Omit<pg.QueryConfig, 'values'> = {
  name: 'floor_publish',
  text: 'INSERT INTO jobs (msg_id, path, payload) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
};
// ARRAY(…) makes the outer UPDATE a primary-key probe per claimed id, whatever the statistics.
const CLAIM: Omit<pg.QueryConfig, 'values'> = {
  name: 'floor_claim',
  text: `UPDATE jobs SET state = 1
          WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 0 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
      RETURNING id, msg_id, path, created_at, payload`,
};
const ACK: Omit<pg.QueryConfig, 'values'> = {
  name: 'floor_ack',
  text: `UPDATE jobs SET state = CASE WHEN id = ANY($2::bigint[]) THEN 3 ELSE 2 END
          WHERE id = ANY($1::bigint[])`,
};

interface Row {
  id: string;
  msg_id: string;
  path: string;
  created_at: Date;
  payload: string;
}

interface Waiting {
  msgIds: string[];
  paths: string[];
  payloads: string[];
  done: (err?: Error) => void;
}

let settings = DEFAULT_FLOOR_SETTINGS;
let where: { databaseUrl: string; schema: string } | undefined;
let db: pg.Pool | undefined;
let server: http.Server | undefined;
let sender: HttpPool | undefined;
let endpoints: string[] = [];
const run = randomBytes(4).toString('hex');
let seq = 0;
let stopping = false;
let delivered = 0;
let failed = 0;

// Publish: group commit.
let waiting: Waiting[] = [];
let writing = 0;

function write(): void {
  while (writing < settings.writers && waiting.length > 0) {
    if (writing > 0 && waiting.reduce((n, w) => n + w.msgIds.length, 0) < settings.eagerRows) return;
    let rows = 0;
    let n = 0;
    while (n < waiting.length && (n === 0 || rows + waiting[n]!.msgIds.length <= settings.insertRows)) {
      rows += waiting[n]!.msgIds.length;
      n++;
    }
    const group = waiting.slice(0, n);
    waiting = waiting.slice(n);
    const cols = {
      msgIds: group.flatMap((w) => w.msgIds),
      paths: group.flatMap((w) => w.paths),
      payloads: group.flatMap((w) => w.payloads),
    };
    writing++;
    db!.query({ ...PUBLISH, values: [cols.msgIds, cols.paths, cols.payloads] }).then(
      () => {
        writing--;
        for (const w of group) w.done();
        wake();
        write();
      },
      (err: Error) => {
        writing--;
        for (const w of group) w.done(err);
        write();
      },
    );
  }
}

function publish(events: { payload?: unknown }[]): Promise<string[]> {
  const ids: string[] = [];
  const w: Omit<Waiting, 'done'> = { msgIds: [], paths: [], payloads: [] };
  for (const e of events) {
    const id = `msg_floor_${run}_${++seq}`;
    const payload = JSON.stringify(e.payload ?? null);
    ids.push(id);
    for (const p of endpoints) {
      w.msgIds.push(id);
      w.paths.push(p);
      w.payloads.push(payload);
    }
  }
  return new Promise((resolve, reject) => {
    waiting.push({ ...w, done: (err) => (err ? reject(err) : resolve(ids)) });
    write();
  });
}

// Claim ahead of the send slots, send, ack in groups.
let delivering = false;
let claiming = false;
/** An INSERT committed while a claim was in flight: that claim may not have seen its rows. */
let woken = false;
let idle: NodeJS.Timeout | undefined;
let inFlight = 0;
let ready: Row[] = [];
let readyHead = 0;
let results: { id: string; ok: boolean }[] = [];
let acking = 0;
let ackTimer: NodeJS.Timeout | undefined;

function buffered(): number {
  return ready.length - readyHead;
}

function wake(): void {
  woken = true;
  if (idle) {
    clearTimeout(idle);
    idle = undefined;
  }
  claim();
}

function sleep(): void {
  idle = setTimeout(() => {
    idle = undefined;
    claim();
  }, settings.idlePollMs);
}

function claim(): void {
  if (!delivering || stopping || claiming || idle) return;
  const room = settings.concurrency + settings.prefetch - inFlight - buffered();
  // Claim once half the send slots' worth fits: fewer, fuller claims, and the slots never starve.
  if (room < Math.min(settings.claimBatch, Math.ceil(settings.concurrency / 2))) return;
  const n = Math.min(settings.claimBatch, room);
  claiming = true;
  woken = false;
  db!.query<Row>({ ...CLAIM, values: [n] }).then(
    (r) => {
      claiming = false;
      if (readyHead > 0) {
        ready = ready.slice(readyHead);
        readyHead = 0;
      }
      for (const row of r.rows) ready.push(row);
      send();
      // Short: the queue is empty (or all of it claimed) unless an INSERT came meanwhile.
      if (r.rows.length < n && !woken) sleep();
      else claim();
    },
    (err: Error) => {
      claiming = false;
      if (!stopping) console.error('[floor] claim failed:', err.message);
      sleep();
    },
  );
}

function send(): void {
  while (inFlight < settings.concurrency && readyHead < ready.length) {
    const row = ready[readyHead++]!;
    inFlight++;
    void postWebhook(sender!, row.path, row.msg_id, row.payload, row.created_at).then((out) => {
      inFlight--;
      results.push({ id: row.id, ok: out.ok });
      if (results.length >= settings.ackRows) ack();
      else ackTimer ??= setTimeout(ack, settings.ackDelayMs);
      send();
      claim();
    });
  }
}

function ack(): void {
  if (ackTimer) {
    clearTimeout(ackTimer);
    ackTimer = undefined;
  }
  while (acking < settings.ackers && results.length > 0) {
    const take = results.length <= settings.ackRows ? results : results.slice(0, settings.ackRows);
    results = take === results ? [] : results.slice(settings.ackRows);
    const ids = take.map((r) => r.id);
    const bad = take.filter((r) => !r.ok).map((r) => r.id);
    acking++;
    db!.query({ ...ACK, values: [ids, bad] }).then(
      () => {
        acking--;
        delivered += ids.length - bad.length;
        failed += bad.length;
        if (results.length >= settings.ackRows) ack();
      },
      (err: Error) => {
        acking--;
        if (!stopping) console.error('[floor] ack failed:', err.message);
      },
    );
  }
  // Results left because every acker was busy wait for the next timer.
  if (results.length > 0) ackTimer ??= setTimeout(ack, settings.ackDelayMs);
}

serve({
  start: async (args: StoredStartArgs<FloorSettings>) => {
    settings = args.settings;
    endpoints = args.paths;
    where = { databaseUrl: args.databaseUrl, schema: args.schema };
    const admin = new pg.Client({ connectionString: args.databaseUrl });
    await admin.connect();
    try {
      for (const sql of schemaSql(args.schema)) await admin.query(sql);
    } finally {
      await admin.end();
    }
    const options = [`-c search_path=${args.schema}`, ...(args.logStatements ? [logStatementOptions()] : [])];
    db = new pg.Pool({
      connectionString: args.databaseUrl,
      max: settings.writers + settings.ackers + 2,
      application_name: 'bench-floor',
      options: options.join(' '),
    });
    db.on('error', (err) => console.error('[floor] pool error:', err.message));
    sender = deliveryPool(args.receiverOrigin, settings.concurrency, settings.timeoutMs);
    server = ingestServer(async (path, body) => {
      if (path !== '/events' && path !== '/events/batch') return NOT_FOUND;
      const events = eventsOf(path, body);
      if (!events || events.length === 0) return NO_EVENTS;
      return accepted(path, await publish(events), endpoints.length);
    });
    return { origin: await listen(server) };
  },
  work: () => {
    delivering = true;
    claim();
    return true;
  },
  counts: () => ({ delivered, failed, inFlight, buffered: buffered() }),
  stop: async () => {
    stopping = true;
    delivering = false;
    if (idle) clearTimeout(idle);
    await close(server);
    if (ackTimer) clearTimeout(ackTimer);
    await sender?.close();
    await db?.end();
    if (where) await dropSchema(where.databaseUrl, where.schema);
    return true;
  },
});
