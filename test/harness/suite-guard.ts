/**
 * The integration suite's clean-state guard: vitest's `globalSetup` for the integration
 * project. Before any test file runs it snapshots the host (mounts, network namespaces,
 * schroot sessions and configs, cgroups, X sockets, daemons) and marks this suite's
 * processes with a token in their environment; after the last file it takes the picture
 * again and fails the run if anything this suite made is still there.
 *
 * Other runs may share the machine (other engineers, CI jobs). A change is judged ours when
 * it names a world this suite created (worlds record their ids in the file named by
 * `CTD_SUITE_WORLDS`), or when it is a process carrying our token or living in our worlds.
 * A change that names nothing is ours too, unless foreign runs are visibly active, in which
 * case it is only printed.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { diffSnapshots, hostSnapshot, type HostSnapshot } from './snapshot.js';

/** Environment variables the guard hands to the test workers (inherited by their children). */
export const SUITE_ENV = { token: 'CTD_SUITE_TOKEN', worlds: 'CTD_SUITE_WORLDS', before: 'CTD_SUITE_BEFORE' } as const;

/** What the guard saw before the suite. */
export interface SuiteBefore {
  token: string;
  snapshot: HostSnapshot;
  /** `pid comm` of the processes carrying the token (normally none). */
  processes: string[];
}

/** Called by `createWorld`: remember that this suite owns world `id`. A no-op outside the guarded suite. */
export function recordWorldId(id: string): void {
  const file = process.env[SUITE_ENV.worlds];
  if (file) appendFileSync(file, `${id}\n`);
}

/** The world ids this suite created so far. */
export function suiteWorldIds(): string[] {
  const file = process.env[SUITE_ENV.worlds];
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** True when `pid` belongs to this suite: it carries the token, or lives in one of our worlds. */
function isOurs(pid: string, token: string, worldIds: string[]): boolean {
  if (readOr(`/proc/${pid}/environ`, '').split('\0').includes(`${SUITE_ENV.token}=${token}`)) return true;
  const places = ['root', 'cwd'].map((l) => {
    try {
      return readlinkSync(`/proc/${pid}/${l}`);
    } catch {
      return '';
    }
  });
  const cmdline = readOr(`/proc/${pid}/cmdline`, '').replace(/\0/g, ' ');
  return worldIds.some(
    (id) =>
      places.some((p) => p.startsWith(`/tmp/ctrtest-${id}`) || p.includes(`ctd-${id}-`)) ||
      cmdline.includes(`ctd-${id}-`) ||
      cmdline.includes(`ctrtest-${id}`),
  );
}

/**
 * `pid comm` of every process of this suite except the vitest processes themselves.
 * Kernel threads have an empty environ and no root of ours, so they never match.
 */
export function suiteProcesses(token: string, worldIds: string[], exclude: ReadonlySet<number>): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (exclude.has(Number(pid))) continue;
    const comm = readOr(`/proc/${pid}/comm`, '').trim();
    if (!comm) continue;
    // The vitest workers and esbuild carry the token too; they are the suite, not its leftovers.
    const cmdline = readOr(`/proc/${pid}/cmdline`, '');
    if (/vitest|esbuild/.test(cmdline)) continue;
    if (isOurs(pid, token, worldIds)) out.push(`${pid} ${comm}`);
  }
  return out.sort();
}

/** Still alive after a short wait: short-lived processes (a command finishing) are not leftovers. */
async function longLived(entries: string[]): Promise<string[]> {
  if (entries.length === 0) return entries;
  await sleep(1_000);
  return entries.filter((e) => existsSync(`/proc/${e.split(' ')[0]}`));
}

/** The ids a diff line names (`ctd-<id>-…`, `/tmp/ctrtest-<id>…`). */
function namedIds(line: string): string[] {
  return [...line.matchAll(/(?:ctd-|ctrtest-)([a-z0-9]+)/g)].map((m) => m[1]!);
}

/**
 * State that a tool the suite drives creates for itself, once per machine, and keeps by design:
 * not the suite's to remove, so not a leftover. A machine that ran the tool before has it already.
 */
