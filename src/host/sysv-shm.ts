/**
 * System V shared memory in a guest's IPC namespace, for x11.mitshm's attach round trip: made
 * with the host's util-linux `ipcmk` as the desktop user, read back from /proc/sysvipc/shm and
 * removed with `ipcrm`. Another namespace is entered by nsenter through a descriptor opened and
 * checked here (a pid that was reused meanwhile names another namespace, and is refused); when
 * the namespace is ctr-doctor's own (a chroot's session), nothing is entered: the table is read
 * here, and only ipcmk (as the user) and ipcrm run.
 */
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { readCappedText } from './proc-read.js';
import { hostTool } from './host-programs.js';
import { runCommand } from './run-command.js';
import { parseIpcmkShmid, parseSysvShm, type ShmSegmentState } from '../parse/sysvipc-shm.js';
import type { IpcPlace, ShmCreated } from '../core/host.js';
import type { ExecResult } from '../core/target.js';

const TIMEOUT_MS = 3000;
/** A /proc/sysvipc/shm bigger than this is cut (one line per segment). */
const MAX_TABLE_BYTES = 8 * 1024 * 1024;

/**
 * Segments made here and not removed yet, by namespace and shmid. A check cut off by its timeout
 * (or a run's end killing its `ipcrm`) leaves its segment: {@link removeLeftShmSegments} removes
 * those at the CLI's end, so that no segment of ours outlives a run.
 */
const made = new Map<string, { place: IpcPlace; shmid: number }>();
const madeKey = (place: IpcPlace, shmid: number): string => `${place.ns} ${shmid}`;

/** Where a command runs: our own IPC namespace, or the one `handle` holds (passed to nsenter as fd 3). */
type Entered = { own: true } | { own: false; handle: FileHandle } | { reason: string };

/** `place`'s IPC namespace: our own (nothing to enter), or a descriptor on it, opened and checked here. */
async function enter(place: IpcPlace): Promise<Entered> {
  const own = await readlink('/proc/self/ns/ipc').catch(() => null);
  if (place.pid === null)
    return own === place.ns ? { own: true } : { reason: `ctr-doctor's own IPC namespace is ${String(own)}, not ${place.ns}` };
  const handle = await open(`/proc/${Math.trunc(place.pid)}/ns/ipc`, 'r').catch((e: unknown) => e as NodeJS.ErrnoException);
  if (!('fd' in handle)) return { reason: `cannot open /proc/${place.pid}/ns/ipc: ${handle.code ?? handle.message}` };
  // The namespace file's inode is the number in `ipc:[N]`: the very namespace that was looked at.
  const st = await handle.stat().catch(() => null);
  if (st === null || `ipc:[${st.ino}]` !== place.ns) {
    await handle.close();
    return { reason: `process ${place.pid} is no longer in IPC namespace ${place.ns}` };
  }
  // The process shares our namespace (a chroot's session): no nsenter needed.
  if (own === place.ns) {
    await handle.close();
    return { own: true };
  }
  return { own: false, handle };
}

/** Runs in `entered`: `argv(nsenter)` gets the nsenter words that enter it (none for our own) and builds the command line. */
async function runIn(entered: Exclude<Entered, { reason: string }>, argv: (nsenter: string[]) => string[]): Promise<ExecResult> {
  if (entered.own) return runCommand(argv([]), { timeoutMs: TIMEOUT_MS });
  try {
    return await runCommand(argv([hostTool('nsenter'), '--ipc=/proc/self/fd/3']), {
      timeoutMs: TIMEOUT_MS,
      passFds: [entered.handle.fd],
    });
  } finally {
    await entered.handle.close();
  }
}

/** `argv` run after the nsenter words, when there are any. */
const after =
  (argv: string[]) =>
  (nsenter: string[]): string[] =>
    nsenter.length > 0 ? [...nsenter, '--', ...argv] : argv;

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/** `ipcmk -M BYTES -p MODE` as uid:gid (no supplementary groups) in `place`'s IPC namespace. */
export async function createShmSegment(
  place: IpcPlace,
  owner: { uid: number; gid: number },
  opts: { mode: number; bytes: number },
): Promise<ShmCreated> {
  const entered = await enter(place);
  if ('reason' in entered) return { ok: false, reason: entered.reason };
  const [uid, gid] = [String(Math.trunc(owner.uid)), String(Math.trunc(owner.gid))];
  const ipcmk = [hostTool('ipcmk'), '-M', String(Math.trunc(opts.bytes)), '-p', (opts.mode & 0o777).toString(8).padStart(4, '0')];
  // Two programs either way: nsenter drops to the user itself (-G clears the supplementary groups too, as --clear-groups).
  const r = await runIn(entered, (nsenter) =>
    nsenter.length > 0
      ? [...nsenter, '-S', uid, '-G', gid, '--', ...ipcmk]
      : [hostTool('setpriv'), `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...ipcmk],
  );
  const shmid = r.exitCode === 0 ? parseIpcmkShmid(r.stdout) : null;
  if (shmid !== null) {
    made.set(madeKey(place, shmid), { place, shmid });
    return { ok: true, shmid };
  }
  return { ok: false, reason: r.spawnError ?? (firstLine(r.stderr) || `ipcmk exited with ${String(r.exitCode)}`) };
}

/** Our own namespace's /proc/sysvipc/shm, capped, a cut last line dropped; null when unreadable. */
function ownTable(): string | null {
  const r = readCappedText('/proc/sysvipc/shm', MAX_TABLE_BYTES);
  if (r === null) return null;
  return r.truncated ? r.text.slice(0, r.text.lastIndexOf('\n') + 1) : r.text;
}

/**
 * The segments of `place`'s IPC namespace, or null when unreadable. /proc/sysvipc/shm shows the
 * reader's namespace: our own is read here, another one by a `cat` inside it.
 */
export async function shmSegments(place: IpcPlace): Promise<ShmSegmentState[] | null> {
  const entered = await enter(place);
  if ('reason' in entered) return null;
  if (entered.own) {
    const text = ownTable();
    return text === null ? null : parseSysvShm(text);
  }
  const r = await runIn(entered, after([hostTool('cat'), '/proc/sysvipc/shm']));
  return r.exitCode === 0 ? parseSysvShm(r.stdout) : null;
}

/** `ipcrm -m SHMID` in `place`'s IPC namespace; true when it is gone. */
export async function removeShmSegment(place: IpcPlace, shmid: number): Promise<boolean> {
  const entered = await enter(place);
  if ('reason' in entered) return false;
  const r = await runIn(entered, after([hostTool('ipcrm'), '-m', String(Math.trunc(shmid))]));
  if (r.exitCode === 0) made.delete(madeKey(place, shmid));
  return r.exitCode === 0;
}

/**
 * Removes every segment made here that its check did not remove (see {@link made}); one that
 * cannot be removed now (its namespace's process is gone, and the namespace with it) is let go.
 */
export async function removeLeftShmSegments(): Promise<void> {
  const left = [...made.values()];
  made.clear();
  await Promise.all(left.map(({ place, shmid }) => removeShmSegment(place, shmid).catch(() => false)));
}
