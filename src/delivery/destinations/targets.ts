// Opened endpoint targets, kept in memory between deliveries. A target is loaded by endpoint id
// (store/endpointTargets.ts) the first time it is needed and again when it is stale: when the
// caller knows the endpoint's version (its updated_at, e.g. from a claim) and it differs, or,
// without a version, when the claimed URL differs or the entry is older than `ttlMs`. Requests
// made in the same turn of the event loop (a claimed batch being dispatched) share one query.
import type { Queryable } from '../../store/db.js';
import { type EndpointTarget, loadEndpointTargets, openEndpointTarget } from '../../store/endpointTargets.js';
import type { SecretCodec } from '../../store/secrets.js';
import { describeError } from './types.js';

export interface EndpointTargetsOptions {
  q: Queryable;
  codec: SecretCodec;
  /** How long a target loaded without a version check is trusted (default 1 s). */
  ttlMs?: number;
}

/** What the caller knows of the endpoint's current state; a mismatch reloads it. */
export interface TargetHint {
  url?: string;
  version?: number;
}

interface Cached {
  target: EndpointTarget;
  loadedAt: number;
}

export class EndpointTargets {
  private readonly cache = new Map<string, Cached>();
  private batch: Map<string, ((t: EndpointTarget) => void)[]> | undefined;
  private readonly ttlMs: number;
  /** Statements run (tests). */
  loads = 0;

  constructor(private readonly o: EndpointTargetsOptions) {
    this.ttlMs = o.ttlMs ?? 1000;
  }

  /**
   * The endpoint's target, opened. Never rejects: when the load fails, the target loaded last
   * (however old), or else a target whose `problem` says why.
   */
  get(endpointId: string, hint: TargetHint = {}): Promise<EndpointTarget> {
    const hit = this.cache.get(endpointId);
    if (hit && this.fresh(hit, hint)) return Promise.resolve(hit.target);
    return new Promise((resolve) => {
      if (!this.batch) {
        this.batch = new Map();
        setImmediate(() => void this.flush());
      }
      const waiting = this.batch.get(endpointId) ?? [];
      waiting.push(resolve);
      this.batch.set(endpointId, waiting);
    });
  }

  /** Loads these endpoints now (one statement) and keeps their targets; for a worker that knows what it claimed. */
  async load(endpointIds: string[]): Promise<Map<string, EndpointTarget>> {
    this.loads += 1;
    const rows = await loadEndpointTargets(this.o.q, endpointIds);
    const now = Date.now();
    const out = new Map<string, EndpointTarget>();
    for (const row of rows) {
      const target = openEndpointTarget(row, this.o.codec);
      this.cache.set(row.id, { target, loadedAt: now });
      out.set(row.id, target);
    }
    for (const id of endpointIds) if (!out.has(id)) this.cache.delete(id);
    return out;
  }

  /** Forgets an endpoint (deleted). */
  forget(endpointId: string): void {
    this.cache.delete(endpointId);
  }

  private fresh(c: Cached, hint: TargetHint): boolean {
    if (hint.version !== undefined) return c.target.version === hint.version;
    if (hint.url !== undefined && c.target.url !== hint.url) return false;
    return Date.now() - c.loadedAt < this.ttlMs;
  }

  private async flush(): Promise<void> {
    const batch = this.batch!;
    this.batch = undefined;
    const ids = [...batch.keys()];
    let loaded: Map<string, EndpointTarget> | undefined;
    let problem = '';
    try {
      loaded = await this.load(ids);
    } catch (err) {
      problem = `could not load the endpoint's settings: ${describeError(err)}`;
    }
    for (const [id, waiting] of batch) {
      // The store unreachable for a moment: what was loaded last is better than a failed attempt.
      const stale = loaded ? undefined : this.cache.get(id)?.target;
      const target = loaded?.get(id) ??
        stale ?? {
          id,
          url: '',
          version: 0,
          mtls: null,
          oauth: null,
          broker: null,
          problem: problem || 'the endpoint no longer exists',
        };
      for (const resolve of waiting) resolve(target);
    }
  }
}
