/**
 * The `api-fs` probe: what the guest's API filesystems and basic device nodes look like to the
 * desktop user. Runs in the probe child (on a guest root it holds, dropped to the user when asked), so
 * every lookup and open is checked by the kernel as that user. Every path is walked inside the
 * root one directory handle at a time (ProbeRoot.walk) and used through the handle it found.
 */
import { constants, statfsSync } from 'node:fs';
import { open, readFile, readlink, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { atFd, viaFd, type WalkedPath } from '../walk-in-root.js';
import type { ProbeRoot } from '../probe-root.js';
import type { ApiFsRequest, ApiFsResponse, FsInfo, NodeInfo, PtyInfo, ShmInfo } from '../../core/api-fs-types.js';
import { fileTypeOf } from '../file-type.js';

function errnoOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { reason?: string };
  if (e.code) return e.code;
  return e.reason === 'permission' ? 'EACCES' : e.reason === 'symlink-loop' ? 'ELOOP' : e.reason === 'not-a-directory' ? 'ENOTDIR' : 'EIO';
}

// glibc's major()/minor() for a 64-bit dev_t.
const major = (rdev: number): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/** Walks `guestPath`, hands the walk to `use`, always closes it; a walk that throws becomes `onError`. */
async function walked<T>(
  root: ProbeRoot,
  guestPath: string,
  followLast: boolean,
  use: (w: WalkedPath<number>) => Promise<T>,
  onError: (errno: string) => T,
): Promise<T> {
  let w: WalkedPath<number>;
  try {
    w = await root.walk(guestPath, { followLast });
  } catch (error) {
    return onError(errnoOf(error));
  }
  try {
    return await use(w);
  } catch (error) {
    return onError(errnoOf(error));
  } finally {
    await w.close();
  }
}

function fsInfo(root: ProbeRoot, guestPath: string): Promise<FsInfo> {
  const failed = (errno: string): FsInfo => ({
    path: guestPath,
    resolved: null,
    type: null,
    bsize: 0,
    blocks: 0,
    bavail: 0,
    mode: null,
    uid: null,
    errno,
  });
  return walked(
    root,
    guestPath,
    true,
    async (w) => {
      if (!w.handle || !w.stats) return failed('ENOENT');
      const s = statfsSync(viaFd(w.handle));
      return {
        path: guestPath,
        resolved: w.guestPath,
        type: s.type,
        bsize: s.bsize,
        blocks: s.blocks,
        bavail: s.bavail,
        mode: w.stats.mode & 0o7777,
        uid: w.stats.uid,
        errno: null,
      };
    },
    failed,
  );
}

