/**
 * The `api-fs` probe: what the guest's API filesystems and basic device nodes look like to the
 * desktop user. Runs in the probe child (guest root as cwd, dropped to the user when asked), so
 * every open is checked by the kernel as that user. Paths come resolved inside the root by the
 * parent; each node is opened without following a last symlink and matched to what lstat saw.
 */
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readFileSync, readlinkSync, statfsSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { ApiFsRequest, ApiFsResponse, FsInfo, NodeInfo, PtyInfo, ShmInfo } from './api-fs-protocol.js';

const O_NOFOLLOW = constants.O_NOFOLLOW;

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}

/** A guest path relative to the root (our cwd). */
const rel = (guestPath: string): string => `.${guestPath.startsWith('/') ? '' : '/'}${guestPath}`;

function typeOf(s: Stats): NodeInfo['type'] {
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isSocket()) return 'socket';
  if (s.isFIFO()) return 'fifo';
  return 'unknown';
}

const major = (rdev: number): number => Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
const minor = (rdev: number): number => Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);

function fsInfo(guestPath: string): FsInfo {
  try {
    const s = statfsSync(rel(guestPath));
    return { path: guestPath, type: s.type, bsize: s.bsize, blocks: s.blocks, bavail: s.bavail, errno: null };
  } catch (error) {
    return { path: guestPath, type: null, bsize: 0, blocks: 0, bavail: 0, errno: errnoOf(error) };
  }
}

/** lstat, then open read-write as whoever we are, refusing a swapped-in symlink. */
function nodeInfo(guestPath: string): NodeInfo {
  let s: Stats;
  try {
    s = lstatSync(rel(guestPath));
  } catch (error) {
    return { path: guestPath, type: 'missing', major: null, minor: null, mode: 0, uid: null, openErrno: errnoOf(error) };
  }
  const base = { path: guestPath, type: typeOf(s), major: s.isCharacterDevice() || s.isBlockDevice() ? major(s.rdev) : null, minor: s.isCharacterDevice() || s.isBlockDevice() ? minor(s.rdev) : null, mode: s.mode & 0o7777, uid: s.uid };
  // Only device nodes are opened: opening a FIFO could block, a regular file tells nothing more.
  if (!s.isCharacterDevice()) return { ...base, openErrno: null };
  try {
    const fd = openSync(rel(guestPath), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK | O_NOFOLLOW);
    try {
      if (fstatSync(fd).ino !== s.ino) return { ...base, openErrno: 'ESTALE' };
    } finally {
      closeSync(fd);
    }
    return { ...base, openErrno: null };
  } catch (error) {
    return { ...base, openErrno: errnoOf(error) };
  }
}

/** Opens the pty master and finds its slave through fdinfo's tty-index (no ioctl from Node). */
function ptyInfo(ptmxPath: string, ptsDir: string): PtyInfo {
  let fd: number;
  try {
    fd = openSync(rel(ptmxPath), constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (error) {
    return { ok: false, errno: errnoOf(error), index: null, slave: null };
  }
  try {
    const fdinfo = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const index = /^tty-index:\s*(\d+)/m.exec(fdinfo)?.[1];
    if (index === undefined) return { ok: true, errno: null, index: null, slave: null };
    try {
      const s = lstatSync(rel(`${ptsDir}/${index}`));
      return { ok: true, errno: null, index: Number(index), slave: { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 } };
    } catch (error) {
      return { ok: true, errno: errnoOf(error), index: Number(index), slave: null };
    }
  } finally {
    closeSync(fd);
  }
}

/** What a browser does first in /dev/shm: create a file, size it, write into it, remove it. */
function shmInfo(dir: string, bytes: number): ShmInfo {
  const name = `${rel(dir)}/.ctr-doctor-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number;
  try {
    fd = openSync(name, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    return { stage: 'create', errno: errnoOf(error) };
  }
  try {
    ftruncateSync(fd, bytes);
    // Writing the last page makes tmpfs allocate it: ftruncate alone only sets the size.
    writeSync(fd, Buffer.alloc(4096), 0, 4096, Math.max(0, bytes - 4096));
    return { stage: 'done', errno: null };
  } catch (error) {
    return { stage: 'write', errno: errnoOf(error) };
  } finally {
    closeSync(fd);
    try { unlinkSync(name); } catch { /* the directory went away: nothing left to remove */ }
  }
}

function selfExe(): { readable: boolean; errno: string | null } {
  try {
    readlinkSync(rel('/proc/self/exe'));
    return { readable: true, errno: null };
  } catch (error) {
    return { readable: false, errno: errnoOf(error) };
  }
}

/** Runs the requested looks; never throws. */
export function probeApiFs(request: ApiFsRequest): ApiFsResponse {
  return {
    filesystems: (request.statfs ?? []).map(fsInfo),
    nodes: (request.nodes ?? []).map(nodeInfo),
    selfExe: request.selfExe ? selfExe() : null,
    pty: request.pty ? ptyInfo(request.pty.ptmx, request.pty.ptsDir) : null,
    shm: request.shm ? shmInfo(request.shm.dir, request.shm.bytes) : null,
    uid: process.getuid?.() ?? -1,
  };
}
