import { constants, type Stats } from 'node:fs';
import path from 'node:path';
import type { DirCache } from './dir-cache.js';

/**
 * The descriptor walk inside a guest root, written once as a generator of file-system steps: a
 * driver performs each step and hands back its answer (or throws its error into the walk). The
 * async driver (FileHandle, promise fs) serves callers that keep handles; the synchronous one
 * (numbers, fs.*Sync) serves the guest-files server, where a step costs a few µs instead of a
 * threadpool round trip. See walk-in-root.ts (drivers) and guest-file-ops.ts (the reads on top).
 */

/** Linux's O_PATH (absent from fs.constants): a handle that names a file without opening it for I/O. */
export const O_PATH = 0o10000000;
/** Linux follows at most 40 symlinks in one lookup; so do we. */
const MAX_SYMLINKS = 40;
/** A handle on a name itself: never follows it, never opens a device or a FIFO. */
const PATH_NOFOLLOW = O_PATH | constants.O_NOFOLLOW;
/** The same, for a component that must be a directory: one open instead of an open and an fstat (ENOTDIR otherwise). */
const DIR_NOFOLLOW = PATH_NOFOLLOW | constants.O_DIRECTORY;
/** How a regular file the walk found is opened for reading: never blocking, never taking a terminal. */
export const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** One file-system step of a walk, performed by a driver over its kind of handle `H`. */
export type Step<H> =
  /** open(2) of `name` inside `dir` (openat), or of the tool-chosen path `name` itself when `dir` is null → H */
  | { op: 'open'; dir: H | null; name: string; flags: number }
  /** open(2) of the object `handle` holds, through its magic link /proc/self/fd/N → H */
  | { op: 'reopen'; handle: H; flags: number }
  /** fstat(2) → Stats */
  | { op: 'fstat'; handle: H }
  /** readlinkat(2) of `name` in `dir` → string */
  | { op: 'readlink'; dir: H; name: string }
  /** read(2) into `buffer` → bytes read */
  | { op: 'read'; handle: H; buffer: Buffer }
  /** the names in the directory `handle` holds → string[] */
  | { op: 'readdir'; handle: H }
  /** close(2) → void; `oPath`: an O_PATH handle, whose close does no I/O (a driver may make it at once) */
  | { op: 'close'; handle: H; oPath?: boolean };

/** A generator of steps over handles `H`, returning `R`. */
export type Steps<H, R> = Generator<Step<H>, R, unknown>;

/** Joins a root and a normalised guest path without ever leaving the root. */
export function hostPathOf(root: string, guestPath: string): string {
  const clean = path.posix.normalize('/' + guestPath);
  return root === '/' ? clean : path.posix.join(root, clean);
}

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

/** A guest path walked inside its root, one directory handle at a time (handles `H`). Close what it holds when done. */
export interface Walked<H> {
  /** The path as the guest sees it: absolute, no symlinks left; for a missing path, where it would be. */
  guestPath: string;
  /** O_PATH handle on the object found (the symlink itself when the last one is not followed); null when missing. */
  handle: H | null;
  /** fstat of `handle`, or null when missing. */
  stats: Stats | null;
  /** O_PATH handle on the directory that holds `name` (the root itself for `/`); null when missing. */
  parent: H | null;
  /** The last component of `guestPath` ('' for the root). */
  name: string;
  /** Symlinks followed on the way, in order, as `link -> target` guest paths. */
  symlinks: { link: string; target: string }[];
  /** The directories held on the way below the root, outermost first (for owner checks along the path). */
  dirs: { guestPath: string; handle: H }[];
  /** Every handle the walk opened and still holds (a root handle given to it, and a pass's cached directories, are not among them). */
  held: H[];
}

/** The step `step`, answered as a `T`. */
function* run<H, T>(step: Step<H>): Steps<H, T> {
  return (yield step) as T;
}

/** Closes the O_PATH `handle` (a walk's), whatever the answer. */
export function* closeQuietly<H>(handle: H): Steps<H, void> {
  try {
    yield* run<H, undefined>({ op: 'close', handle, oPath: true });
  } catch {
    // Nothing to do about a failed close of a handle we only looked through.
  }
}