/** Looks at the node itself (a symlink is reported, not followed), then opens a char device read-write through its handle. */
function nodeInfo(root: ProbeRoot, guestPath: string): Promise<NodeInfo> {
  const failed = (errno: string): NodeInfo => ({
    path: guestPath,
    type: 'missing',
    major: null,
    minor: null,
    mode: 0,
    uid: null,
    gid: null,
    size: 0,
    openErrno: errno,
  });
  return walked(
    root,
    guestPath,
    false,
    async (w) => {
      if (!w.handle || !w.stats) return failed('ENOENT');
      const s = w.stats;
      const dev = s.isCharacterDevice() || s.isBlockDevice();
      const base = {
        path: guestPath,
        type: fileTypeOf(s),
        major: dev ? major(s.rdev) : null,
        minor: dev ? minor(s.rdev) : null,
        mode: s.mode & 0o7777,
        uid: s.uid,
        gid: s.gid,
        size: s.size,
      };
      // Only char devices are opened: a FIFO could block, a regular file tells nothing more.
      if (!s.isCharacterDevice()) return { ...base, openErrno: null };
      try {
        const fd = await open(viaFd(w.handle), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
        await fd.close();
        return { ...base, openErrno: null };
      } catch (error) {
        return { ...base, openErrno: errnoOf(error) };
      }
    },
    failed,
  );
}

/** Opens the pty master and finds its slave through fdinfo's tty-index (Node has no ioctl for TIOCGPTN). */
function ptyInfo(root: ProbeRoot, ptmxPath: string, ptsDir: string): Promise<PtyInfo> {
  const failed = (errno: string): PtyInfo => ({ ok: false, errno, index: null, slave: null });
  return walked(
    root,
    ptmxPath,
    true,
    async (w) => {
      if (!w.handle) return failed('ENOENT');
      let master;
      try {
        master = await open(viaFd(w.handle), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
      } catch (error) {
        return failed(errnoOf(error));
      }
      try {
        const fdinfo = await readFile(`/proc/self/fdinfo/${master.fd}`, 'utf8');
        const index = /^tty-index:\s*(\d+)/m.exec(fdinfo)?.[1];
        if (index === undefined) return { ok: true, errno: null, index: null, slave: null };
        return await walked(
          root,
          `${ptsDir}/${index}`,
          false,
          async (slave) =>
            slave.stats
              ? {
                  ok: true,
                  errno: null,
                  index: Number(index),
                  slave: { uid: slave.stats.uid, gid: slave.stats.gid, mode: slave.stats.mode & 0o7777 },
                }
              : { ok: true, errno: 'ENOENT', index: Number(index), slave: null },
          (errno) => ({ ok: true, errno, index: Number(index), slave: null }),
        );
      } finally {
        await master.close();
      }
    },
    failed,
  );
}

/** What a browser does first in /dev/shm: create a file, size it, write into it, remove it. */
function shmInfo(root: ProbeRoot, dir: string, bytes: number): Promise<ShmInfo> {
  return walked(
    root,
    dir,
    true,
    async (w) => {
      if (!w.handle || !w.stats) return { stage: 'create', errno: 'ENOENT' };
      if (!w.stats.isDirectory()) return { stage: 'create', errno: 'ENOTDIR' };
      const name = atFd(w.handle, `.ctr-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
      let file;
      try {
        file = await open(name, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      } catch (error) {
        return { stage: 'create', errno: errnoOf(error) };
      }
      try {
        await file.truncate(bytes);
        // Writing the last page makes tmpfs allocate it: ftruncate alone only sets the size.
        await file.write(Buffer.alloc(4096), 0, 4096, Math.max(0, bytes - 4096));
        return { stage: 'done', errno: null };
      } catch (error) {
        return { stage: 'write', errno: errnoOf(error) };
      } finally {
        await file.close();
        await unlink(name).catch(() => undefined);
      }
    },
    (errno) => ({ stage: 'create', errno }),
  );
}

/** readlink /proc/self/exe through the guest's /proc (rustup and others need it). */
function selfExe(root: ProbeRoot): Promise<{ readable: boolean; errno: string | null }> {
  return walked(
    root,
    '/proc/self/exe',
    false,
    async (w) => {
      if (!w.parent || !w.stats) return { readable: false, errno: 'ENOENT' };
      await readlink(atFd(w.parent, w.name));
      return { readable: true, errno: null };
    },
    (errno) => ({ readable: false, errno }),
  );
}

/** Runs the requested looks inside `root` (a guest root the child holds, for this request); never throws. */
export async function probeApiFs(request: ApiFsRequest, root: ProbeRoot): Promise<ApiFsResponse> {
  const [filesystems, nodes, exe, pty, shm] = await Promise.all([
    // The request arrives over the wire: a field may be missing whatever its type says.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    Promise.all((request.statfs ?? []).map((p) => fsInfo(root, p))),
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    Promise.all((request.nodes ?? []).map((p) => nodeInfo(root, p))),
    request.selfExe ? selfExe(root) : null,
    request.pty ? ptyInfo(root, request.pty.ptmx, request.pty.ptsDir) : null,
    request.shm ? shmInfo(root, request.shm.dir, request.shm.bytes) : null,
  ]);
  return { filesystems, nodes, selfExe: exe, pty, shm, uid: process.getuid?.() ?? -1, groups: process.getgroups?.() ?? [] };
}
