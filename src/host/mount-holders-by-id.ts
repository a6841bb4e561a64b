import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { readCappedText, streamLinesSync } from './proc-read.js';
import type { MountEntry } from '../parse/mountinfo.js';
import type { HostProcess, MountHolder } from '../core/host.js';

/** Linux's O_PATH (absent from fs.constants): a handle that only anchors a path. */
const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;

/** How many processes are read between two turns of the event loop. */
const CHUNK = 64;

/** The `mnt_id:` of an fdinfo text, or null. */
function mntIdOf(fdinfo: string | null): number | null {
  const m = fdinfo === null ? null : /^mnt_id:\s*(\d+)/m.exec(fdinfo);
  return m ? Number(m[1]) : null;
}

/** The mount id of whatever `path` (a /proc magic link) leads to, through an O_PATH handle of it; null when it cannot be opened. */
function mountIdThrough(path: string, follow = true): number | null {
  let fd: number;
  try {
    fd = openSync(path, O_PATH | (follow ? 0 : O_NOFOLLOW));
  } catch {
    return null;
  }
  try {
    return mntIdOf(readCappedText(`/proc/self/fdinfo/${fd}`, 4096)?.text ?? null);
  } finally {
    closeSync(fd);
  }
}

const linkOf = (path: string): string => {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
};

/** The ids of mount `top` and of every mount below it in the mount tree (by parent id, not by path). */
export function mountSubtree(mounts: readonly MountEntry[], top: number): Set<number> {
  const ids = new Set<number>([top]);
  for (let grew = true; grew;) {
    grew = false;
    for (const m of mounts)
      if (!ids.has(m.id) && ids.has(m.parentId)) {
        ids.add(m.id);
        grew = true;
      }
  }
  return ids;
}

/**
 * The processes that keep mount `top` (or a mount below it) busy, matched by the mount id the kernel
 * gives what they hold: `mnt_id` in /proc/PID/fdinfo for open files, and the id of an O_PATH handle of
 * /proc/PID/{root,cwd} and of /proc/PID/map_files entries (only for mappings on a device of those mounts).
 * Path strings are only shown, never compared: a guest names its files as it likes (`x (deleted)`, a
 * name that looks like it lies under the mount point) and cannot make another process look like a holder.
 * Only processes in `mntns` count: one in another mount namespace holds that namespace's copies.
 */
export async function mountHoldersById(
  processes: readonly HostProcess[],
  mounts: readonly MountEntry[],
  top: number,
  mntns: string | null,
  selfPid = process.pid,
): Promise<MountHolder[]> {
  const ids = mountSubtree(mounts, top);
  const byId = new Map(mounts.map((m) => [m.id, m]));
  const devices = new Set(
    [...ids]
      .map((id) => byId.get(id))
      .filter((m) => m !== undefined)
      .map((m) => `${m.major.toString(16).padStart(2, '0')}:${m.minor.toString(16).padStart(2, '0')}`),
  );
  const holders: MountHolder[] = [];
  for (const [i, p] of processes.entries()) {
    if (i > 0 && i % CHUNK === 0) await yieldToLoop();
    if (p.pid === selfPid || (mntns !== null && p.mntns !== null && p.mntns !== mntns)) continue;
    const seen = new Set<string>();
    const note = (how: MountHolder['how'], id: number | null, path: string): void => {
      const m = id === null || !ids.has(id) ? undefined : byId.get(id);
      if (!m || seen.has(`${how}:${m.id}`)) return;
      seen.add(`${how}:${m.id}`);
      holders.push({ pid: p.pid, comm: p.comm, how, path, mountPoint: m.mountPoint });
    };
    const dir = `/proc/${p.pid}`;
    note('root', mountIdThrough(`${dir}/root`), linkOf(`${dir}/root`));
    note('cwd', mountIdThrough(`${dir}/cwd`), linkOf(`${dir}/cwd`));
    let fds: string[] = [];
    try {
      fds = readdirSync(`${dir}/fd`);
    } catch {
      // Gone, or not ours to read.
    }
    for (const n of fds) note('fd', mntIdOf(readCappedText(`${dir}/fdinfo/${n}`, 4096)?.text ?? null), linkOf(`${dir}/fd/${n}`));
    // Mappings: the maps line names the device; only those on one of these mounts' devices are opened.
    const ranges: string[] = [];
    streamLinesSync(`${dir}/maps`, (line) => {
      const f = line.split(/\s+/);
      if (f.length >= 6 && f[4] !== '0' && devices.has(f[3]!)) ranges.push(f[0]!);
    });
    for (const range of ranges.slice(0, 4096))
      note('map', mountIdThrough(`${dir}/map_files/${range}`), linkOf(`${dir}/map_files/${range}`));
  }
  return holders;
}
