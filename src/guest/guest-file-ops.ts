import type { Stats } from 'node:fs';
import type { GuestPathError, GuestRead, GuestStat } from '../core/target.js';
import {
  InRootError,
  O_PATH,
  closeAll,
  closeQuietly,
  hostPathOf,
  readRegularSteps,
  walkSteps,
  withWalkSteps,
  type Steps,
  type Walked,
} from './walk-steps.js';
import { fileTypeOf } from './file-type.js';
import type { DirCache } from './dir-cache.js';

/**
 * GuestFiles' four operations as steps over any handle type: run by the async driver on the main
 * thread (walk-in-root.ts), or by the synchronous one in the guest-files server. Their answers
 * are plain data (stat fields, bytes, names), so they cross a process boundary as they are.
 */

/** A failed stat: why, and a line saying so. */
export type Failure = { error: GuestPathError; message: string };
/** A read as an operation answers it: {@link GuestRead} without `text` (made from the bytes where it is used). */
export type RawRead =
  { ok: true; bytes: Buffer; truncated: boolean; stat: GuestStat } | { ok: false; reason: GuestPathError; message: string };

/** One operation on a guest path, as the guest-files server is asked it. */
export type FileOp =
  | { op: 'stat'; guestPath: string; followLast: boolean }
  | { op: 'read'; guestPath: string; maxBytes: number }
  | { op: 'readlink'; guestPath: string }
  | { op: 'readdir'; guestPath: string }
  /** where the path leads, every symlink followed (resolveGuestPath in in-root.ts) */
  | { op: 'resolve'; guestPath: string }
  /** the text of a host file chosen by the tool (capped-read.ts), or null */
  | { op: 'host-read'; path: string; maxBytes: number };

/** The path an operation is about, for the lines that say it had no answer. */
export function pathOf(op: FileOp): string {
  return op.op === 'host-read' ? op.path : op.guestPath;
}

/** A resolve's answer: the path as the guest sees it, or why it cannot be walked (an InRootError's fields). */
export type Resolved = { guestPath: string } | { reason: InRootError['reason']; message: string };

function toGuestStat(guestPath: string, hostPath: string, stats: Stats): GuestStat {
  return {
    guestPath,
    hostPath,
    type: fileTypeOf(stats),
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    dev: stats.dev,
    ino: stats.ino,
  };
}

