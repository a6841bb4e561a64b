/**
 * System V shared memory in a guest's IPC namespace, for x11.mitshm's attach round trip: made
 * with the host's util-linux `ipcmk` as the desktop user, read back from /proc/sysvipc/shm and
 * removed with `ipcrm`, each command entering the namespace through a descriptor opened and
 * checked here (a pid that was reused meanwhile names another namespace, and is refused).
 */
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { hostTool } from './host-programs.js';
import { runCommand } from './run-command.js';
import { parseIpcmkShmid, parseSysvShm, type ShmSegmentState } from '../parse/sysvipc-shm.js';
import type { IpcPlace, ShmCreated } from '../core/host.js';

const TIMEOUT_MS = 3000;

type Entered = { prefix: string[]; fds: number[]; handle: FileHandle | null } | { reason: string };

/** The argv prefix that enters `place`'s IPC namespace (none for our own), with the descriptor it needs. */
async function enter(place: IpcPlace): Promise<Entered> {
  if (place.pid === null) {
    const own = await readlink('/proc/self/ns/ipc').catch(() => null);
    return own === place.ns
      ? { prefix: [], fds: [], handle: null }
      : { reason: `ctr-doctor's own IPC namespace is ${String(own)}, not ${place.ns}` };
  }
  const handle = await open(`/proc/${Math.trunc(place.pid)}/ns/ipc`, 'r').catch((e: unknown) => e as NodeJS.ErrnoException);
  if (!('fd' in handle)) return { reason: `cannot open /proc/${place.pid}/ns/ipc: ${handle.code ?? handle.message}` };
  // The namespace file's inode is the number in `ipc:[N]`: the very namespace that was looked at.
  const st = await handle.stat().catch(() => null);
  if (st === null || `ipc:[${st.ino}]` !== place.ns) {
    await handle.close();
    return { reason: `process ${place.pid} is no longer in IPC namespace ${place.ns}` };
  }
  return { prefix: [hostTool('nsenter'), '--ipc=/proc/self/fd/3', '--'], fds: [handle.fd], handle };
}

async function inNamespace<T>(
  place: IpcPlace,
  argv: string[],
  done: (r: Awaited<ReturnType<typeof runCommand>>) => T,
  failed: (reason: string) => T,
): Promise<T> {
  const entered = await enter(place);
  if ('reason' in entered) return failed(entered.reason);
  try {
    return done(await runCommand([...entered.prefix, ...argv], { timeoutMs: TIMEOUT_MS, passFds: entered.fds }));
  } finally {
    await entered.handle?.close();
  }
}

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/** `ipcmk -M BYTES -p MODE` as uid:gid (no supplementary groups) in `place`'s IPC namespace. */
export function createShmSegment(
  place: IpcPlace,
  owner: { uid: number; gid: number },
  opts: { mode: number; bytes: number },
): Promise<ShmCreated> {
  const argv = [
    hostTool('setpriv'),
    `--reuid=${Math.trunc(owner.uid)}`,
    `--regid=${Math.trunc(owner.gid)}`,
    '--clear-groups',
    '--',
    hostTool('ipcmk'),
    '-M',
    String(Math.trunc(opts.bytes)),
    '-p',
    (opts.mode & 0o777).toString(8).padStart(4, '0'),
  ];
  return inNamespace<ShmCreated>(
    place,
    argv,
    (r) => {
      const shmid = r.exitCode === 0 ? parseIpcmkShmid(r.stdout) : null;
      if (shmid !== null) return { ok: true, shmid };
      return { ok: false, reason: r.spawnError ?? (firstLine(r.stderr) || `ipcmk exited with ${String(r.exitCode)}`) };
    },
    (reason) => ({ ok: false, reason }),
  );
}

/** The segments of `place`'s IPC namespace (its /proc/sysvipc/shm, read by a `cat` inside it), or null when unreadable. */
export function shmSegments(place: IpcPlace): Promise<ShmSegmentState[] | null> {
  return inNamespace(
    place,
    [hostTool('cat'), '/proc/sysvipc/shm'],
    (r) => (r.exitCode === 0 ? parseSysvShm(r.stdout) : null),
    () => null,
  );
}

/** `ipcrm -m SHMID` in `place`'s IPC namespace; true when it is gone. */
export function removeShmSegment(place: IpcPlace, shmid: number): Promise<boolean> {
  return inNamespace(
    place,
    [hostTool('ipcrm'), '-m', String(Math.trunc(shmid))],
    (r) => r.exitCode === 0,
    () => false,
  );
}
