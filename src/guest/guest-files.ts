import { readdir as fsReaddir, readlink as fsReadlink, stat as fsStat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { hostPathOf } from './in-root.js';
import { InRootError, atFd, readRegularCapped, viaFd, withWalk, type WalkedPath } from './walk-in-root.js';
import type { GuestPathError, GuestRead, GuestStat } from '../core/target.js';

/** Reads are capped so a 1 GB file or /dev/zero cannot exhaust memory. */
export const DEFAULT_READ_CAP = 1024 * 1024;

function typeOf(stats: Stats): GuestStat['type'] {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  return 'unknown';
}

function toGuestStat(guestPath: string, hostPath: string, stats: Stats): GuestStat {
  return {
    guestPath,
    hostPath,
    type: typeOf(stats),
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    dev: stats.dev,
    ino: stats.ino,
  };
}

type Failure = { error: GuestPathError; message: string };

function failureOf(error: unknown, guestPath: string): Failure {
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

/** File access inside one guest root. Every path is walked inside the root, and used through the handle the walk found. */
export class GuestFiles {
  constructor(readonly root: string) {}

  async stat(guestPath: string, opts: { followLast?: boolean } = {}): Promise<GuestStat | Failure> {
    try {
      return await withWalk(
        this.root,
        guestPath,
        opts,
        async (walked) => found(guestPath, walked) ?? toGuestStat(walked.guestPath, hostPathOf(this.root, walked.guestPath), walked.stats!),
      );
    } catch (error) {
      return failureOf(error, guestPath);
    }
  }

  async readFile(guestPath: string, opts: { maxBytes?: number } = {}): Promise<GuestRead> {
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_CAP;
    try {
      return await withWalk(this.root, guestPath, {}, async (walked): Promise<GuestRead> => {
        const missing = found(guestPath, walked);
        if (missing) return { ok: false, reason: missing.error, message: missing.message };
        const type = typeOf(walked.stats!);
        if (type !== 'file') return { ok: false, reason: 'not-a-file', message: `${guestPath} is a ${type}, not a regular file` };
        // Read through the handle the walk found: a parent swapped for a symlink meanwhile cannot lead out.
        const read = await readRegularCapped(walked.handle!, maxBytes);
        if (read === null) return { ok: false, reason: 'not-a-file', message: `${guestPath} is not a regular file` };
        const { bytes, truncated, stats } = read;
        return {
          ok: true,
          bytes,
          text: bytes.toString('utf8'),
          truncated,
          stat: toGuestStat(walked.guestPath, hostPathOf(this.root, walked.guestPath), stats),
        };
      });
    } catch (error) {
      const failure = failureOf(error, guestPath);
      return { ok: false, reason: failure.error, message: failure.message };
    }
  }

  async readlink(guestPath: string): Promise<string | null> {
    try {
      return await withWalk(this.root, guestPath, { followLast: false }, async (walked) => {
        if (!walked.stats?.isSymbolicLink() || !walked.parent) return null;
        return fsReadlink(atFd(walked.parent, walked.name));
      });
    } catch {
      return null;
    }
  }

  async readdir(guestPath: string): Promise<string[] | null> {
    try {
      return await withWalk(this.root, guestPath, {}, async (walked) => {
        if (!walked.stats?.isDirectory() || !walked.handle) return null;
        return (await fsReaddir(viaFd(walked.handle))).sort();
      });
    } catch {
      return null;
    }
  }

  /** True when the root itself is still there (a vanished process makes /proc/PID/root fail). */
  async rootExists(): Promise<boolean> {
    return fsStat(hostPathOf(this.root, '/')).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }
}

/** Why nothing was found at `guestPath`, or null when the walk found something. */
function found(guestPath: string, walked: WalkedPath): Failure | null {
  if (walked.stats !== null) return null;
  const dangling = walked.symlinks.length > 0;
  return {
    error: dangling ? 'dangling-symlink' : 'missing',
    message: dangling
      ? `${guestPath} is a symlink to ${walked.guestPath}, which does not exist in the guest`
      : `${guestPath} does not exist in the guest`,
  };
}
