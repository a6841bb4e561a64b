import { readdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { linkOrNull, streamLinesSync } from './proc-read.js';
import { isUnder, type MountEntry } from '../parse/mountinfo.js';
import type { HostProcess, ProcessFiles } from '../core/host.js';

export type { ProcessFiles } from '../core/host.js';

// The kernel appends this to links whose file was unlinked; the file still pins its mount.
const DELETED = ' (deleted)';
const clean = (p: string): string => (p.endsWith(DELETED) ? p.slice(0, -DELETED.length) : p);

/** Absolute paths of a process's open files (sockets, pipes and anonymous files left out); complete=false when not allowed. */
function fdPaths(procRoot: string, pid: number): { paths: string[]; complete: boolean } {
  let names: string[];
  try {
    names = readdirSync(`${procRoot}/${pid}/fd`);
  } catch (e) {
    // ENOENT and ESRCH mean the process exited meanwhile: nothing is missing, it simply holds nothing now.
    return { paths: [], complete: !denied(e) };
  }
  const paths: string[] = [];
  for (const n of names) {
    const l = linkOrNull(`${procRoot}/${pid}/fd/${n}`);
    if (l !== null && l.startsWith('/')) paths.push(clean(l));
  }
  return { paths, complete: true };
}

const denied = (e: unknown): boolean => ['EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '');

/** Files mapped by a process, streamed (maps of a big process run to megabytes). */
function mappedPaths(procRoot: string, pid: number): { paths: string[]; complete: boolean } {
  const paths = new Set<string>();
  const failed = streamLinesSync(`${procRoot}/${pid}/maps`, (line) => {
    // address perms offset dev inode path: the path is everything after the fifth field.
    const m = /^\S+ \S+ \S+ \S+ \d+\s+(\/.*)$/.exec(line);
    if (m?.[1]) paths.add(clean(m[1]));
  });
  return { paths: [...paths], complete: failed === null || !['EACCES', 'EPERM'].includes(failed) };
}

/** How long the reads run between two turns of the event loop (by time: see host-context's filterInChunks). */
const SLICE_MS = 10;

/**
 * Reads the open paths of `processes` (vanished ones hold nothing), in chunks with the event
 * loop turning between them; `mntns`, when given, skips processes of other mount namespaces
 * before their fds and maps are read (they hold that namespace's copies, see {@link mountHolders}).
 */
export async function readProcessFiles(
  processes: readonly HostProcess[],
  procRoot = '/proc',
  mntns: string | null = null,
  keepPath: (path: string) => boolean = () => true,
): Promise<ProcessFiles[]> {
  const out: ProcessFiles[] = [];
  let sliceStart = performance.now();
  for (let i = 0; i < processes.length; i++) {
    if (i % 16 === 15 && performance.now() - sliceStart > SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    const p = processes[i]!;
    if (mntns !== null && p.mntns !== null && p.mntns !== mntns) continue;
    const fds = fdPaths(procRoot, p.pid);
    const maps = mappedPaths(procRoot, p.pid);
    out.push({
      pid: p.pid,
      comm: p.comm,
      mntns: p.mntns,
      root: p.rootLink === null ? null : clean(p.rootLink),
      cwd: p.cwdLink === null ? null : clean(p.cwdLink),
      fds: fds.paths.filter(keepPath),
      maps: maps.paths.filter(keepPath),
      complete: fds.complete && maps.complete,
    });
  }
  return out;
}

/**
 * Whether a path lies on a mount other than the root one: only such paths can keep a guest's
 * leftover mount busy (those mounts are all below some directory), so the rest of a busy host's
 * open files and mappings (libraries, binaries on /) need not be kept in memory.
 */
export function offRootMount(mounts: readonly MountEntry[]): (path: string) => boolean {
  const points = new Set(mounts.map((m) => m.mountPoint).filter((p) => p !== '/'));
  return (path) => {
    for (let dir = path; dir.length > 1; dir = dir.slice(0, Math.max(1, dir.lastIndexOf('/')))) {
      if (points.has(dir)) return true;
    }
    return false;
  };
}

/** The deepest mount (newest when stacked) whose mount point contains `path`. */
export function mountContaining(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if (!isUnder(path, m.mountPoint)) continue;
    if (!best || m.mountPoint.length > best.mountPoint.length || (m.mountPoint === best.mountPoint && m.id > best.id)) best = m;
  }
  return best;
}
