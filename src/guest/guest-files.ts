import { open, readdir as fsReaddir, readlink as fsReadlink, stat as fsStat } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { InRootError, hostPathOf, resolveInRoot } from './in-root.js';
import type { GuestPathError, GuestRead, GuestStat } from '../targets/target.js';

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
    guestPath, hostPath, type: typeOf(stats), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid,
    size: stats.size, dev: stats.dev, ino: stats.ino,
  };
}

type Failure = { error: GuestPathError; message: string };

function failureOf(error: unknown, guestPath: string): Failure {
  if (error instanceof InRootError) {
    const map: Record<InRootError['reason'], GuestPathError> = {
      'symlink-loop': 'symlink-loop', 'not-a-directory': 'missing', permission: 'permission', io: 'io',
    };
    return { error: map[error.reason], message: error.message };
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return { error: 'permission', message: `${guestPath}: permission denied` };
  if (code === 'ENOENT') return { error: 'missing', message: `${guestPath}: no such file` };
  return { error: 'io', message: `${guestPath}: ${(error as Error).message}` };
}

/** File access inside one guest root. Every path is resolved inside the root first. */
export class GuestFiles {
  constructor(readonly root: string) {}

  async stat(guestPath: string, opts: { followLast?: boolean } = {}): Promise<GuestStat | Failure> {
    try {
      const resolved = await resolveInRoot(this.root, guestPath, opts);
      if (resolved.stats === null) {
        const dangling = resolved.symlinks.length > 0;
        return {
          error: dangling ? 'dangling-symlink' : 'missing',
          message: dangling
            ? `${guestPath} is a symlink to ${resolved.guestPath}, which does not exist in the guest`
            : `${guestPath} does not exist in the guest`,
        };
      }
      return toGuestStat(resolved.guestPath, resolved.hostPath, resolved.stats);
    } catch (error) {
      return failureOf(error, guestPath);
    }
  }

  async readFile(guestPath: string, opts: { maxBytes?: number } = {}): Promise<GuestRead> {
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_CAP;
    const found = await this.stat(guestPath);
    if ('error' in found) return { ok: false, reason: found.error, message: found.message };
    if (found.type !== 'file') {
      return { ok: false, reason: 'not-a-file', message: `${guestPath} is a ${found.type}, not a regular file` };
    }
    let handle;
    try {
      // O_NONBLOCK so a FIFO swapped in after the stat cannot block; O_NOFOLLOW so a symlink swapped in cannot lead out.
      handle = await open(found.hostPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      const stats = await handle.stat();
      if (!stats.isFile()) {
        return { ok: false, reason: 'not-a-file', message: `${guestPath} is not a regular file` };
      }
      const buffer = Buffer.alloc(Math.min(maxBytes, Math.max(stats.size, 0)) + 1);
      let total = 0;
      while (total < buffer.length) {
        const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      const truncated = total > maxBytes;
      const bytes = buffer.subarray(0, Math.min(total, maxBytes));
      return { ok: true, bytes, text: bytes.toString('utf8'), truncated, stat: toGuestStat(found.guestPath, found.hostPath, stats) };
    } catch (error) {
      const failure = failureOf(error, guestPath);
      return { ok: false, reason: failure.error, message: failure.message };
    } finally {
      await handle?.close();
    }
  }

  async readlink(guestPath: string): Promise<string | null> {
    try {
      const resolved = await resolveInRoot(this.root, guestPath, { followLast: false });
      if (!resolved.stats?.isSymbolicLink()) return null;
      return await fsReadlink(resolved.hostPath);
    } catch {
      return null;
    }
  }

  async readdir(guestPath: string): Promise<string[] | null> {
    try {
      const resolved = await resolveInRoot(this.root, guestPath);
      if (!resolved.stats?.isDirectory()) return null;
      return (await fsReaddir(resolved.hostPath)).sort();
    } catch {
      return null;
    }
  }

  /** True when the root itself is still there (a vanished process makes /proc/PID/root fail). */
  async rootExists(): Promise<boolean> {
    return fsStat(hostPathOf(this.root, '/')).then((s) => s.isDirectory(), () => false);
  }
}