/** Closes every O_PATH handle in `held` (emptying it). */
export function* closeAll<H>(held: H[]): Steps<H, void> {
  for (const h of held.splice(0)) yield* closeQuietly(h);
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** The walk's error for a failed step at `at`. */
export function errorOf(error: unknown, at: string): InRootError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR') return new InRootError('not-a-directory', `${at}: a parent is not a directory`);
  if (code === 'EACCES' || code === 'EPERM') return new InRootError('permission', `${at}: permission denied`);
  if (code === 'ELOOP') return new InRootError('symlink-loop', `${at}: too many levels of symbolic links (a loop)`);
  return new InRootError('io', `${at}: ${(error as Error).message}`);
}

/** `step`'s answer, or null when it fails with one of `codes` (other errors are thrown). */
function* unless<H, T>(step: Step<H>, codes: string[]): Steps<H, T | null> {
  try {
    return yield* run<H, T>(step);
  } catch (e) {
    if (codes.includes((e as NodeJS.ErrnoException).code ?? '')) return null;
    throw e;
  }
}

/** How a walk starts: whether a last symlink is followed, a root handle the caller holds, and that root's pass cache. */
export interface WalkOptions<H> {
  followLast?: boolean;
  rootHandle?: H;
  /** The pass's cached steps (see dir-cache.ts); used only with the very `rootHandle` it was made for. */
  cache?: DirCache<H>;
}

/**
 * Walks `guestPath` inside `root` like the kernel would after chroot(root), holding a handle on
 * every directory it passes: each component is opened with O_PATH|O_NOFOLLOW inside the handle
 * of the one before (openat), symlinks are read and walked again from the root (absolute) or from
 * where they sit (relative), `..` goes back to the handle it came from and never above the root.
 * What is found is the object that was walked, whatever is renamed or swapped meanwhile: read it
 * through `handle`, never by its path. With a pass's `cache`, a step this pass already took from
 * the root or a cached directory (a directory opened, a symlink read) is taken again from the
 * cache, and the directories it opens are kept there. On failure every handle it opened is
 * closed and an {@link InRootError} is thrown.
 */
