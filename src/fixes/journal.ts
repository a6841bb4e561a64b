import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecUndo, StepWhere } from '../core/types.js';

/** What was at a guest path before a fix changed it. */
export type PriorState =
  | { type: 'absent' }
  | { type: 'file'; backup: string; sha256: string; size: number; mode: number; uid: number; gid: number }
  | { type: 'symlink'; target: string }
  | { type: 'dir'; mode: number; uid: number; gid: number };

/** What a fix left at a guest path, so undo can tell whether someone changed it since. */
export type AfterState = { type: 'file'; sha256: string } | { type: 'symlink'; target: string } | { type: 'dir' };

/** A change to a guest path: a file written, a symlink made, a directory made or re-moded. */
export interface PathChange {
  op: 'file' | 'symlink' | 'mkdir';
  fixId: string;
  step: number;
  guestPath: string;
  prior: PriorState;
  after: AfterState;
  /** The temp name the change is written under before its rename, so a crash's leftover can be removed. */
  temp?: string;
  state: 'pending' | 'done';
}

/** A command that ran: recorded so undo can say it cannot be undone. */
export interface CommandChange {
  op: 'exec' | 'umount';
  fixId: string;
  step: number;
  where: StepWhere;
  command: string[];
  description: string;
  /** How undo reverts it, as the step said: a command, or why nothing can (absent: not undoable, as in older entries). */
  undo?: ExecUndo;
  state: 'pending' | 'done';
}

/** One change recorded before it is made (`pending`), then marked `done`. */
export type JournalChange = PathChange | CommandChange;

/** One `fix` run that changed something: what `undo` reverts. */
export interface JournalEntry {
  version: 1;
  id: string;
  createdAt: string;
  target: { kind: string; name: string; root: string };
  undoneAt: string | null;
  changes: JournalChange[];
}

/** Where a fix run records its changes; the engine calls it before and after each change. */
export interface ChangeLog {
  /** Stores the bytes of a file about to be replaced; returns the backup's name. */
  saveBackup(bytes: Buffer): Promise<string>;
  /** Records a change about to be made (write-ahead); returns its index. */
  begin(change: JournalChange): Promise<number>;
  /** Marks a recorded change as made. */
  finish(index: number): Promise<void>;
}

/**
 * The journal directory: `/var/lib/ctr-doctor` as root, else `$XDG_STATE_HOME/ctr-doctor`
 * or `~/.local/state/ctr-doctor`. `explicit` (the `--state-dir` option) overrides both;
 * `CTR_DOCTOR_STATE_DIR` does only for a non-root user: root never takes a directory to write
 * backups in, and journals to restore from, out of an environment (`sudo -E` passes the caller's).
 */
export function stateDir(env: Record<string, string | undefined>, uid: number | undefined = process.getuid?.(), explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (uid === 0) return '/var/lib/ctr-doctor';
  if (env.CTR_DOCTOR_STATE_DIR) return env.CTR_DOCTOR_STATE_DIR;
  const xdg =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(env.HOME ?? os.homedir(), '.local/state');
  return path.join(xdg, 'ctr-doctor');
}

function keyOf(parts: string[], target: JournalEntry['target']): string {
  const hash = createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
  const label = `${target.kind}-${target.name}`
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 60);
  return `${label}-${hash}`;
}

/**
 * A directory name per target: readable kind and name, plus a hash of both. Not of the root:
 * for nspawn and pid targets that is /proc/PID/root, which changes with every restart.
 */
export function targetKey(target: JournalEntry['target']): string {
  return keyOf([target.kind, target.name], target);
}

/** The key journals had before they were keyed by kind and name (read, never written). */
function legacyTargetKey(target: JournalEntry['target']): string {
  return keyOf([target.kind, target.name, target.root], target);
}

/** Flushes a directory's entries (a rename or a new file in it) to disk. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a file atomically and durably: a temp file beside it, fsync, rename, fsync of the directory. */
async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncDir(path.dirname(file));
}

/** Another run holds the journal of this target. */
export class JournalBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalBusyError';
  }
}

/** The start time of process `pid` (field 22 of /proc/PID/stat), or null when it is gone. */
async function startTimeOf(pid: number): Promise<string | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

/** The sequence number of an entry directory name (`000042-…`); 0 for names from before numbering. */
function seqOf(name: string): number {
  const match = /^(\d{6,})-/.exec(name);
  return match && !/^\d{8}T/.test(name) ? Number(match[1]) : 0;
}

/** The journal of one target: its entries, newest last. */
export class TargetJournal {
  readonly dir: string;
  private readonly legacyDir: string;

  constructor(
    base: string,
    readonly target: JournalEntry['target'],
  ) {
    this.dir = path.join(base, 'journal', targetKey(target));
    this.legacyDir = path.join(base, 'journal', legacyTargetKey(target));
  }

