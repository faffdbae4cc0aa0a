// The two ways the benchmark drives a sender: a closed loop (N clients, each sending as soon as
// its last request was answered) for throughput, and an open loop (a fixed rate; each request
// stamped with its scheduled time, so a server that falls behind shows its queueing in the
// latency instead of slowing the generator down: no coordinated omission).
import { nowMs } from './wire.js';

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  firstError?: string;
  startAt: number;
  endAt: number;
  /** Milliseconds from a request's (scheduled) send to its answer, one per answered request. */
  requestMs: Float64Array;
  /** webhook-ids (or publish answer ids) with their send stamps, when recording was asked for. */
  ids: string[];
  sentAt: Float64Array;
  /** Open loop only: requests not sent because too many were already waiting. */
  dropped: number;
}

export class Recorder {
  sent = 0;
  ok = 0;
  failed = 0;
  dropped = 0;
  statuses: Record<string, number> = {};
  firstError: string | undefined;
  requestMs: number[] = [];
  ids: string[] = [];
  sentAt: number[] = [];
  readonly startAt = nowMs();

  status(code: number | string): void {
    const key = String(code);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
  }

  error(message: string): void {
    this.failed++;
    this.firstError ??= message;
  }

  /** One answered request; `id` is kept only when the caller records ids. */
  done(stampedAt: number, id: string | undefined): void {
    this.ok++;
    this.requestMs.push(nowMs() - stampedAt);
    if (id !== undefined) {
      this.ids.push(id);
      this.sentAt.push(stampedAt);
    }
  }

  result(): LoadResult {
    return {
      sent: this.sent,
      ok: this.ok,
      failed: this.failed,
      dropped: this.dropped,
      statuses: this.statuses,
      ...(this.firstError ? { firstError: this.firstError } : {}),
      startAt: this.startAt,
      endAt: nowMs(),
      requestMs: Float64Array.from(this.requestMs),
      ids: this.ids,
      sentAt: Float64Array.from(this.sentAt),
    };
  }
}

/** Sends one request numbered `seq`, stamped `stampedAt`; records its own outcome. */
export type SendFn = (seq: number, stampedAt: number) => Promise<void>;

/** `deadlineMs`: stop starting requests after this long (a stuck server must not stall the run). */
export async function closedLoop(
  rec: Recorder,
  concurrency: number,
  count: number,
  send: SendFn,
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<void> {
  let next = 0;
  const stopAt = nowMs() + deadlineMs;
  const client = async () => {
    while (next < count) {
      if (nowMs() > stopAt) {
        rec.dropped += count - next;
        next = count;
        rec.firstError ??= `gave up after ${Math.round(deadlineMs / 1000)} s`;
        break;
      }
      const seq = next++;
      rec.sent++;
      await send(seq, nowMs());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, client));
}

export async function openLoop(
  rec: Recorder,
  rate: number,
  durationMs: number,
  maxPending: number,
  send: SendFn,
): Promise<void> {
  const total = Math.floor((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const t0 = nowMs();
  let issued = 0;
  let pending = 0;
  const inFlight = new Set<Promise<void>>();
  while (issued < total) {
    const now = nowMs();
    while (issued < total && t0 + issued * interval <= now) {
      const scheduled = t0 + issued * interval;
      const seq = issued++;
      if (pending >= maxPending) {
        rec.dropped++;
        continue;
      }
      pending++;
      rec.sent++;
      const p: Promise<void> = send(seq, scheduled).finally(() => {
        pending--;
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    const wait = t0 + issued * interval - nowMs();
    // setTimeout cannot wait less than a millisecond; at high rates several go per tick.
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(5, wait))));
  }
  await Promise.all([...inFlight]);
}