export const TOOL_STATE: readonly { line: RegExp; owner: string }[] = [
  // podman's cgroupfs manager parents every container under libpod_parent, made on its first run.
  { line: /^\+ cgroups: (systemd|unified)\/libpod_parent$/, owner: 'podman (made on its first run, kept for later ones)' },
];

/** The tool that keeps a diff line's state for itself, or null. */
export function toolStateOwner(line: string): string | null {
  return TOOL_STATE.find((t) => t.line.test(line))?.owner ?? null;
}

/** Splits a host snapshot diff into what this suite left behind and what other runs (or tools, for themselves) did. */
export function judgeDiff(diff: string[], worldIds: string[], foreignActive: boolean): { ours: string[]; foreign: string[] } {
  const ours: string[] = [];
  const foreign: string[] = [];
  for (const line of diff) {
    // Daemons are judged by the token scan instead, which sees exactly whose they are.
    if (/^[+-] processes: /.test(line)) continue;
    const owner = toolStateOwner(line);
    if (owner !== null) {
      foreign.push(`${line} (state of ${owner})`);
      continue;
    }
    const ids = namedIds(line);
    const mine = ids.length > 0 ? ids.some((id) => worldIds.includes(id)) : !foreignActive;
    (mine ? ours : foreign).push(line);
  }
  return { ours, foreign };
}

/** True when network namespaces, mounts or sessions that are not ours exist (another run is active). */
export function foreignRunsActive(snaps: HostSnapshot[], worldIds: string[]): boolean {
  const foreignName = (l: string): boolean => namedIds(l).some((id) => !worldIds.includes(id));
  // Any network namespace that is not one of our worlds' means someone else is testing here.
  const foreignNetns = (n: string): boolean => !worldIds.some((id) => n.startsWith(`ctd-${id}-`));
  return snaps.some((s) => s.netns.some(foreignNetns) || [...s.mounts, ...s.sessions].some(foreignName));
}

/** Compare the host now with `before`; returns the lines that make the suite fail, and notes. */
export async function checkAgainst(before: SuiteBefore, exclude: ReadonlySet<number>): Promise<{ leftovers: string[]; notes: string[] }> {
  const worldIds = suiteWorldIds();
  const after = await hostSnapshot();
  const foreignActive = foreignRunsActive([before.snapshot, after], worldIds);
  const { ours, foreign } = judgeDiff(diffSnapshots(before.snapshot, after), worldIds, foreignActive);
  const procsBefore = new Set(before.processes.map((p) => p.split(' ')[0]));
  const procs = await longLived(suiteProcesses(before.token, worldIds, exclude).filter((p) => !procsBefore.has(p.split(' ')[0])));
  return {
    leftovers: [...ours, ...procs.map((p) => `+ process: ${p}`)],
    notes: foreign.map((l) => (toolStateOwner(l.replace(/ \(state of .*$/, '')) ? l : `(another run) ${l}`)),
  };
}

/** Parent chain of this process: the vitest main process and whatever started it. */
function ancestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    const stat = readOr(`/proc/${pid}/stat`, '');
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
  }
  return out;
}

/** vitest globalSetup: snapshot before, judge after. */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'ctd-suite-'));
  const token = randomBytes(8).toString('hex');
  const worlds = join(dir, 'worlds');
  writeFileSync(worlds, '');
  // Set before any worker starts, so workers and everything they spawn inherit them.
  process.env[SUITE_ENV.token] = token;
  process.env[SUITE_ENV.worlds] = worlds;
  const before: SuiteBefore = { token, snapshot: await hostSnapshot(), processes: suiteProcesses(token, [], ancestors()) };
  const beforeFile = join(dir, 'before.json');
  writeFileSync(beforeFile, JSON.stringify(before));
  process.env[SUITE_ENV.before] = beforeFile;

  return async () => {
    try {
      const { leftovers, notes } = await checkAgainst(before, ancestors());
      if (notes.length > 0)
        console.warn(`[suite-guard] changes by other runs or kept by tools for themselves, ignored:\n${notes.join('\n')}`);
      if (leftovers.length > 0) {
        // vitest only logs an error thrown here; the exit code is what makes the run fail.
        process.exitCode = 1;
        throw new Error(`the integration suite left things behind on the host:\n${leftovers.join('\n')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
