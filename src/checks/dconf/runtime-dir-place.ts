import path from 'node:path';
import { isUnder, type MountEntry } from '../../parse/mountinfo.js';

/** Where a runtime directory lives, as far as repairing it is concerned (audit H2). */
export interface RuntimeDirPlace {
  /** The directory (resolved in the guest) is `/run/user/<uid>`, the only one ctr-doctor repairs. */
  standard: boolean;
  /** The guest mount it is on, when that mount shows a directory the host also has (a bind, a shared /run). */
  hostMount: MountEntry | null;
}

/** The guest mount that holds `guestPath` (the deepest mount point above it), or null for the root's own file system. */
export function mountHolding(guestMounts: readonly MountEntry[], guestPath: string): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of guestMounts) {
    if (m.mountPoint === '/' || !isUnder(guestPath, m.mountPoint)) continue;
    // The deepest mount point wins; on one point, the newest layer (the one listed last).
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/**
 * True when `m` shows a directory the host sees outside the guest: the same file system (device)
 * mounted on the host, outside the guest root, with `m`'s directory inside what it shows.
 * A private tmpfs of the guest has a device of its own and never matches.
 */
export function showsHostDirectory(m: MountEntry, hostMounts: readonly MountEntry[], guestRootOnHost: string): boolean {
  return hostMounts.some(
    (h) =>
      h.major === m.major &&
      h.minor === m.minor &&
      isUnder(m.root, h.root) &&
      !(guestRootOnHost !== '/' && isUnder(h.mountPoint, guestRootOnHost)),
  );
}

/** Where `guestPath` lives: standard or not, and on a host directory or the guest's own. */
export function placeOfRuntimeDir(
  guestPath: string,
  uid: number,
  guestMounts: readonly MountEntry[],
  hostMounts: readonly MountEntry[],
  guestRootOnHost: string,
): RuntimeDirPlace {
  const clean = path.posix.normalize(guestPath);
  const m = mountHolding(guestMounts, clean);
  return { standard: clean === `/run/user/${uid}`, hostMount: m && showsHostDirectory(m, hostMounts, guestRootOnHost) ? m : null };
}

/** What a repair of the runtime directory may be: null when it is refused (a finding says why). */
export function repairSafety(
  place: RuntimeDirPlace,
  change: 'create' | 'mode' | 'owner',
  existing: { uid: number; parentRootOwned: boolean } | null,
): 'safe' | 'unsafe' | null {
  if (!place.standard) return null;
  // Another user's directory, or one in a directory others can change, is never given away.
  if (change === 'owner' && (existing === null || existing.uid !== 0 || !existing.parentRootOwned)) return null;
  return place.hostMount ? 'unsafe' : 'safe';
}
