/**
 * Mounts and unmounts done on descriptors, never on path strings that mount(8) would resolve
 * again: the mount point is walked (no symlink followed), matched to its mountinfo id
 * (/proc/self/fdinfo/N `mnt_id:`), and handed to mount/umount as /proc/self/fd/3.
 */
import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Host, HostRunOptions } from '../core/host.js';
import { notStarted, type ExecResult } from '../core/target.js';
import { parseMountinfo, type MountEntry } from '../parse/mountinfo.js';
import { O_PATH, atFd, walkInRoot, type WalkedPath } from '../guest/walk-in-root.js';

/** How a descriptor-based mount operation ended. */
export type MountOpResult =
  | { status: 'done'; message: string }
  | { status: 'already-done'; message: string }
  | { status: 'busy'; mountPoint: string; mountId: number; message: string }
  | { status: 'failed'; message: string };

/** The id of the mount that holds `handle`, from /proc/self/fdinfo. */
export async function mountIdOf(handle: FileHandle): Promise<number> {
  const text = await readFile(`/proc/self/fdinfo/${handle.fd}`, 'utf8');
  const match = /^mnt_id:\s*(\d+)/m.exec(text);
  if (!match) throw new Error('this kernel does not show mnt_id in /proc/self/fdinfo');
  return Number(match[1]);
}

async function mountTable(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The part of the Host port these operations use: host programs by name, run with descriptors passed. */
export type MountHost = Pick<Host, 'run' | 'program'>;

/** Runs host program `name` (found in the host's PATH, through the Host port); "command not found" when it has none. */
export function runHostProgram(host: MountHost, name: string, args: readonly string[], opts: HostRunOptions): Promise<ExecResult> {
  const file = host.program(name);
  return file === null ? Promise.resolve(notStarted(`${name}: command not found`, true)) : host.run([file, ...args], opts);
}

/** Runs host `tool` with `fds` as its fd 3, 4, … */
function runWithFds(host: MountHost, tool: string, args: string[], fds: FileHandle[], timeoutMs: number): Promise<ExecResult> {
  return runHostProgram(host, tool, args, { timeoutMs, passFds: fds.map((f) => f.fd) });
}

function describeRun(what: string, r: ExecResult): string {
  if (r.timedOut) return `${what} timed out`;
  if (r.spawnError) return `${what} could not start: ${r.spawnError}`;
  const text = r.stderr.trim().split('\n').slice(-2).join(' ');
  return `${what} exited with ${r.exitCode ?? 'no code'}${text ? `: ${text}` : ''}`;
}

/** True when someone other than root may change the entries of this directory. */
function writableByOthers(stats: { uid: number; mode: number }): boolean {
  return stats.uid !== 0 || (stats.mode & 0o022) !== 0;
}

/** fstab options that let a non-root user unmount a mount (mount(8)'s restricted umount). */
const USER_UMOUNT_OPTIONS = new Set(['user', 'users', 'owner', 'group']);

/**
 * True when a non-root user may remove this mount: a FUSE mount (fusermount -u by whoever made it),
 * or one the host's /etc/fstab lists with user, users, owner or group. Only such a mount can vanish
 * between our check and umount(8)'s own lookup of its name without root doing it.
 */
async function removableByUsers(entry: MountEntry): Promise<boolean> {
  if (entry.fsType === 'fuse' || entry.fsType === 'fuseblk' || entry.fsType.startsWith('fuse.')) return true;
  const fstab = await readFile('/etc/fstab', 'utf8').catch(() => '');
  return fstab.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return (
      !line.trimStart().startsWith('#') &&
      f.length >= 4 &&
      f[1]!.replace(/\\040/g, ' ') === entry.mountPoint &&
      f[3]!.split(',').some((o) => USER_UMOUNT_OPTIONS.has(o))
    );
  });
}

/** Walks a host path from `/`; refuses any symlink on the way (mountinfo paths have none). */
async function walkHostExact(hostPath: string): Promise<WalkedPath | string> {
  const walked = await walkInRoot('/', hostPath, { followLast: false });
  if (walked.symlinks.length > 0 || walked.stats?.isSymbolicLink()) {
    await walked.close();
    return `${hostPath}: a component is a symlink now (it changed since it was checked); refusing to act on it`;
  }
  return walked;
}

/** Depth of `m` below `topId` in the mount tree. */
function depthBelow(m: MountEntry, byId: Map<number, MountEntry>, topId: number): number {
  let depth = 0;
  for (let cur: MountEntry | undefined = m; cur && cur.id !== topId; cur = byId.get(cur.parentId)) depth++;
  return depth;
}

