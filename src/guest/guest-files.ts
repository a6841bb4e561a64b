import { open, stat as fsStat, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { hostPathOf } from './walk-steps.js';
import { O_PATH, runStepsAsync } from './walk-in-root.js';
import { fileOpSteps, withText, type Failure, type FileOp, type RawRead, type Resolved } from './guest-file-ops.js';
import { askOrHere, endGuestFilesPass } from './guest-files-client.js';
import type { GuestRead, GuestStat } from '../core/target.js';
import { timing } from '../core/timing.js';

/** Reads are capped so a 1 GB file or /dev/zero cannot exhaust memory. */
export const DEFAULT_READ_CAP = 1024 * 1024;

/** A read bigger than this is not kept by a pass: several checks reading one huge guest file must not multiply the CLI's memory. */
const MEMO_MAX_BYTES = 64 * 1024;

/** Passes of this run, numbered: the guest-files server keeps a pass's directories by its number (never a descriptor's, which is reused). */
let lastPassId = 0;

/**
 * One diagnosis pass over a guest root: the root held open (one open for all of the pass's walks,
 * and the same directory for all of them) and what was read in it, by the path as the walk sees it.
 * Several checks read the same /etc/passwd, nsswitch.conf, hosts or os-release: once per pass.
 */
class ReadPass {
  readonly memo = new Map<string, Promise<unknown>>();
  readonly id = ++lastPassId;
  /** Walks using the held root now: it is closed only when none is left (a descriptor number must never be reused under a walk). */
  private users = 0;
  private ended = false;
  private handle: Promise<FileHandle | null> | null = null;
  /** Diagnoses sharing this pass (two targets on one root in `check --all`). */
  refs = 1;
  /** Walks made, and answers shared instead (NODE_DEBUG=ctr-doctor). */
  walks = 0;
  shared = 0;

  constructor(private readonly root: string) {}

  /** The held root for one walk (released with {@link release}); null: the walk opens the root itself. */
  async acquire(): Promise<FileHandle | null> {
    if (this.ended) return null;
    this.users++;
    this.handle ??= open(this.root, O_PATH | constants.O_DIRECTORY).catch(() => null);
    const h = await this.handle;
    if (h === null) this.release();
    return h;
  }

  release(): void {
    this.users--;
    if (this.ended && this.users === 0) void this.closeHandle();
  }

  end(): void {
    this.ended = true;
    this.memo.clear();
    if (this.users === 0) void this.closeHandle();
  }

  private async closeHandle(): Promise<void> {
    const h = await this.handle;
    this.handle = null;
    if (h === null) return;
    // No walk of this pass is left anywhere: the server lets go of what it holds for it before the number is reused.
    endGuestFilesPass(this.id);
    await h.close().catch(() => undefined);
  }
}

/** The pass open on each guest root (by the host path of the root), see {@link beginReadPass}. */
const passes = new Map<string, ReadPass>();

/**
 * Starts a diagnosis pass over the guest files under `root` (the host path GuestFiles is given):
 * until the returned function is called, every read, stat, readlink and readdir of one guest path
 * is made once and its answer shared, and every walk starts from one held handle on the root.
 * A fix loop ends its pass before it applies anything, so that the diagnosis after it reads afresh.
 */
export function beginReadPass(root: string): () => void {
  const existing = passes.get(root);
  if (existing) existing.refs++;
  const pass = existing ?? new ReadPass(root);
  passes.set(root, pass);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--pass.refs > 0) return;
    timing(`guest files of ${root}: ${pass.walks} walked, ${pass.shared} answered from the pass`);
    pass.end();
    if (passes.get(root) === pass) passes.delete(root);
  };
}

/** The path as the walk reads it ('.' and empty components dropped, `..` kept: it depends on the symlinks walked). */
function memoKey(kind: string, guestPath: string, extra: string | number | boolean): string {
  return `${kind}\0${String(extra)}\0/${guestPath
    .split('/')
    .filter((c) => c !== '' && c !== '.')
    .join('/')}`;
}

