import type { Stats } from 'node:fs';
import { InRootError, walkInRoot } from './walk-in-root.js';
import { hostPathOf } from './walk-steps.js';
import { GuestFiles } from './guest-files.js';

export { InRootError, hostPathOf };

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

/**
 * Where `guestPath` leads inside `root` (like {@link resolveInRoot}, the last symlink followed):
 * the guest path only, walked by the guest-files server when it is in use (check --all), else
 * here; inside a diagnosis pass over `root`, once per pass (see GuestFiles). Throws an
 * {@link InRootError} when the path cannot be walked.
 */
export async function resolveGuestPath(root: string, guestPath: string): Promise<string> {
  const resolved = await new GuestFiles(root).resolve(guestPath);
  if ('reason' in resolved) throw new InRootError(resolved.reason, resolved.message);
  return resolved.guestPath;
}
