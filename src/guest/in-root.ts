import { lstat, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';

/** Linux follows at most 40 symlinks in one lookup; so do we. */
const MAX_SYMLINKS = 40;

/** A guest path resolved inside its root, with every symlink followed the way the guest would. */
export interface InRootPath {
  /** The path as the guest sees it: absolute, no symlinks left (the last one too, when followed). */
  guestPath: string;
  /** The same file as the host reaches it: `root` + `guestPath`. */
  hostPath: string;
  /** lstat of the final path, or null when it does not exist. */
  stats: Stats | null;
  /** Symlinks followed on the way, in order, as `link -> target` guest paths. */
  symlinks: { link: string; target: string }[];
}

/** Why a lookup inside the root failed. */
export class InRootError extends Error {
  constructor(
    readonly reason: 'symlink-loop' | 'not-a-directory' | 'permission' | 'io',
    message: string,
  ) {
    super(message);
    this.name = 'InRootError';
  }
}

/** Joins a root and a normalised guest path without ever leaving the root. */
export function hostPathOf(root: string, guestPath: string): string {
  const clean = path.posix.normalize('/' + guestPath);
  return root === '/' ? clean : path.posix.join(root, clean);
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Resolves `guestPath` inside `root` like the kernel would after chroot(root):
 * absolute symlinks restart at the root, `..` never climbs above it, loops are an error.
 * A missing path is not an error: `stats` is null and `guestPath` says where it would be.
 */
export async function resolveInRoot(
  root: string,
  guestPath: string,
  opts: { followLast?: boolean } = {},
): Promise<InRootPath> {
  const followLast = opts.followLast ?? true;
  const done: string[] = [];
  let pending = splitComponents(guestPath);
  const symlinks: { link: string; target: string }[] = [];
  let stats: Stats | null = null;

  while (pending.length > 0) {
    const component = pending.shift()!;
    if (component === '..') {
      done.pop();
      stats = null;
      continue;
    }
    const candidate = '/' + [...done, component].join('/');
    const isLast = pending.length === 0;
    try {
      stats = await lstat(hostPathOf(root, candidate));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        // The rest of the path cannot exist either; report where it would be.
        const wouldBe = '/' + [...done, component, ...pending.filter((c) => c !== '..')].join('/');
        return { guestPath: wouldBe, hostPath: hostPathOf(root, wouldBe), stats: null, symlinks };
      }
      if (code === 'ENOTDIR') throw new InRootError('not-a-directory', `${candidate}: a parent is not a directory`);
      if (code === 'EACCES' || code === 'EPERM') throw new InRootError('permission', `${candidate}: permission denied`);
      throw new InRootError('io', `${candidate}: ${(error as Error).message}`);
    }
    if (stats.isSymbolicLink() && (!isLast || followLast)) {
      if (symlinks.length >= MAX_SYMLINKS) {
        throw new InRootError('symlink-loop', `${guestPath}: too many levels of symbolic links (a loop)`);
      }
      const target = await readlink(hostPathOf(root, candidate));
      symlinks.push({ link: candidate, target });
      // An absolute target restarts at the guest's root, never the host's.
      if (target.startsWith('/')) done.length = 0;
      pending = [...splitComponents(target), ...pending];
      stats = null;
      continue;
    }
    if (!isLast && !stats.isDirectory()) {
      throw new InRootError('not-a-directory', `${candidate}: not a directory`);
    }
    done.push(component);
  }

  const finalPath = '/' + done.join('/');
  if (stats === null) {
    // Reached via `..` or the root itself: look at the directory we ended on.
    stats = await lstat(hostPathOf(root, finalPath)).catch(() => null);
  }
  return { guestPath: finalPath, hostPath: hostPathOf(root, finalPath), stats, symlinks };
}