/**
 * Unmounts one mount: its directory is walked, the entry in it opened O_PATH|O_NOFOLLOW and
 * matched to `entry.id`, then `umount /proc/self/fd/3/NAME` runs with that directory as fd 3
 * (a held mount would be busy, so the name is used; a mount point cannot be renamed while mounted).
 * A lazy detach acts on the mount's own descriptor.
 */
async function unmountOne(host: MountHost, entry: MountEntry, lazy: boolean, timeoutMs: number): Promise<MountOpResult> {
  const dirPath = path.posix.dirname(entry.mountPoint);
  const name = path.posix.basename(entry.mountPoint);
  const dir = await walkHostExact(dirPath);
  if (typeof dir === 'string') return { status: 'failed', message: dir };
  try {
    if (!dir.handle || !dir.stats?.isDirectory())
      return { status: 'failed', message: `${dirPath} is gone or not a directory; ${entry.mountPoint} not unmounted` };
    const mount = await open(atFd(dir.handle, name), O_PATH | constants.O_NOFOLLOW).catch(() => null);
    if (mount === null) return { status: 'failed', message: `${entry.mountPoint} cannot be opened; not unmounted` };
    let matches: boolean;
    try {
      matches = (await mountIdOf(mount)) === entry.id && (await mountIdOf(dir.handle)) !== entry.id;
      // H5's last window: umount(8) looks NAME up again and, as root, follows a symlink. NAME cannot change
      // while the mount is on it, so only a mount that a user may remove, in a directory a user may change,
      // can be swapped for a symlink in between: that one is detached through its own descriptor instead.
      const exactOnly = !lazy && matches && writableByOthers(await dir.handle.stat()) && (await removableByUsers(entry));
      if (matches && (lazy || exactOnly)) {
        // MNT_DETACH through the mount's own descriptor: exactly this mount, whatever its name leads to now.
        const r = await runWithFds(host, 'umount', ['-l', '--no-canonicalize', '/proc/self/fd/3'], [mount], timeoutMs);
        const how = exactOnly
          ? ' through its descriptor (a user may remove this mount and change its directory, so its name was not used)'
          : '';
        return r.exitCode === 0
          ? { status: 'done', message: `detached ${entry.mountPoint}${how}` }
          : { status: 'failed', message: describeRun(`umount -l ${entry.mountPoint}`, r) };
      }
    } finally {
      await mount.close();
    }
    if (!matches)
      return {
        status: 'failed',
        message: `${entry.mountPoint} is no longer mount ${entry.id} (it changed since mountinfo listed it); not unmounted`,
      };
    const r = await runWithFds(host, 'umount', ['--no-canonicalize', `/proc/self/fd/3/${name}`], [dir.handle], timeoutMs);
    if (r.exitCode === 0) return { status: 'done', message: `unmounted ${entry.mountPoint}` };
    if (/target is busy/i.test(r.stderr))
      return { status: 'busy', mountPoint: entry.mountPoint, mountId: entry.id, message: `umount: ${entry.mountPoint}: target is busy` };
    return { status: 'failed', message: describeRun(`umount ${entry.mountPoint}`, r) };
  } finally {
    await dir.close();
  }
}

/** What an unmount step asks for. */
export interface UnmountRequest {
  path: string;
  recursive: boolean;
  makeRslave: boolean;
  lazy: boolean;
}

/**
 * Unmounts the mount at host path `request.path` (and, when recursive, every mount below it in
 * the mount tree, by id, deepest first), after `mount --make-rslave` on its descriptor.
 * A path that is not a mount point is already done.
 */
export async function unmountByFd(
  host: MountHost,
  request: UnmountRequest,
  timeoutMs: number,
  beforeChange: () => Promise<void> = async () => undefined,
): Promise<MountOpResult> {
  const target = path.posix.normalize(request.path);
  const walked = await walkHostExact(target);
  if (typeof walked === 'string') return { status: 'failed', message: walked };
  let members: MountEntry[];
  try {
    if (!walked.handle) return { status: 'already-done', message: `${target} is not a mount point` };
    const id = await mountIdOf(walked.handle);
    const table = await mountTable();
    const byId = new Map(table.map((m) => [m.id, m]));
    const top = byId.get(id);
    if (!top || top.mountPoint !== target) return { status: 'already-done', message: `${target} is not a mount point` };
    const below = (m: MountEntry): boolean => {
      for (let cur = byId.get(m.parentId); cur; cur = byId.get(cur.parentId)) if (cur.id === id) return true;
      return false;
    };
    members = [top, ...(request.recursive ? table.filter(below) : [])];
    members.sort((a, b) => depthBelow(b, byId, id) - depthBelow(a, byId, id) || b.id - a.id);
    await beforeChange();
    if (request.makeRslave) {
      // Recursive, on the checked mount itself: nothing unmounted below it reaches the host's peers.
      const r = await runWithFds(host, 'mount', ['--make-rslave', '--no-canonicalize', '/proc/self/fd/3'], [walked.handle], timeoutMs);
      if (r.exitCode !== 0) return { status: 'failed', message: describeRun(`mount --make-rslave ${target}`, r) };
    }
  } finally {
    await walked.close();
  }
  for (const member of members) {
    const result = await unmountOne(host, member, request.lazy, timeoutMs);
    if (result.status !== 'done') return result;
  }
  const left = new Set((await mountTable()).map((m) => m.id));
  const still = members.filter((m) => left.has(m.id) && !request.lazy);
  if (still.length > 0) return { status: 'failed', message: `${still.map((m) => m.mountPoint).join(', ')} still mounted after umount` };
  const what = members.length > 1 ? `${target} and ${members.length - 1} mount(s) below it` : target;
  return { status: 'done', message: `${request.lazy ? 'detached' : 'unmounted'} ${what}${request.lazy ? ' (lazily)' : ''}` };
}

