import path from 'node:path';
import { isUnder, type MountEntry } from '../parse/mountinfo.js';
import { mountContaining } from './mount-holders.js';

/** Where a host directory lives: its filesystem (device) and its path inside that filesystem. */
export interface FsLocation {
  major: number;
  minor: number;
  /** The path inside the filesystem, as a bind mount's `root` field would show it. */
  fsPath: string;
}

/** The filesystem and in-filesystem path of `dir` according to a mount table (null when no mount contains it). */
export function fsLocationOf(mounts: readonly MountEntry[], dir: string): FsLocation | null {
  const m = mountContaining(mounts, dir);
  if (!m) return null;
  const rel = path.posix.relative(m.mountPoint, dir);
  return { major: m.major, minor: m.minor, fsPath: rel === '' ? m.root : path.posix.join(m.root, rel) };
}

/**
 * Where a mount table entry makes `loc` visible: the path under its mount point, when the entry's
 * filesystem is `loc`'s and its root contains `loc`. Null otherwise.
 */
export function whereEntryShows(entry: MountEntry, loc: FsLocation): string | null {
  if (entry.major !== loc.major || entry.minor !== loc.minor || !isUnder(loc.fsPath, entry.root)) return null;
  const rel = path.posix.relative(entry.root, loc.fsPath);
  return rel === '' ? entry.mountPoint : path.posix.join(entry.mountPoint, rel);
}

/** True when `entry` is the mount a path resolves to in `table` (not hidden by a deeper or newer mount). */
export function isVisibleAt(table: readonly MountEntry[], entry: MountEntry, at: string): boolean {
  return mountContaining(table, at)?.id === entry.id;
}
