import { open, readlink, type FileHandle } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';

/** Linux's O_PATH (absent from fs.constants): a handle that names a file without opening it for I/O. */
export const O_PATH = 0o10000000;
/** Linux follows at most 40 symlinks in one lookup; so do we. */
const MAX_SYMLINKS = 40;
/** A handle on a name itself: never follows it, never opens a device or a FIFO. */
const PATH_NOFOLLOW = O_PATH | constants.O_NOFOLLOW;
/** The same, for a component that must be a directory: one open instead of an open and an fstat (ENOTDIR otherwise). */
const DIR_NOFOLLOW = PATH_NOFOLLOW | constants.O_DIRECTORY;

/** Why a walk inside the root failed. */
export class InRootError extends Error {
  constructor(
    readonly reason: 'symlink-loop' | 'not-a-directory' | 'permission' | 'io',
    message: string,
  ) {
    super(message);
    this.name = 'InRootError';
  }
}

/** The path that reaches `name` inside the directory held by `dir`, like openat(2). */
export function atFd(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** The path that reaches exactly the object held by `handle` (a magic link: no name is resolved again). */
export function viaFd(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}

/** A guest path walked inside its root, one directory handle at a time. Close it when done. */
export interface WalkedPath {
  /** The path as the guest sees it: absolute, no symlinks left; for a missing path, where it would be. */
  guestPath: string;
  /** O_PATH handle on the object found (the symlink itself when the last one is not followed); null when missing. */
  handle: FileHandle | null;
  /** fstat of `handle`, or null when missing. */
  stats: Stats | null;
  /** O_PATH handle on the directory that holds `name` (the root itself for `/`); null when missing. */
  parent: FileHandle | null;
  /** The last component of `guestPath` ('' for the root). */
  name: string;
  /** Symlinks followed on the way, in order, as `link -> target` guest paths. */
  symlinks: { link: string; target: string }[];
  /** The directories held on the way below the root, outermost first (for owner checks along the path). */
  dirs: { guestPath: string; handle: FileHandle }[];
  close(): Promise<void>;
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function errorOf(error: unknown, at: string): InRootError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR') return new InRootError('not-a-directory', `${at}: a parent is not a directory`);
  if (code === 'EACCES' || code === 'EPERM') return new InRootError('permission', `${at}: permission denied`);
  if (code === 'ELOOP') return new InRootError('symlink-loop', `${at}: too many levels of symbolic links (a loop)`);
  return new InRootError('io', `${at}: ${(error as Error).message}`);
}

/**
 * Walks `guestPath` inside `root` like the kernel would after chroot(root), holding a handle on
 * every directory it passes: each component is opened with O_PATH|O_NOFOLLOW inside the handle
 * of the one before (through /proc/self/fd/N/NAME, openat(2) for Node), symlinks are read and
 * walked again from the root (absolute) or from where they sit (relative), `..` goes back to the
 * handle it came from and never above the root. What is found is the object that was walked,
 * whatever is renamed or swapped meanwhile: read it through `handle`, never by its path.
 */
export async function walkInRoot(
  root: string,
  guestPath: string,
  opts: { followLast?: boolean; rootHandle?: FileHandle } = {},
): Promise<WalkedPath> {
  const followLast = opts.followLast ?? true;
  const held: FileHandle[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((h) => h.close().catch(() => undefined)));
  };
  const keep = (h: FileHandle): FileHandle => (held.push(h), h);
  const drop = async (h: FileHandle): Promise<void> => {
    const i = held.indexOf(h);
    if (i >= 0) held.splice(i, 1);
    await h.close().catch(() => undefined);
  };

  try {
    // The root is chosen by the tool (a directory or /proc/PID/root), so it may be followed. A
    // handle held by the caller (one per diagnosis pass) is used as it is, and left open.
    const rootHandle =
      opts.rootHandle ??
      keep(
        await open(root, O_PATH | constants.O_DIRECTORY).catch((e: unknown) => {
          throw errorOf(e, '/');
        }),
      );
    const stack: { handle: FileHandle; name: string }[] = [{ handle: rootHandle, name: '' }];
    const symlinks: { link: string; target: string }[] = [];
    const here = (extra: string[] = []): string => '/' + [...stack.slice(1).map((s) => s.name), ...extra].join('/');
    let pending = splitComponents(guestPath);
    let leaf: { handle: FileHandle; stats: Stats; name: string } | null = null;
    const dirsOf = (): WalkedPath['dirs'] =>
      stack.slice(1).map((s, i) => ({
        guestPath:
          '/' +
          stack
            .slice(1, i + 2)
            .map((d) => d.name)
            .join('/'),
        handle: s.handle,
      }));

    while (pending.length > 0) {
      const component = pending.shift()!;
      if (component === '..') {
        if (stack.length > 1) await drop(stack.pop()!.handle);
        continue;
      }
      const top = stack[stack.length - 1]!;
      const isLast = pending.length === 0;
      const candidate = here([component]);
      let handle: FileHandle;
      try {
        if (!isLast) {
          // Most components are plain directories: one open says so. A symlink or a file fails
          // (ENOTDIR) and takes the general way below, which tells them apart.
          const dir = await open(atFd(top.handle, component), DIR_NOFOLLOW).catch((e: unknown) => {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'ENOTDIR' || code === 'ELOOP') return null;
            throw e;
          });
          if (dir !== null) {
            stack.push({ handle: keep(dir), name: component });
            continue;
          }
        }
        handle = keep(await open(atFd(top.handle, component), PATH_NOFOLLOW));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          // The rest of the path cannot exist either; say where it would be.
          const wouldBe = here([component, ...pending.filter((c) => c !== '..')]);
          const name = wouldBe.split('/').pop() ?? '';
          return { guestPath: wouldBe, handle: null, stats: null, parent: null, name, symlinks, dirs: dirsOf(), close };
        }
        throw errorOf(error, candidate);
      }
      const stats = await handle.stat();
      if (stats.isSymbolicLink() && (!isLast || followLast)) {
        if (symlinks.length >= MAX_SYMLINKS)
          throw new InRootError('symlink-loop', `${guestPath}: too many levels of symbolic links (a loop)`);
        // Read beside the handle of its directory: whatever it says is walked inside the root again.
        const target = await readlink(atFd(top.handle, component)).catch((e: unknown) => {
          throw errorOf(e, candidate);
        });
        await drop(handle);
        symlinks.push({ link: candidate, target });
        // An absolute target restarts at the guest's root, never the host's.
        if (target.startsWith('/')) while (stack.length > 1) await drop(stack.pop()!.handle);
        pending = [...splitComponents(target), ...pending];
        continue;
      }
      if (stats.isDirectory() && !isLast) {
        stack.push({ handle, name: component });
        continue;
      }
      if (!isLast) throw new InRootError('not-a-directory', `${candidate}: not a directory`);
      leaf = { handle, stats, name: component };
    }

    if (leaf !== null) {
      const parent = stack[stack.length - 1]!.handle;
      return {
        guestPath: here([leaf.name]),
        handle: leaf.handle,
        stats: leaf.stats,
        parent,
        name: leaf.name,
        symlinks,
        dirs: dirsOf(),
        close,
      };
    }
    // Ended on a directory reached through `..`, a trailing symlink to a directory's parent, or the root itself.
    const last = stack[stack.length - 1]!;
    const parent = stack.length > 1 ? stack[stack.length - 2]!.handle : last.handle;
    return {
      guestPath: here(),
      handle: last.handle,
      stats: await last.handle.stat(),
      parent,
      name: last.name,
      symlinks,
      dirs: dirsOf(),
      close,
    };
  } catch (error) {
    await close();
    throw error instanceof InRootError ? error : errorOf(error, guestPath);
  }
}

