// Reads a Dockerfile into its stages and instructions, and plays them in plain folders: no
// Docker engine runs here, so the test runs the file's own COPY, RUN, ENV and CMD lines
// (mapping the container's absolute paths under one folder per stage) instead of a copy of
// them that could drift. An instruction it does not know is an error, not a skip.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface Instruction {
  op: string;
  args: string;
  /** --from=…, --chown=… and the like. */
  flags: Record<string, string>;
}

export interface Stage {
  name: string;
  base: string;
  steps: Instruction[];
}

const KNOWN = new Set([
  'FROM',
  'WORKDIR',
  'COPY',
  'RUN',
  'ENV',
  'CMD',
  'HEALTHCHECK',
  'EXPOSE',
  'VOLUME',
  'USER',
  'ARG',
  'LABEL',
]);

export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push((pending + line).trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unreadable Dockerfile line: ${line}`);
    const op = m[1]!.toUpperCase();
    if (!KNOWN.has(op))
      throw new Error(`Dockerfile instruction ${op} is not played by test/helpers/dockerfile.ts`);
    let args = m[2]!;
    const flags: Record<string, string> = {};
    if (op === 'COPY' || op === 'HEALTHCHECK') {
      for (;;) {
        const f = /^--([a-z-]+)=(\S+)\s+/.exec(args);
        if (!f) break;
        flags[f[1]!] = f[2]!;
        args = args.slice(f[0].length);
      }
    }
    if (op === 'FROM') {
      const [base, as, name] = args.split(/\s+/);
      stages.push({
        base: base!,
        name: as?.toUpperCase() === 'AS' ? name! : String(stages.length),
        steps: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${op} before FROM`);
    stage.steps.push({ op, args, flags });
  }
  return stages;
}

/** ENV a=b c=d (or the old ENV a b form). */
export function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args.includes('=')) {
    const [k, ...v] = args.split(/\s+/);
    out[k!] = v.join(' ');
    return out;
  }
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const v = m[2]!;
    out[m[1]!] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  }
  return out;
}

/** The exec form ["a", "b"] of CMD, HEALTHCHECK CMD and VOLUME. */
export function execForm(args: string): string[] {
  const json = args.startsWith('CMD ') ? args.slice(4) : args;
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`not an exec form: ${args}`);
  return parsed.map(String);
}

export interface Played {
  /** Each stage's folder: the container's / of that stage. */
  roots: Map<string, string>;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  volumes: string[];
  healthcheck: string[] | undefined;
  cmd: string[] | undefined;
}

/**
 * Plays every stage under `scratch`: COPY from the build context (or from an earlier stage's
 * folder), RUN through sh in the stage's working folder with baseEnv and the stage's ENV. Returns what
 * the last stage leaves for running it.
 */
export function playDockerfile(
  stages: Stage[],
  context: string,
  scratch: string,
  baseEnv: Record<string, string>,
): Played {
  const roots = new Map<string, string>();
  let last: Played | undefined;
  for (const stage of stages) {
    const root = path.join(scratch, stage.name);
    mkdirSync(root, { recursive: true });
    roots.set(stage.name, root);
    const at = (p: string, cwd: string) => (p.startsWith('/') ? path.join(root, p) : path.join(cwd, p));
    const played: Played = {
      roots,
      workdir: root,
      env: {},
      user: undefined,
      volumes: [],
      healthcheck: undefined,
      cmd: undefined,
    };
    for (const step of stage.steps) {
      switch (step.op) {
        case 'WORKDIR':
          played.workdir = at(step.args, played.workdir);
          mkdirSync(played.workdir, { recursive: true });
          break;
        case 'ENV':
          Object.assign(played.env, envPairs(step.args));
          break;
        case 'COPY': {
          const parts = step.args.split(/\s+/);
          const dest = parts.pop()!;
          const fromRoot = step.flags.from ? roots.get(step.flags.from) : undefined;
          if (step.flags.from && !fromRoot) throw new Error(`COPY --from=${step.flags.from}: no such stage`);
          for (const src of parts) {
            const from = fromRoot ? path.join(fromRoot, src) : path.join(context, src);
            const target =
              dest.endsWith('/') || parts.length > 1
                ? path.join(at(dest, played.workdir), path.basename(src))
                : at(dest, played.workdir);
            cpSync(from, target, { recursive: true, dereference: false });
          }
          break;
        }
        case 'RUN':
          execFileSync('sh', ['-c', step.args], {
            cwd: played.workdir,
            env: { ...baseEnv, ...played.env },
            stdio: 'pipe',
            maxBuffer: 64 * 1024 * 1024,
          });
          break;
        case 'USER':
          played.user = step.args;
          break;
        case 'VOLUME':
          played.volumes.push(...(step.args.startsWith('[') ? execForm(step.args) : step.args.split(/\s+/)));
          break;
        case 'HEALTHCHECK':
          played.healthcheck = execForm(step.args);
          break;
        case 'CMD':
          played.cmd = execForm(step.args);
          break;
        default:
          // EXPOSE, ARG, LABEL: metadata, nothing to play.
          break;
      }
    }
    last = played;
  }
  if (!last) throw new Error('no stage');
  return last;
}
