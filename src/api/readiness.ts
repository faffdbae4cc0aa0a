// What /readyz answers, in one function any listener can call (the API's, or an ops port
// of a worker-only process): 503 when the store does not answer or when a role's loop has
// failed continuously for longer than the threshold (naming the role); otherwise 200, with
// how many endpoints the engine has parked (they are the tenants' problem, not the
// process's: the rest flows, so the process stays ready).
import type { LoopHealth } from '../loopHealth.js';
import type { Db } from '../store/db.js';
import { countParkedEndpoints } from '../store/faults.js';

export interface ReadinessOptions {
  db: Pick<Db, 'query' | 'exec' | 'engine'>;
  loops: LoopHealth;
  /** TIDINGS_LOOP_FAILING_AFTER. */
  failingAfterMs: number;
}

export type ReadinessBody =
  | {
      status: 'ready';
      store: string;
      loops: Record<string, 'ok' | 'failing'>;
      parked_endpoints: number;
    }
  | { error: { code: string; message: string; details: unknown } };

export interface Readiness {
  status: 200 | 503;
  body: ReadinessBody;
}

export async function readiness(o: ReadinessOptions): Promise<Readiness> {
  let parked: number;
  try {
    parked = await countParkedEndpoints(o.db);
  } catch (err) {
    return {
      status: 503,
      body: { error: { code: 'store_unavailable', message: String(err), details: null } },
    };
  }
  const failing = o.loops.failing(o.failingAfterMs);
  if (failing.length > 0) {
    const roles = failing.map((f) => f.role);
    return {
      status: 503,
      body: {
        error: {
          code: 'loop_failing',
          message: failing
            .map(
              (f) =>
                `the ${f.role} loop${f.part ? ` (${f.part})` : ''} has failed for ${Math.round(f.failingForMs / 1000)} s without a success${f.failures ? ` (${f.failures} rounds)` : ''}; see the log`,
            )
            .join('; '),
          details: { roles: [...new Set(roles)], threshold_ms: o.failingAfterMs },
        },
      },
    };
  }
  const loops: Record<string, 'ok' | 'failing'> = {};
  for (const s of o.loops.list()) loops[s.role] = s.failing ? 'failing' : 'ok';
  return { status: 200, body: { status: 'ready', store: o.db.engine, loops, parked_endpoints: parked } };
}