/** Walks `guestPath`, hands the result to `use`, and closes every handle afterwards. */
export async function withWalk<T>(
  root: string,
  guestPath: string,
  opts: { followLast?: boolean; rootHandle?: FileHandle },
  use: (walked: WalkedPath) => Promise<T>,
): Promise<T> {
  const walked = await walkInRoot(root, guestPath, opts);
  try {
    return await use(walked);
  } finally {
    await walked.close();
  }
}

/** Bytes read through one descriptor, capped; `truncated` when there was more. */
export interface CappedRead {
  bytes: Buffer;
  truncated: boolean;
  stats: Stats;
}

/**
 * Reads the regular file held by the O_PATH `handle`: it is reopened through /proc/self/fd only
 * when it is one (a device node or FIFO is never opened), then read up to `maxBytes`. The size
 * from fstat is not trusted: /proc and /sys files say 0 or 4096 whatever they hold.
 * Returns null when `handle` is not a regular file. `known`: the handle's fstat, when the caller has it.
 */
export async function readRegularCapped(handle: FileHandle, maxBytes: number, known?: Stats): Promise<CappedRead | null> {
  const before = known ?? (await handle.stat());
  if (!before.isFile()) return null;
  const file = await open(viaFd(handle), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = await file.stat();
    // The magic link reaches the very inode the walk found; say so rather than assume it.
    if (!stats.isFile() || stats.ino !== before.ino || stats.dev !== before.dev) return null;
    const chunks: Buffer[] = [];
    let total = 0;
    // Sized from the file (most guest files are a few hundred bytes): a 64 KiB buffer per small read is
    // most of what `check --all` allocates. The size is only a hint; reading goes on until EOF or the cap.
    let chunkSize = Math.min(64 * 1024, maxBytes + 1, Math.max(1024, stats.size + 1));
    while (total <= maxBytes) {
      // Unzeroed: only the bytes read are kept, and they are copied out below.
      const buffer = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes + 1 - total));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      // A full buffer means more is likely: read on in bigger pieces.
      if (bytesRead === buffer.length) chunkSize = Math.min(64 * 1024, chunkSize * 4);
    }
    const all = Buffer.concat(chunks);
    return { bytes: all.subarray(0, Math.min(total, maxBytes)), truncated: total > maxBytes, stats };
  } finally {
    await file.close();
  }
}