  /**
   * Takes the lock of this target's journal for one run (`fix` or `undo`): a second run waits for
   * nothing and fails with one line. A lock left by a run that died is taken over. Also removes the
   * temp files a crashed run left in the journal. Returns the release.
   */
  async lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, '.lock');
    const mine = `${process.pid} ${await startTimeOf(process.pid)}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          await handle.writeFile(mine);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await this.removeCrashTemps();
        return async () => {
          const now = await readFile(file, 'utf8').catch(() => null);
          if (now === mine) await unlink(file).catch(() => undefined);
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = (await readFile(file, 'utf8').catch(() => '')).trim().split(' ');
      const pid = Number(held[0]);
      if (Number.isInteger(pid) && pid > 0 && (await startTimeOf(pid)) === held[1]) {
        throw new JournalBusyError(
          `another ctr-doctor run (pid ${pid}) is changing ${this.target.kind} ${this.target.name}; wait for it to finish (lock ${file})`,
        );
      }
      // The run that held it is gone: its lock is stale.
      await unlink(file).catch(() => undefined);
    }
    throw new JournalBusyError(`cannot take the journal lock ${file}`);
  }

  private async removeCrashTemps(): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = path.join(this.dir, name);
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        if (file.endsWith('.tmp')) await unlink(path.join(dir, file)).catch(() => undefined);
      }
    }
  }

  /** Entries, oldest first (by sequence number, then time); unreadable ones are skipped. */
  async entries(): Promise<{ dir: string; entry: JournalEntry }[]> {
    const out: { dir: string; entry: JournalEntry; seq: number }[] = [];
    for (const base of [this.legacyDir, this.dir]) {
      const names = (await readdir(base).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
      for (const name of names) {
        const dir = path.join(base, name);
        const text = await readFile(path.join(dir, 'journal.json'), 'utf8').catch(() => null);
        if (text === null) continue;
        try {
          const entry = JSON.parse(text) as JournalEntry;
          const read = entry as { version?: unknown; changes?: unknown };
          if (read.version === 1 && Array.isArray(read.changes)) out.push({ dir, entry, seq: seqOf(name) });
        } catch {
          // A half-written entry cannot be trusted for undo.
        }
      }
    }
    out.sort((a, b) => a.seq - b.seq || a.entry.createdAt.localeCompare(b.entry.createdAt) || a.dir.localeCompare(b.dir));
    return out.map(({ dir, entry }) => ({ dir, entry }));
  }

  /** The newest entry not yet undone, or null. */
  async latest(): Promise<{ dir: string; entry: JournalEntry } | null> {
    return (await this.entries()).filter((e) => e.entry.undoneAt === null).pop() ?? null;
  }

  /** Saves an entry's new state atomically and durably. */
  async save(dir: string, entry: JournalEntry): Promise<void> {
    await writeAtomic(path.join(dir, 'journal.json'), JSON.stringify(entry, null, 2) + '\n');
  }

  /** The next entry's sequence number: one more than any so far (a clock set back cannot reorder runs). */
  async nextSeq(): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.reduce((max, n) => Math.max(max, seqOf(n)), 0) + 1;
  }

  /** A change log for a new run; its entry directory is made (and numbered) on the first change only. */
  startEntry(now = new Date()): EntryRecorder {
    const stamp = `${now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    return new EntryRecorder(this, stamp, {
      version: 1,
      id: stamp,
      createdAt: now.toISOString(),
      target: this.target,
      undoneAt: null,
      changes: [],
    });
  }
}

/** Records one run's changes; nothing is written until there is a change. */
export class EntryRecorder implements ChangeLog {
  private made = false;
  private backups = 0;
  private entryDir: string | null = null;

  constructor(
    private readonly journal: TargetJournal,
    private readonly stamp: string,
    readonly entry: JournalEntry,
  ) {}

  /** True once at least one change was recorded. */
  get used(): boolean {
    return this.made;
  }

  /** The entry's directory (known once the first change is recorded). */
  get dir(): string {
    return this.entryDir ?? path.join(this.journal.dir, `(unnumbered)-${this.stamp}`);
  }

  private async ensureDir(): Promise<void> {
    if (this.made) return;
    const seq = await this.journal.nextSeq();
    this.entry.id = `${String(seq).padStart(6, '0')}-${this.stamp}`;
    this.entryDir = path.join(this.journal.dir, this.entry.id);
    await mkdir(this.entryDir, { recursive: true, mode: 0o700 });
    this.made = true;
    await this.journal.save(this.entryDir, this.entry);
    await syncDir(this.journal.dir);
  }

  async saveBackup(bytes: Buffer): Promise<string> {
    await this.ensureDir();
    const name = `backup-${this.backups++}`;
    await writeAtomic(path.join(this.dir, name), bytes);
    return name;
  }

  async begin(change: JournalChange): Promise<number> {
    await this.ensureDir();
    this.entry.changes.push(change);
    await this.journal.save(this.dir, this.entry);
    return this.entry.changes.length - 1;
  }

  async finish(index: number): Promise<void> {
    const change = this.entry.changes[index];
    if (change) change.state = 'done';
    await this.journal.save(this.dir, this.entry);
  }
}
