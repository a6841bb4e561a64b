import path from 'node:path';
import { isUnder, mountsUnder, type MountEntry } from '../parse/mountinfo.js';
import { fsLocationOf, whereEntryShows } from './host-paths-in-mounts.js';
import type { HostProcess } from './procfs.js';

/** The kernel filesystems a chroot needs, by the directory name they are mounted on, and their usual types. */
const API_MOUNTS: Record<string, string[]> = {
  proc: ['proc'],
  sys: ['sysfs'],
  dev: ['devtmpfs', 'tmpfs', 'devpts'],
  run: ['tmpfs'],
};

/** True when `m` looks like the host's /NAME (by type, or as a bind of the host's own directory). */
function isApiMount(m: MountEntry, name: string, hostMounts: readonly MountEntry[]): boolean {
  if (API_MOUNTS[name]?.includes(m.fsType)) return true;
  // Where the host's own /NAME lives, judged without the candidate chroot's mounts.
  const host = fsLocationOf(
    hostMounts.filter((h) => !isUnder(h.mountPoint, path.posix.dirname(m.mountPoint))),
    `/${name}`,
  );
  return host !== null && whereEntryShows(m, host) === m.mountPoint;
}

/**
 * Directories that hold API mounts (`DIR/proc`, `DIR/sys`, `DIR/dev`, `DIR/run`) in the host's mount table:
 * the roots of chroots, running or left behind. Only the outermost of nested candidates is kept.
 */
export function apiMountRoots(hostMounts: readonly MountEntry[]): string[] {
  const candidates = new Set<string>();
  for (const m of hostMounts) {
    const name = path.posix.basename(m.mountPoint);
    const parent = path.posix.dirname(m.mountPoint);
    if (!(name in API_MOUNTS) || parent === '/') continue;
    if (['/proc', '/sys', '/dev'].some((d) => isUnder(m.mountPoint, d))) continue;
    if (isApiMount(m, name, hostMounts)) candidates.add(parent);
  }
  return [...candidates].filter((dir) => ![...candidates].some((other) => other !== dir && isUnder(dir, other))).sort();
}

/** Who uses a guest root: processes rooted in it, or the open schroot session it belongs to. */
export interface GuestRootUse {
  root: string;
  /** Host mounts strictly below the root, deepest first (the order to unmount them in). */
  mounts: MountEntry[];
  /** Processes whose root directory is this root or below it. */
  rootedPids: number[];
  /** The open schroot session whose mount location this is, if any. */
  session: string | null;
}

/** Host mounts strictly below `root`, deepest first (the order to unmount them in). */
export function mountsBelow(root: string, hostMounts: readonly MountEntry[]): MountEntry[] {
  return mountsUnder(hostMounts, root).filter(
    (m) => m.mountPoint !== root && path.posix.normalize(m.mountPoint) !== path.posix.normalize(root),
  );
}

/** How `root` is used right now; `sessionRoots` maps open sessions' mount locations to their ids. */
export function guestRootUse(
  root: string,
  hostMounts: readonly MountEntry[],
  processes: readonly HostProcess[],
  sessionRoots: ReadonlyMap<string, string>,
  ownMntns: string | null,
): GuestRootUse {
  const mounts = mountsBelow(root, hostMounts);
  const rootedPids = processes
    .filter(
      (p) =>
        p.rootLink !== null &&
        p.rootLink !== '/' &&
        (ownMntns === null || p.mntns === null || p.mntns === ownMntns) &&
        isUnder(p.rootLink, root),
    )
    .map((p) => p.pid);
  let session: string | null = null;
  for (const [location, id] of sessionRoots) if (isUnder(root, location) || isUnder(location, root)) session = id;
  return { root, mounts, rootedPids, session };
}