/** What to mount on a guest directory: a tmpfs, or a bind of a host directory. */
export type MountSource = { kind: 'tmpfs'; options: string } | { kind: 'bind'; hostPath: string };

/**
 * Mounts `source` on the guest directory `guestPath` (walked inside `fileRoot`, no symlink
 * followed), through its descriptor. Refused when any directory after the root on the way, the
 * mount point included, may be changed by a non-root user: they could swap it between our checks.
 * A directory that already has something mounted on it is already done.
 */
export async function mountInGuest(
  host: MountHost,
  fileRoot: string,
  guestPath: string,
  source: MountSource,
  timeoutMs: number,
  beforeChange: () => Promise<void> = async () => undefined,
): Promise<MountOpResult> {
  const walked = await walkInRoot(fileRoot, guestPath, { followLast: false });
  const held: FileHandle[] = [];
  try {
    if (walked.symlinks.length > 0 || walked.stats?.isSymbolicLink())
      return { status: 'failed', message: `refused: ${guestPath} goes through a symlink in the guest; not mounting on it` };
    if (!walked.handle || !walked.stats?.isDirectory())
      return { status: 'failed', message: `${guestPath} is not a directory in the guest` };
    const along = [
      ...walked.dirs.map((d) => ({ guestPath: d.guestPath, handle: d.handle })),
      { guestPath: walked.guestPath, handle: walked.handle },
    ];
    for (const d of along) {
      const stats = await d.handle.stat();
      if (writableByOthers(stats))
        return {
          status: 'failed',
          message: `refused: ${d.guestPath} in the guest is writable by uid ${stats.uid === 0 ? 'other than root (its mode is ' + (stats.mode & 0o7777).toString(8) + ')' : stats.uid}; not mounting on ${guestPath}`,
        };
    }
    if (walked.parent && walked.parent !== walked.handle && (await mountIdOf(walked.handle)) !== (await mountIdOf(walked.parent))) {
      return { status: 'already-done', message: `${guestPath} already has a mount on it` };
    }
    let args: string[];
    if (source.kind === 'tmpfs') {
      args = ['-t', 'tmpfs', '-o', source.options, '--no-canonicalize', 'tmpfs', '/proc/self/fd/3'];
      held.push(walked.handle);
    } else {
      const src = await walkHostExact(source.hostPath);
      if (typeof src === 'string') return { status: 'failed', message: src };
      if (!src.handle || !src.stats?.isDirectory()) {
        await src.close();
        return { status: 'failed', message: `${source.hostPath} is not a directory on the host; not binding it` };
      }
      // The source too is the very directory that was walked.
      held.push(walked.handle, src.handle);
      args = ['--bind', '--no-canonicalize', '/proc/self/fd/4', '/proc/self/fd/3'];
      try {
        await beforeChange();
        const r = await runWithFds(host, 'mount', args, held, timeoutMs);
        return r.exitCode === 0
          ? { status: 'done', message: `bound ${source.hostPath} on ${guestPath} in the guest` }
          : { status: 'failed', message: describeRun(`mount --bind ${source.hostPath} ${guestPath}`, r) };
      } finally {
        await src.close();
      }
    }
    await beforeChange();
    const r = await runWithFds(host, 'mount', args, held, timeoutMs);
    return r.exitCode === 0
      ? { status: 'done', message: `mounted a tmpfs (${source.options}) on ${guestPath} in the guest` }
      : { status: 'failed', message: describeRun(`mount -t tmpfs ${guestPath}`, r) };
  } finally {
    await walked.close();
  }
}
