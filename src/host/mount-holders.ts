import { readFile, readdir, readlink } from 'node:fs/promises';
import { isUnder, type MountEntry } from '../parse/mountinfo.js';
import type { HostProcess, ProcessFiles } from '../core/host.js';

export type { ProcessFiles } from '../core/host.js';

/** One reason a mount cannot be unmounted: a process that uses a path on it. */
export interface MountHolder {
  pid: number;
  comm: string;
  how: 'root' | 'cwd' | 'fd' | 'map';
  /** The path the process holds. */
  path: string;
  /** The mount point the path lies on (the deepest one that contains it). */
  mountPoint: string;
}

// The kernel appends this to links whose file was unlinked; the file still pins its mount.
const DELETED = ' (deleted)';
const clean = (p: string): string => (p.endsWith(DELETED) ? p.slice(0, -DELETED.length) : p);

// ENOENT and ESRCH mean the process exited meanwhile: nothing is missing, it simply holds nothing now.
const denied = (e: unknown): boolean => ['EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '');

async function fdPaths(procRoot: string, pid: number): Promise<{ paths: string[]; complete: boolean }> {
  let names: string[];
  try {
    names = await readdir(`${procRoot}/${pid}/fd`);
  } catch (e) {
    return { paths: [], complete: !denied(e) };
  }
  const links = await Promise.all(names.map((n) => readlink(`${procRoot}/${pid}/fd/${n}`).catch(() => null)));
  return { paths: links.filter((l): l is string => l !== null && l.startsWith('/')).map(clean), complete: true };
}

async function mappedPaths(procRoot: string, pid: number): Promise<{ paths: string[]; complete: boolean }> {
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/maps`, 'utf8');
  } catch (e) {
    return { paths: [], complete: !denied(e) };
  }
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    // address perms offset dev inode path: the path is everything after the fifth field.
    const m = /^\S+ \S+ \S+ \S+ \d+\s+(\/.*)$/.exec(line);
    if (m?.[1]) paths.add(clean(m[1]));
  }
  return { paths: [...paths], complete: true };
}

/** Reads the open paths of every process (one pass over /proc; vanished processes are skipped). */
export async function readProcessFiles(processes: HostProcess[], procRoot = '/proc'): Promise<ProcessFiles[]> {
  return Promise.all(processes.map(async (p) => {
    const [fds, maps] = await Promise.all([fdPaths(procRoot, p.pid), mappedPaths(procRoot, p.pid)]);
    return {
      pid: p.pid, comm: p.comm, mntns: p.mntns,
      root: p.rootLink === null ? null : clean(p.rootLink),
      cwd: p.cwdLink === null ? null : clean(p.cwdLink),
      fds: fds.paths, maps: maps.paths, complete: fds.complete && maps.complete,
    };
  }));
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

/**
 * The processes that keep any of `mounts` busy, through their root, cwd, an open file or a mapping.
 * Only processes in `mntns` count: a process in another mount namespace holds that namespace's copies.
 */
export function mountHolders(files: readonly ProcessFiles[], mounts: readonly MountEntry[], mntns: string | null, selfPid = process.pid): MountHolder[] {
  const holders: MountHolder[] = [];
  if (mounts.length === 0) return holders;
  for (const f of files) {
    if (f.pid === selfPid || (mntns !== null && f.mntns !== null && f.mntns !== mntns)) continue;
    const seen = new Set<string>();
    const note = (how: MountHolder['how'], path: string | null): void => {
      if (path === null) return;
      const m = mountContaining(mounts, path);
      if (!m || seen.has(`${how}:${m.mountPoint}`)) return;
      seen.add(`${how}:${m.mountPoint}`);
      holders.push({ pid: f.pid, comm: f.comm, how, path, mountPoint: m.mountPoint });
    };
    note('root', f.root);
    note('cwd', f.cwd);
    for (const p of f.fds) note('fd', p);
    for (const p of f.maps) note('map', p);
  }
  return holders;
}