export function* walkSteps<H>(root: string, guestPath: string, opts: WalkOptions<H> = {}): Steps<H, Walked<H>> {
  const followLast = opts.followLast ?? true;
  const cache = opts.cache !== undefined && opts.rootHandle !== undefined && opts.cache.root === opts.rootHandle ? opts.cache : null;
  const held: H[] = [];
  const keep = (h: H): H => (held.push(h), h);
  /** Lets go of `h`: closed when the walk holds it (never the root or a cached directory). */
  function* drop(h: H): Steps<H, void> {
    const i = held.indexOf(h);
    if (i < 0) return;
    held.splice(i, 1);
    yield* closeQuietly(h);
  }
  /** Hands `h` (held) over to the cache for the rest of the pass, when it takes it. */
  const cacheDir = (dir: H, name: string, h: H): void => {
    if (cache?.keepDir(dir, name, h)) held.splice(held.indexOf(h), 1);
  };

  try {
    // The root is chosen by the tool (a directory or /proc/PID/root), so it may be followed. A
    // handle held by the caller (one per diagnosis pass) is used as it is, and left open.
    let rootHandle = opts.rootHandle;
    if (rootHandle === undefined) {
      try {
        rootHandle = keep(yield* run<H, H>({ op: 'open', dir: null, name: root, flags: O_PATH | constants.O_DIRECTORY }));
      } catch (e) {
        throw errorOf(e, '/');
      }
    }
    const stack: { handle: H; name: string }[] = [{ handle: rootHandle, name: '' }];
    const symlinks: { link: string; target: string }[] = [];
    const here = (extra: string[] = []): string => '/' + [...stack.slice(1).map((s) => s.name), ...extra].join('/');
    let pending = splitComponents(guestPath);
    let leaf: { handle: H; stats: Stats; name: string } | null = null;
    /** Goes on at symlink `link`'s `target`: what is left to walk afterwards (an absolute target restarts at the guest's root, never the host's). */
    function* followSymlink(link: string, target: string, rest: string[]): Steps<H, string[]> {
      if (symlinks.length >= MAX_SYMLINKS)
        throw new InRootError('symlink-loop', `${guestPath}: too many levels of symbolic links (a loop)`);
      symlinks.push({ link, target });
      if (target.startsWith('/')) while (stack.length > 1) yield* drop(stack.pop()!.handle);
      return [...splitComponents(target), ...rest];
    }
    const dirsOf = (): Walked<H>['dirs'] =>
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
        if (stack.length > 1) yield* drop(stack.pop()!.handle);
        continue;
      }
      const top = stack[stack.length - 1]!;
      const isLast = pending.length === 0;
      const candidate = here([component]);
      const cached = cache?.lookup(top.handle, component);
      if (cached !== undefined && 'dir' in cached) {
        if (!isLast) {
          stack.push({ handle: cached.dir, name: component });
          continue;
        }
        leaf = { handle: cached.dir, stats: yield* run<H, Stats>({ op: 'fstat', handle: cached.dir }), name: component };
        continue;
      }
      if (cached !== undefined && (!isLast || followLast)) {
        pending = yield* followSymlink(candidate, cached.link, pending);
        continue;
      }
      let handle: H;
      try {
        if (!isLast) {
          // Most components are plain directories: one open says so. A symlink or a file fails
          // (ENOTDIR) and takes the general way below, which tells them apart.
          const dir = yield* unless<H, H>({ op: 'open', dir: top.handle, name: component, flags: DIR_NOFOLLOW }, ['ENOTDIR', 'ELOOP']);
          if (dir !== null) {
            stack.push({ handle: keep(dir), name: component });
            cacheDir(top.handle, component, dir);
            continue;
          }
        }
        handle = keep(yield* run<H, H>({ op: 'open', dir: top.handle, name: component, flags: PATH_NOFOLLOW }));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          // The rest of the path cannot exist either; say where it would be.
          const wouldBe = here([component, ...pending.filter((c) => c !== '..')]);
          const name = wouldBe.split('/').pop() ?? '';
          return { guestPath: wouldBe, handle: null, stats: null, parent: null, name, symlinks, dirs: dirsOf(), held };
        }
        throw errorOf(error, candidate);
      }
      const stats = yield* run<H, Stats>({ op: 'fstat', handle });
      if (stats.isSymbolicLink() && (!isLast || followLast)) {
        if (symlinks.length >= MAX_SYMLINKS)
          throw new InRootError('symlink-loop', `${guestPath}: too many levels of symbolic links (a loop)`);
        // Read beside the handle of its directory: whatever it says is walked inside the root again.
        let target: string;
        try {
          target = yield* run<H, string>({ op: 'readlink', dir: top.handle, name: component });
        } catch (e) {
          throw errorOf(e, candidate);
        }
        yield* drop(handle);
        cache?.keepLink(top.handle, component, target);
        pending = yield* followSymlink(candidate, target, pending);
        continue;
      }
      if (stats.isDirectory() && !isLast) {
        stack.push({ handle, name: component });
        continue;
      }
      if (!isLast) throw new InRootError('not-a-directory', `${candidate}: not a directory`);
      if (stats.isDirectory()) cacheDir(top.handle, component, handle);
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
        held,
      };
    }
    // Ended on a directory reached through `..`, a trailing symlink to a directory's parent, or the root itself.
    const last = stack[stack.length - 1]!;
    const parent = stack.length > 1 ? stack[stack.length - 2]!.handle : last.handle;
    const stats = yield* run<H, Stats>({ op: 'fstat', handle: last.handle });
    return { guestPath: here(), handle: last.handle, stats, parent, name: last.name, symlinks, dirs: dirsOf(), held };
  } catch (error) {
    yield* closeAll(held);
    throw error instanceof InRootError ? error : errorOf(error, guestPath);
  }
}

