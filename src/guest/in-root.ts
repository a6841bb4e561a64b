import type { Stats } from 'node:fs';
import path from 'node:path';
import { InRootError, walkInRoot } from './walk-in-root.js';

export { InRootError };

/** A guest path resolved inside its root, with every symlink followed the way the guest would. */
export interface InRootPath {
  /** The path as the guest sees it: absolute, no symlinks left (the last one too, when followed). */
  guestPath: string;
  /** The same file as the host reaches it: `root` + `guestPath`. For showing; open it with {@link walkInRoot}. */
  hostPath: string;
  /** fstat of what the walk found, or null when it does not exist. */
  stats: Stats | null;
  /** Symlinks followed on the way, in order, as `link -> target` guest paths. */
  symlinks: { link: string; target: string }[];
}

/** Joins a root and a normalised guest path without ever leaving the root. */
export function hostPathOf(root: string, guestPath: string): string {
  const clean = path.posix.normalize('/' + guestPath);
  return root === '/' ? clean : path.posix.join(root, clean);
}

/**
 * Resolves `guestPath` inside `root` like the kernel would after chroot(root):
 * absolute symlinks restart at the root, `..` never climbs above it, loops are an error.
 * A missing path is not an error: `stats` is null and `guestPath` says where it would be.
 * The answer is a string, good for showing and for planning; to read or change what is
 * there, walk again with {@link walkInRoot} and use its handle.
 */
export async function resolveInRoot(root: string, guestPath: string, opts: { followLast?: boolean } = {}): Promise<InRootPath> {
  const walked = await walkInRoot(root, guestPath, opts);
  await walked.close();
  return { guestPath: walked.guestPath, hostPath: hostPathOf(root, walked.guestPath), stats: walked.stats, symlinks: walked.symlinks };
}