/** File access inside one guest root. Every path is walked inside the root, and used through the handle the walk found. */
export class GuestFiles {
  constructor(readonly root: string) {}

  /**
   * `op` once per pass for `key` (a fresh one outside a pass), walked from the pass's held root:
   * in the guest-files server when it is in use (check --all), else here; `keep`: whether the
   * answer may be shared.
   */
  private async inPass<T>(
    key: string,
    op: FileOp,
    keep: (value: T) => boolean,
    copy: (value: T) => T,
    shape: (answer: unknown) => T = (answer) => answer as T,
  ): Promise<T> {
    const pass = passes.get(this.root);
    if (!pass) return shape(await this.outsidePass(op));
    const memo = pass.memo.get(key) as Promise<T> | undefined;
    if (memo) {
      pass.shared++;
      return copy(await memo);
    }
    pass.walks++;
    const reading = (async () => {
      const handle = await pass.acquire();
      if (handle === null) return shape(await this.outsidePass(op));
      let released = false;
      // The held root stays open until the server is done with its number (or is dead): see ReadPass.acquire.
      const release = (): void => {
        if (released) return;
        released = true;
        pass.release();
      };
      const walkRoot = `/proc/${process.pid}/fd/${handle.fd}`;
      return shape(await askOrHere(op, walkRoot, this.root, () => this.runHere(op, handle), release, pass.id));
    })();
    pass.memo.set(key, reading);
    const value = await reading;
    if (!keep(value) && pass.memo.get(key) === reading) pass.memo.delete(key);
    return copy(value);
  }

  /** `op` outside a pass (opening a target): walked from the root itself, in the server when it is in use. */
  private outsidePass(op: FileOp): Promise<unknown> {
    return askOrHere(op, this.root, this.root, () => this.runHere(op, undefined));
  }

  /** Runs `op` on this thread, with the promise fs API. */
  private runHere(op: FileOp, rootHandle: FileHandle | undefined): Promise<unknown> {
    return runStepsAsync(fileOpSteps<FileHandle>(op, this.root, this.root, rootHandle));
  }

  stat(guestPath: string, opts: { followLast?: boolean } = {}): Promise<GuestStat | Failure> {
    const followLast = opts.followLast ?? true;
    return this.inPass(
      memoKey('stat', guestPath, followLast),
      { op: 'stat', guestPath, followLast },
      () => true,
      (v: GuestStat | Failure) => ({ ...v }),
    );
  }

  readFile(guestPath: string, opts: { maxBytes?: number } = {}): Promise<GuestRead> {
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_CAP;
    return this.inPass(
      memoKey('read', guestPath, maxBytes),
      { op: 'read', guestPath, maxBytes },
      (r: GuestRead) => !r.ok || r.bytes.length <= MEMO_MAX_BYTES,
      (r) => (r.ok ? { ...r, stat: { ...r.stat } } : { ...r }),
      (answer) => withText(answer as RawRead),
    );
  }

  readlink(guestPath: string): Promise<string | null> {
    return this.inPass(
      memoKey('readlink', guestPath, ''),
      { op: 'readlink', guestPath },
      () => true,
      (v: string | null) => v,
    );
  }

  readdir(guestPath: string): Promise<string[] | null> {
    return this.inPass(
      memoKey('readdir', guestPath, ''),
      { op: 'readdir', guestPath },
      (v: string[] | null) => v === null || v.length <= 4096,
      (v) => (v === null ? null : [...v]),
    );
  }

  /** Where `guestPath` leads, every symlink followed (a socket a probe is to reach): its guest path, or why it cannot be walked. */
  resolve(guestPath: string): Promise<Resolved> {
    return this.inPass(
      memoKey('resolve', guestPath, ''),
      { op: 'resolve', guestPath },
      () => true,
      (v: Resolved) => ({ ...v }),
    );
  }

  /** True when the root itself is still there (a vanished process makes /proc/PID/root fail). */
  async rootExists(): Promise<boolean> {
    return fsStat(hostPathOf(this.root, '/')).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }
}
