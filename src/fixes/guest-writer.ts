import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { resolveInRoot } from '../guest/in-root.js';
import { O_PATH, readRegularCapped } from '../guest/walk-in-root.js';
import { GuestWriteRefused, openGuestDir, type GuestDir } from './guest-dir.js';
import type { ChangeLog, JournalChange, PriorState } from './journal.js';
import type { MkdirStep, SymlinkStep, WriteStep } from '../core/types.js';

/** How one step went. `already-done` means the guest was already as the step wants it. */
export interface StepOutcome {
  status: 'done' | 'already-done' | 'failed';
  message: string;
}

/** Which fix and step a change belongs to, for the journal. */
export interface StepRef {
  fixId: string;
  step: number;
}

/** Files larger than this are not backed up (and so not replaced). */
const MAX_BACKUP = 64 * 1024 * 1024;

/** What is at a name inside an open guest directory, read without following a symlink. */
export type Present =
  | { type: 'absent' }
  | { type: 'file'; bytes: Buffer; mode: number; uid: number; gid: number }
  | { type: 'symlink'; target: string }
  | { type: 'dir'; mode: number; uid: number; gid: number }
  | { type: 'other'; what: string };

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Looks at `name` in `dir` without following it: an O_PATH handle on the name itself, fstat,
 * and only a regular file is opened (through that handle) and read, capped. A device node or
 * FIFO swapped in is never opened; a sparse 2 GiB file is never read.
 */
