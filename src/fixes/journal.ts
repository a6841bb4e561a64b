import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StepWhere } from '../core/types.js';

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
 * or `~/.local/state/ctr-doctor`. `CTR_DOCTOR_STATE_DIR` overrides both (tests, the demo).
 */
export function stateDir(env: Record<string, string | undefined>, uid: number | undefined = process.getuid?.()): string {
  if (env.CTR_DOCTOR_STATE_DIR) return env.CTR_DOCTOR_STATE_DIR;
  if (uid === 0) return '/var/lib/ctr-doctor';
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(env.HOME ?? os.homedir(), '.local/state');
  return path.join(xdg, 'ctr-doctor');
}

/** A directory name per target: readable kind and name, plus a hash of kind, name and root. */
export function targetKey(target: JournalEntry['target']): string {
  const hash = createHash('sha256').update(`${target.kind}\0${target.name}\0${target.root}`).digest('hex').slice(0, 16);
  const label = `${target.kind}-${target.name}`.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 60);
  return `${label}-${hash}`;
}

/** Writes a file atomically: a temp file beside it, then rename. */
async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
  await rename(tmp, file);
}

/** The journal of one target: its entries, newest last. */
export class TargetJournal {
  readonly dir: string;

  constructor(base: string, readonly target: JournalEntry['target']) {
    this.dir = path.join(base, 'journal', targetKey(target));
  }

  /** Entries, oldest first; unreadable ones are skipped. */
  async entries(): Promise<{ dir: string; entry: JournalEntry }[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
    const out: { dir: string; entry: JournalEntry }[] = [];
    for (const name of names) {
      const dir = path.join(this.dir, name);
      const text = await readFile(path.join(dir, 'journal.json'), 'utf8').catch(() => null);
      if (text === null) continue;
      try {
        const entry = JSON.parse(text) as JournalEntry;
        if (entry.version === 1 && Array.isArray(entry.changes)) out.push({ dir, entry });
      } catch {
        // A half-written entry cannot be trusted for undo.
      }
    }
    return out;
  }

  /** The newest entry not yet undone, or null. */
  async latest(): Promise<{ dir: string; entry: JournalEntry } | null> {
    return (await this.entries()).filter((e) => e.entry.undoneAt === null).pop() ?? null;
  }

  /** Saves an entry's new state atomically. */
  async save(dir: string, entry: JournalEntry): Promise<void> {
    await writeAtomic(path.join(dir, 'journal.json'), JSON.stringify(entry, null, 2) + '\n');
  }

  /** A change log for a new run; its entry directory is made on the first change only. */
  startEntry(now = new Date()): EntryRecorder {
    const id = `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    return new EntryRecorder(this, path.join(this.dir, id), { version: 1, id, createdAt: now.toISOString(), target: this.target, undoneAt: null, changes: [] });
  }
}

/** Records one run's changes; nothing is written until there is a change. */
export class EntryRecorder implements ChangeLog {
  private made = false;
  private backups = 0;

  constructor(private readonly journal: TargetJournal, readonly dir: string, readonly entry: JournalEntry) {}

  /** True once at least one change was recorded. */
  get used(): boolean {
    return this.made;
  }

  private async ensureDir(): Promise<void> {
    if (this.made) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.made = true;
    await this.journal.save(this.dir, this.entry);
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
