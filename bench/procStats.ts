// CPU and memory of processes, read from /proc (Linux). The harness reports the CPU its own
// processes used beside the system under test's, so a reader can see how much of the two
// cores went to measuring rather than to the thing measured.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks = 100;
try {
  ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux's usual USER_HZ.
}

/**
 * CPU seconds a process has used so far (0 when it is gone): the sum of its threads' time on a
 * CPU from /proc/<pid>/task/<tid>/schedstat (nanoseconds), so that a short run's figure is not
 * lost in the clock ticks of /proc/<pid>/stat (10 ms each), which is the fallback. A thread
 * that ended takes its time with it; Node's and PostgreSQL's threads live as long as their
 * process.
 */
export function cpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) || 0;
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // No schedstat here (or the process ended): the ticks below.
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (0 when the process is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Machine-wide busy and total CPU seconds since boot (all cores). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / ticks, total: total / ticks };
}

/**
 * CPU seconds of every running PostgreSQL server process, by pid. The server is shared and its
 * backends come and go, so a difference of two readings is a lower bound: a backend that ended
 * in between takes its CPU with it.
 */
export function postgresCpuByPid(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'postgres') continue;
      out.set(Number(name), cpuSeconds(Number(name)));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

export interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number };
  postgres: Map<number, number>;
  byRole: Record<string, number>;
}

/** A CPU snapshot of named processes; the difference of two is what a scenario used. */
export function snapshot(pids: Record<string, number>): CpuSnapshot {
  const byRole: Record<string, number> = {};
  for (const [role, pid] of Object.entries(pids)) {
    byRole[role] = pid === process.pid ? selfCpuSeconds() : cpuSeconds(pid);
  }
  return { at: Date.now(), machine: machineCpu(), postgres: postgresCpuByPid(), byRole };
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface CpuUse {
  wallSeconds: number;
  /** Machine-wide busy share of all cores, 0..1. */
  machineBusy: number;
  postgresSeconds: number;
  /** CPU seconds per role (harness, receiver, load, and the system under test). */
  seconds: Record<string, number>;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds: Record<string, number> = {};
  for (const role of Object.keys(b.byRole)) {
    // A process that started after `a` has used everything it reports.
    seconds[role] = roundUs(Math.max(0, (b.byRole[role] ?? 0) - (a.byRole[role] ?? 0)));
  }
  const total = b.machine.total - a.machine.total;
  return {
    wallSeconds: round2((b.at - a.at) / 1000),
    machineBusy: total > 0 ? round2((b.machine.busy - a.machine.busy) / total) : 0,
    postgresSeconds: roundUs(
      [...b.postgres].reduce((sum, [pid, sec]) => sum + Math.max(0, sec - (a.postgres.get(pid) ?? 0)), 0),
    ),
    seconds,
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** CPU seconds to the microsecond: per-delivery figures of short runs are tens of µs. */
function roundUs(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