export async function presentAt(dir: GuestDir, name: string): Promise<Present> {
  const at = dir.at(name);
  let handle;
  try {
    handle = await open(at, O_PATH | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { type: 'absent' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (stats.isSymbolicLink()) return { type: 'symlink', target: await readlink(at) };
    if (stats.isDirectory()) return { type: 'dir', mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid };
    if (!stats.isFile()) return { type: 'other', what: stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : 'a device' };
    if (stats.size > MAX_BACKUP) return { type: 'other', what: `a file of ${stats.size} bytes, too large to back up` };
    const read = await readRegularCapped(handle, MAX_BACKUP);
    if (read === null) return { type: 'other', what: 'no longer a regular file' };
    if (read.truncated) return { type: 'other', what: `a file of more than ${MAX_BACKUP} bytes, too large to back up` };
    return { type: 'file', bytes: read.bytes, mode: read.stats.mode & 0o7777, uid: read.stats.uid, gid: read.stats.gid };
  } finally {
    await handle.close();
  }
}

/** A guest path split into its directory (resolved inside the root) and its last name (not followed). */
async function placeOf(root: string, guestPath: string, followLast: boolean): Promise<{ dir: string; name: string }> {
  const clean = path.posix.normalize('/' + guestPath);
  const resolved = followLast
    ? (await resolveInRoot(root, clean, { followLast: true })).guestPath
    : path.posix.join((await resolveInRoot(root, path.posix.dirname(clean))).guestPath, path.posix.basename(clean));
  if (resolved === '/') throw new GuestWriteRefused(`${guestPath} is the guest root itself`);
  return { dir: path.posix.dirname(resolved), name: path.posix.basename(resolved) };
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Describes a symlink that, read by a host tool, would lead outside the guest root. */
function escapeNote(linkGuestPath: string, target: string): string {
  if (target.startsWith('/')) return ` (an absolute link: on the host it would point to ${target}; it was replaced, never followed)`;
  const depth = linkGuestPath.split('/').filter(Boolean).length - 1;
  const ups = target.split('/').filter((p) => p === '..').length;
  return ups > depth ? ' (it climbs above the guest root; it was replaced, never followed)' : '';
}

/**
 * Applies write, symlink and mkdir steps inside a guest root. Directories are resolved inside
 * the root, then opened component by component without following symlinks; files are written
 * to a temp file and renamed; what was there is recorded in the change log first.
 */
export class GuestWriter {
  constructor(
    private readonly root: string,
    private readonly log: ChangeLog,
  ) {}

  /** Records the prior state of `name` (backing up a file) before changing it. */
  private async priorOf(present: Present): Promise<PriorState> {
    switch (present.type) {
      case 'absent':
        return { type: 'absent' };
      case 'symlink':
        return { type: 'symlink', target: present.target };
      case 'dir':
        return { type: 'dir', mode: present.mode, uid: present.uid, gid: present.gid };
      case 'file':
        return {
          type: 'file',
          backup: await this.log.saveBackup(present.bytes),
          sha256: sha256(present.bytes),
          size: present.bytes.length,
          mode: present.mode,
          uid: present.uid,
          gid: present.gid,
        };
      case 'other':
        throw new GuestWriteRefused(`it is ${present.what}; not replacing it`);
    }
  }

  /** Journals a parent directory the walk is about to create (before the mkdir), so undo removes it. */
  private announceDir(ref: StepRef): (guestPath: string) => Promise<() => Promise<void>> {
    return async (guestPath) => {
      const index = await this.log.begin({
        op: 'mkdir',
        ...ref,
        guestPath,
        prior: { type: 'absent' },
        after: { type: 'dir' },
        state: 'pending',
      });
      return () => this.log.finish(index);
    };
  }

  private async change<T>(change: JournalChange, apply: () => Promise<T>): Promise<T> {
    const index = await this.log.begin(change);
    const result = await apply();
    await this.log.finish(index);
    return result;
  }

  /**
   * Resolves a step's path in the guest, opens its parent directory (creating and journalling
   * missing parents) and hands over what is there now; every step kind starts this way.
   */
  private inParent(
    stepPath: string,
    followLast: boolean,
    ref: StepRef,
    act: (at: { dir: GuestDir; name: string; guestPath: string; present: Awaited<ReturnType<typeof presentAt>> }) => Promise<StepOutcome>,
  ): Promise<StepOutcome> {
    return guard(stepPath, async () => {
      const place = await placeOf(this.root, stepPath, followLast);
      const dir = await openGuestDir(this.root, place.dir, { create: true, beforeCreate: this.announceDir(ref) });
      try {
        const present = await presentAt(dir, place.name);
        return await act({ dir, name: place.name, guestPath: path.posix.join(place.dir, place.name), present });
      } finally {
        await dir.close();
      }
    });
  }

  async write(step: WriteStep, ref: StepRef): Promise<StepOutcome> {
    return this.inParent(step.path, false, ref, async ({ dir, name, guestPath, present }) => {
      const bytes = Buffer.from(step.content, 'utf8');
      if (present.type === 'dir') return failed(`${guestPath} is a directory; not replacing it`);
      if (present.type === 'file' && present.bytes.equals(bytes) && (step.mode === undefined || present.mode === step.mode)) {
        return { status: 'already-done', message: `${guestPath} already has this content` };
      }
      const prior = await this.priorOf(present);
      const mode = step.mode ?? (prior.type === 'file' ? prior.mode : 0o644);
      const owner = prior.type === 'file' ? { uid: prior.uid, gid: prior.gid } : null;
      const temp = tempNameFor(name);
      await this.change(
        { op: 'file', ...ref, guestPath, prior, after: { type: 'file', sha256: sha256(bytes) }, temp, state: 'pending' },
        () => writeFileIn(dir, name, bytes, mode, owner, temp),
      );
      const replaced = prior.type === 'symlink' ? `, replacing the symlink to ${prior.target}${escapeNote(guestPath, prior.target)}` : '';
      return { status: 'done', message: `wrote ${guestPath} (${bytes.length} bytes, mode ${mode.toString(8)})${replaced}` };
    });
  }

  async symlink(step: SymlinkStep, ref: StepRef): Promise<StepOutcome> {
    return this.inParent(step.path, false, ref, async ({ dir, name, guestPath, present }) => {
      if (present.type === 'symlink' && present.target === step.target) {
        return { status: 'already-done', message: `${guestPath} already points to ${step.target}` };
      }
      if (present.type === 'dir') return failed(`${guestPath} is a directory; not replacing it with a symlink`);
      const prior = await this.priorOf(present);
      const temp = tempNameFor(name);
      await this.change(
        { op: 'symlink', ...ref, guestPath, prior, after: { type: 'symlink', target: step.target }, temp, state: 'pending' },
        () => symlinkIn(dir, name, step.target, temp),
      );
      return { status: 'done', message: `linked ${guestPath} -> ${step.target}` };
    });
  }

  async mkdir(step: MkdirStep, ref: StepRef): Promise<StepOutcome> {
    return this.inParent(step.path, true, ref, async ({ dir, name, guestPath, present }) => {
      const want = { mode: step.mode, uid: step.uid, gid: step.gid };
      if (present.type === 'dir') {
        const same =
          (want.mode === undefined || present.mode === want.mode) &&
          (want.uid === undefined || present.uid === want.uid) &&
          (want.gid === undefined || present.gid === want.gid);
        if (same) return { status: 'already-done', message: `${guestPath} already exists with the right mode and owner` };
        const prior: PriorState = { type: 'dir', mode: present.mode, uid: present.uid, gid: present.gid };
        await this.change({ op: 'mkdir', ...ref, guestPath, prior, after: { type: 'dir' }, state: 'pending' }, () =>
          setDirAttrs(dir, name, want),
        );
        return {
          status: 'done',
          message: `set ${guestPath} to ${describeAttrs(want)} (was mode ${present.mode.toString(8)}, owner ${present.uid}:${present.gid})`,
        };
      }
      if (present.type !== 'absent') return failed(`${guestPath} exists and is not a directory`);
      await this.change(
        { op: 'mkdir', ...ref, guestPath, prior: { type: 'absent' }, after: { type: 'dir' }, state: 'pending' },
        async () => {
          await mkdir(dir.at(name), 0o700);
          await setDirAttrs(dir, name, { ...want, mode: want.mode ?? 0o755 });
        },
      );
      return { status: 'done', message: `created ${guestPath} (${describeAttrs({ ...want, mode: want.mode ?? 0o755 })})` };
    });
  }
}

function describeAttrs(a: { mode?: number; uid?: number; gid?: number }): string {
  const parts = [
    a.mode !== undefined ? `mode ${a.mode.toString(8)}` : null,
    a.uid !== undefined ? `owner ${a.uid}:${a.gid ?? a.uid}` : null,
  ];
  return parts.filter(Boolean).join(', ') || 'as it was';
}

function failed(message: string): StepOutcome {
  return { status: 'failed', message };
}

/** Turns a refusal or an I/O error into a failed step with one clear line. */
async function guard(guestPath: string, run: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof GuestWriteRefused) return failed(`refused: ${guestPath}: ${error.message}`);
    const e = error as NodeJS.ErrnoException;
    const why =
      e.code === 'EBUSY'
        ? 'Device or resource busy (it is a mount point: change the bind mount instead)'
        : e.code === 'EROFS'
          ? 'Read-only file system'
          : e.code === 'EACCES' || e.code === 'EPERM'
            ? 'permission denied (needs root: run with sudo)'
            : e.message.split('\n')[0];
    return failed(`${guestPath}: ${why}`);
  }
}

/** Opens the directory `name` inside `dir` without following a symlink, and sets mode and owner through it. */
export async function setDirAttrs(dir: GuestDir, name: string, want: { mode?: number; uid?: number; gid?: number }): Promise<void> {
  const handle = await open(dir.at(name), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    if (want.uid !== undefined || want.gid !== undefined) {
      const stats = await handle.stat();
      await handle.chown(want.uid ?? stats.uid, want.gid ?? stats.gid);
    }
    if (want.mode !== undefined) await handle.chmod(want.mode);
  } finally {
    await handle.close();
  }
}

/** The name a change to `name` is first written under, in the same directory (journalled, so a crash's leftover is found). */
export function tempNameFor(name: string): string {
  return `.${name.slice(0, 200)}.ctr-doctor-${randomBytes(4).toString('hex')}`;
}

/** Writes `bytes` to a temp file in `dir`, then renames it over `name` (which may be a symlink: it is replaced, never followed). */
export async function writeFileIn(
  dir: GuestDir,
  name: string,
  bytes: Buffer,
  mode: number,
  owner: { uid: number; gid: number } | null,
  tmp = tempNameFor(name),
): Promise<void> {
  const handle = await open(dir.at(tmp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(bytes);
    if (owner && isRoot()) await handle.chown(owner.uid, owner.gid);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(dir.at(tmp)).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(dir.at(tmp), dir.at(name)).catch(async (error: unknown) => {
    await unlink(dir.at(tmp)).catch(() => undefined);
    throw error;
  });
}

/** Creates a symlink under a temp name in `dir`, then renames it over `name`. */
export async function symlinkIn(dir: GuestDir, name: string, target: string, tmp = tempNameFor(name)): Promise<void> {
  await symlink(target, dir.at(tmp));
  await rename(dir.at(tmp), dir.at(name)).catch(async (error: unknown) => {
    await unlink(dir.at(tmp)).catch(() => undefined);
    throw error;
  });
}
