import { readFile, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { GuestWriteRefused, openGuestDir } from './guest-dir.js';
import { presentAt, setDirAttrs, sha256, symlinkIn, writeFileIn, type Present } from './guest-writer.js';
import { describeExit } from './command-steps.js';
import type { AfterState, CommandChange, JournalChange, JournalEntry, PathChange, PriorState } from './journal.js';
import type { ExecResult } from '../core/target.js';

/** What undo did with one recorded change. */
export interface UndoItem {
  op: JournalChange['op'];
  fixId: string;
  /** The guest path, or the command for exec and umount. */
  subject: string;
  status: 'restored' | 'unchanged' | 'left' | 'not-undoable' | 'failed';
  message: string;
}

function matches(present: Present, state: AfterState | PriorState): boolean {
  switch (state.type) {
    case 'absent':
      return present.type === 'absent';
    case 'file':
      return present.type === 'file' && sha256(present.bytes) === state.sha256;
    case 'symlink':
      return present.type === 'symlink' && present.target === state.target;
    case 'dir':
      return present.type === 'dir';
  }
}

/** Puts back what was at a path before a file or symlink step. */
async function restorePath(fileRoot: string, entryDir: string, change: PathChange): Promise<Omit<UndoItem, 'op' | 'fixId' | 'subject'>> {
  const { prior } = change;
  const dir = await openGuestDir(fileRoot, path.posix.dirname(change.guestPath), { create: prior.type !== 'absent' });
  try {
    const name = path.posix.basename(change.guestPath);
    const present = await presentAt(dir, name);
    if (matches(present, prior) && (prior.type !== 'file' || (present.type === 'file' && present.mode === prior.mode))) {
      return { status: 'unchanged', message: `${change.guestPath} is already as it was before the fix` };
    }
    if (!matches(present, change.after)) {
      return { status: 'left', message: `${change.guestPath} was changed after the fix; left as it is` };
    }
    switch (prior.type) {
      case 'absent':
        await unlink(dir.at(name));
        return { status: 'restored', message: `removed ${change.guestPath} (it did not exist before)` };
      case 'symlink':
        await symlinkIn(dir, name, prior.target);
        return { status: 'restored', message: `restored the symlink ${change.guestPath} -> ${prior.target}` };
      case 'file': {
        const bytes = await readFile(path.join(entryDir, path.basename(prior.backup)));
        if (sha256(bytes) !== prior.sha256)
          return { status: 'failed', message: `the backup of ${change.guestPath} is damaged; not restored` };
        await writeFileIn(dir, name, bytes, prior.mode, { uid: prior.uid, gid: prior.gid });
        return {
          status: 'restored',
          message: `restored ${change.guestPath} (${bytes.length} bytes, mode ${prior.mode.toString(8)}, owner ${prior.uid}:${prior.gid})`,
        };
      }
      case 'dir':
        return { status: 'failed', message: `${change.guestPath} was a directory; cannot restore it from a file backup` };
    }
  } finally {
    await dir.close();
  }
}

/** Removes a directory the fix created, or puts back its mode and owner. */
async function restoreDir(fileRoot: string, change: PathChange): Promise<Omit<UndoItem, 'op' | 'fixId' | 'subject'>> {
  const dir = await openGuestDir(fileRoot, path.posix.dirname(change.guestPath), { create: false });
  try {
    const name = path.posix.basename(change.guestPath);
    const present = await presentAt(dir, name);
    if (change.prior.type === 'absent') {
      if (present.type === 'absent') return { status: 'unchanged', message: `${change.guestPath} is already gone` };
      if (present.type !== 'dir') return { status: 'left', message: `${change.guestPath} is no longer a directory; left as it is` };
      try {
        await rmdir(dir.at(name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY')
          return { status: 'left', message: `${change.guestPath} is not empty any more; left as it is` };
        throw error;
      }
      return { status: 'restored', message: `removed the directory ${change.guestPath} (it did not exist before)` };
    }
    if (change.prior.type !== 'dir' || present.type !== 'dir')
      return { status: 'left', message: `${change.guestPath} is no longer a directory; left as it is` };
    const { mode, uid, gid } = change.prior;
    await setDirAttrs(dir, name, { mode, uid, gid });
    return { status: 'restored', message: `put back mode ${mode.toString(8)} and owner ${uid}:${gid} on ${change.guestPath}` };
  } finally {
    await dir.close();
  }
}

/** Runs an undo command where its step ran (the host or the guest); injected, so undo needs no host module. */
export interface UndoRunner {
  host(argv: string[], timeoutMs: number): Promise<ExecResult>;
  guest(argv: string[], timeoutMs: number): Promise<ExecResult>;
}

const UNDO_TIMEOUT_MS = 60_000;

/** A command step: its recorded undo command run, or listed as not undoable with the reason the step gave. */
async function undoCommand(change: CommandChange, runner: UndoRunner | undefined): Promise<UndoItem> {
  const subject = change.command.join(' ');
  const base = { op: change.op, fixId: change.fixId, subject };
  const interrupted = change.state === 'pending' ? ' (it failed or was interrupted)' : '';
  if (change.op === 'umount')
    return {
      ...base,
      status: 'not-undoable',
      message: `cannot be undone: \`${subject}\` unmounted it; mount it again by hand if it is needed`,
    };
  const undo = change.undo;
  if (undo && 'impossible' in undo)
    return {
      ...base,
      status: 'not-undoable',
      message: `left as it is: \`${subject}\` ran on the ${change.where}${interrupted}; ${undo.impossible}`,
    };
  if (undo && change.state === 'done') {
    if (!runner)
      return {
        ...base,
        status: 'not-undoable',
        message: `not undone: \`${undo.argv.join(' ')}\` would revert it, but no command runner was given`,
      };
    const r = await (change.where === 'guest' ? runner.guest(undo.argv, UNDO_TIMEOUT_MS) : runner.host(undo.argv, UNDO_TIMEOUT_MS));
    if (r.exitCode === 0 && !r.timedOut && r.spawnError === undefined)
      return { ...base, status: 'restored', message: `ran \`${undo.argv.join(' ')}\` on the ${change.where}: ${undo.description}` };
    return { ...base, status: 'failed', message: `undo failed: ${describeExit(undo.argv, r)}` };
  }
  return { ...base, status: 'not-undoable', message: `cannot be undone: \`${subject}\` ran on the ${change.where}${interrupted}` };
}

async function undoChange(fileRoot: string, entryDir: string, change: JournalChange, runner: UndoRunner | undefined): Promise<UndoItem> {
  if ('command' in change) return undoCommand(change, runner);
  const base = { op: change.op, fixId: change.fixId, subject: change.guestPath };
  try {
    const result = change.op === 'mkdir' ? await restoreDir(fileRoot, change) : await restorePath(fileRoot, entryDir, change);
    return { ...base, ...result };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const message =
      error instanceof GuestWriteRefused
        ? `refused: ${e.message}`
        : e.code === 'ENOENT'
          ? `${change.guestPath}: its directory is gone; nothing to restore`
          : `${change.guestPath}: ${e.message.split('\n')[0]}`;
    return { ...base, status: e.code === 'ENOENT' ? 'unchanged' : 'failed', message };
  }
}

/**
 * Removes the temp files of changes a crashed run began and never finished (written under a
 * journalled temp name, not yet renamed into place). Returns the guest paths removed.
 */
export async function removeInterruptedTemps(fileRoot: string, entry: JournalEntry): Promise<string[]> {
  const removed: string[] = [];
  for (const change of entry.changes) {
    if (!('temp' in change) || !change.temp || change.state !== 'pending') continue;
    const dirPath = path.posix.dirname(change.guestPath);
    const dir = await openGuestDir(fileRoot, dirPath, { create: false }).catch(() => null);
    if (!dir) continue;
    try {
      const present = await presentAt(dir, change.temp).catch(() => null);
      if (present?.type === 'file' || present?.type === 'symlink') {
        await unlink(dir.at(change.temp));
        removed.push(path.posix.join(dirPath, change.temp));
      }
    } finally {
      await dir.close();
    }
  }
  return removed;
}

/**
 * Reverts one journal entry, newest change first. A command step whose step recorded an undo
 * command has it run through `runner`; the others (and unmounts) are listed with the reason,
 * never pretended undone.
 */
export async function undoEntry(fileRoot: string, entryDir: string, entry: JournalEntry, runner?: UndoRunner): Promise<UndoItem[]> {
  const items: UndoItem[] = [];
  for (const temp of await removeInterruptedTemps(fileRoot, entry)) {
    items.push({
      op: 'file',
      fixId: '(interrupted run)',
      subject: temp,
      status: 'restored',
      message: `removed ${temp}, the temp file of a change that was interrupted`,
    });
  }
  for (const change of [...entry.changes].reverse()) items.push(await undoChange(fileRoot, entryDir, change, runner));
  return items;
}