/** The failure a thrown walk or read error stands for. */
export function failureOf(error: unknown, guestPath: string): Failure {
  if (error instanceof InRootError) {
    const map: Record<InRootError['reason'], GuestPathError> = {
      'symlink-loop': 'symlink-loop',
      'not-a-directory': 'missing',
      permission: 'permission',
      io: 'io',
    };
    return { error: map[error.reason], message: error.message };
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return { error: 'permission', message: `${guestPath}: permission denied` };
  if (code === 'ENOENT') return { error: 'missing', message: `${guestPath}: no such file` };
  return { error: 'io', message: `${guestPath}: ${(error as Error).message}` };
}

/** Why nothing was found at `guestPath`, or null when the walk found something. */
function found<H>(guestPath: string, walked: Walked<H>): Failure | null {
  if (walked.stats !== null) return null;
  const dangling = walked.symlinks.length > 0;
  return {
    error: dangling ? 'dangling-symlink' : 'missing',
    message: dangling
      ? `${guestPath} is a symlink to ${walked.guestPath}, which does not exist in the guest`
      : `${guestPath} does not exist in the guest`,
  };
}

/**
 * The steps of `op` on a guest path walked inside `walkRoot` (or from `rootHandle`, with its pass's
 * `cache` of steps); `shownRoot` is the root as reports show it (GuestStat.hostPath). Never
 * throws: a failure is an answer.
 */
export function* fileOpSteps<H>(op: FileOp, walkRoot: string, shownRoot: string, rootHandle?: H, cache?: DirCache<H>): Steps<H, unknown> {
  if (op.op === 'host-read') return yield* hostReadSteps<H>(op.path, op.maxBytes);
  const { guestPath } = op;
  const opts = rootHandle === undefined ? {} : cache === undefined ? { rootHandle } : { rootHandle, cache };
  switch (op.op) {
    case 'stat':
      try {
        const walked = yield* walkSteps<H>(walkRoot, guestPath, { ...opts, followLast: op.followLast });
        yield* closeAll(walked.held);
        return found(guestPath, walked) ?? toGuestStat(walked.guestPath, hostPathOf(shownRoot, walked.guestPath), walked.stats!);
      } catch (error) {
        return failureOf(error, guestPath);
      }
    case 'read':
      try {
        return yield* withWalkSteps<H, RawRead>(walkRoot, guestPath, opts, function* (walked) {
          const missing = found(guestPath, walked);
          if (missing) return { ok: false, reason: missing.error, message: missing.message };
          const type = fileTypeOf(walked.stats!);
          if (type !== 'file') return { ok: false, reason: 'not-a-file', message: `${guestPath} is a ${type}, not a regular file` };
          // Read through the handle the walk found: a parent swapped for a symlink meanwhile cannot lead out.
          const read = yield* readRegularSteps(walked.handle!, op.maxBytes, walked.stats!);
          if (read === null) return { ok: false, reason: 'not-a-file', message: `${guestPath} is not a regular file` };
          const { bytes, truncated, stats } = read;
          return { ok: true, bytes, truncated, stat: toGuestStat(walked.guestPath, hostPathOf(shownRoot, walked.guestPath), stats) };
        });
      } catch (error) {
        const failure = failureOf(error, guestPath);
        return { ok: false, reason: failure.error, message: failure.message };
      }
    case 'readlink':
      try {
        return yield* withWalkSteps<H, string | null>(walkRoot, guestPath, { ...opts, followLast: false }, function* (walked) {
          if (!walked.stats?.isSymbolicLink() || !walked.parent) return null;
          return (yield { op: 'readlink', dir: walked.parent, name: walked.name }) as string;
        });
      } catch {
        return null;
      }
    case 'readdir':
      try {
        return yield* withWalkSteps<H, string[] | null>(walkRoot, guestPath, opts, function* (walked) {
          if (!walked.stats?.isDirectory() || !walked.handle) return null;
          return ((yield { op: 'readdir', handle: walked.handle }) as string[]).sort();
        });
      } catch {
        return null;
      }
    case 'resolve':
      try {
        const walked = yield* walkSteps<H>(walkRoot, guestPath, opts);
        yield* closeAll(walked.held);
        return { guestPath: walked.guestPath } satisfies Resolved;
      } catch (error) {
        const e = error as InRootError;
        return { reason: e.reason, message: e.message } satisfies Resolved;
      }
  }
}

/**
 * The text of at most `maxBytes` of the host file `path` (chosen by the tool, so followed); a FIFO
 * or a device is never opened, and the size from stat is not trusted (/proc and /sys files say 0
 * or 4096 whatever they hold: audit L2). Null when it cannot be read.
 */
function* hostReadSteps<H>(path: string, maxBytes: number): Steps<H, string | null> {
  let handle: H;
  try {
    handle = (yield { op: 'open', dir: null, name: path, flags: O_PATH }) as H;
  } catch {
    return null;
  }
  try {
    const read = yield* readRegularSteps(handle, maxBytes);
    return read === null ? null : read.bytes.toString('utf8');
  } catch {
    return null;
  } finally {
    yield* closeQuietly(handle);
  }
}

/** What `op` answers when the guest-files server had no answer for it (`lost` says why): an `io` failure. */
export function lostAnswer(op: FileOp, lost: string): unknown {
  switch (op.op) {
    case 'stat':
      return { error: 'io', message: lost } satisfies Failure;
    case 'read':
      return { ok: false, reason: 'io', message: lost } satisfies RawRead;
    case 'resolve':
      return { reason: 'io', message: lost } satisfies Resolved;
    default:
      return null;
  }
}

/** A {@link RawRead} as GuestFiles answers it: with the text of its bytes. */
export function withText(read: RawRead): GuestRead {
  return read.ok ? { ...read, text: read.bytes.toString('utf8') } : read;
}