/** Walks `guestPath`, runs `use` on what was found, and closes every handle the walk opened afterwards. */
export function* withWalkSteps<H, R>(
  root: string,
  guestPath: string,
  opts: WalkOptions<H>,
  use: (walked: Walked<H>) => Steps<H, R>,
): Steps<H, R> {
  const walked = yield* walkSteps<H>(root, guestPath, opts);
  try {
    return yield* use(walked);
  } finally {
    yield* closeAll(walked.held);
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
export function* readRegularSteps<H>(handle: H, maxBytes: number, known?: Stats): Steps<H, CappedRead | null> {
  const before = known ?? (yield* run<H, Stats>({ op: 'fstat', handle }));
  if (!before.isFile()) return null;
  const file = yield* run<H, H>({ op: 'reopen', handle, flags: READ_FLAGS });
  try {
    const stats = yield* run<H, Stats>({ op: 'fstat', handle: file });
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
      const bytesRead = yield* run<H, number>({ op: 'read', handle: file, buffer });
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      // A full buffer means more is likely: read on in bigger pieces.
      if (bytesRead === buffer.length) chunkSize = Math.min(64 * 1024, chunkSize * 4);
    }
    const all = Buffer.concat(chunks);
    return { bytes: all.subarray(0, Math.min(total, maxBytes)), truncated: total > maxBytes, stats };
  } finally {
    // Not quietly: the old code let a failed close of the read descriptor fail the read.
    yield* run<H, undefined>({ op: 'close', handle: file });
  }
}

/** The file-system calls a synchronous driver makes (descriptor numbers). */
export interface SyncFs {
  openSync(path: string, flags: number): number;
  fstatSync(fd: number): Stats;
  readlinkSync(path: string): string;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: null): number;
  readdirSync(path: string): string[];
  closeSync(fd: number): void;
}

/** One driver's call for each kind of step, over handles `H` (an async driver's calls return promises). */
export interface StepCalls<H> {
  open(dir: H | null, name: string, flags: number): unknown;
  reopen(handle: H, flags: number): unknown;
  fstat(handle: H): unknown;
  readlink(dir: H, name: string): unknown;
  read(handle: H, buffer: Buffer): unknown;
  readdir(handle: H): unknown;
  close(handle: H, oPath: boolean): unknown;
}

/** Makes step `s` with `calls`: what its call returns (the answer, or a promise of it). */
export function callFor<H>(s: Step<H>, calls: StepCalls<H>): unknown {
  switch (s.op) {
    case 'open':
      return calls.open(s.dir, s.name, s.flags);
    case 'reopen':
      return calls.reopen(s.handle, s.flags);
    case 'fstat':
      return calls.fstat(s.handle);
    case 'readlink':
      return calls.readlink(s.dir, s.name);
    case 'read':
      return calls.read(s.handle, s.buffer);
    case 'readdir':
      return calls.readdir(s.handle);
    case 'close':
      return calls.close(s.handle, s.oPath === true);
  }
}

/** Runs `steps` with synchronous system calls on descriptor numbers (never on the CLI's main thread: see guest-files-server.ts). */
export function runStepsSync<R>(steps: Steps<number, R>, fs: SyncFs): R {
  const at = (dir: number, name: string): string => `/proc/self/fd/${dir}/${name}`;
  const calls: StepCalls<number> = {
    open: (dir, name, flags) => fs.openSync(dir === null ? name : at(dir, name), flags),
    reopen: (handle, flags) => fs.openSync(`/proc/self/fd/${handle}`, flags),
    fstat: (handle) => fs.fstatSync(handle),
    readlink: (dir, name) => fs.readlinkSync(at(dir, name)),
    read: (handle, buffer) => fs.readSync(handle, buffer, 0, buffer.length, null),
    readdir: (handle) => fs.readdirSync(`/proc/self/fd/${handle}`),
    close: (handle) => fs.closeSync(handle),
  };
  let next = steps.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = callFor(next.value, calls);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}
