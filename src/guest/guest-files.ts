import { open, readdir as fsReaddir, readlink as fsReadlink, stat as fsStat, type FileHandle } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { hostPathOf } from './in-root.js';
import { InRootError, O_PATH, atFd, readRegularCapped, viaFd, withWalk, type WalkedPath } from './walk-in-root.js';
import type { GuestPathError, GuestRead, GuestStat } from '../core/target.js';
import { timing } from '../core/timing.js';

/** Reads are capped so a 1 GB file or /dev/zero cannot exhaust memory. */
export const DEFAULT_READ_CAP = 1024 * 1024;

function typeOf(stats: Stats): GuestStat['type'] {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  return 'unknown';
}

function toGuestStat(guestPath: string, hostPath: string, stats: Stats): GuestStat {
  return {
    guestPath,
    hostPath,
    type: typeOf(stats),
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    dev: stats.dev,
    ino: stats.ino,
  };
}

type Failure = { error: GuestPathError; message: string };

function failureOf(error: unknown, guestPath: string): Failure {
  if (error instanceof InRootError) {
    const map: Record<InRootError['reason'], GuestPathError> = {
      'symlink-loop': 'symlink-loop',
      'not-a-directory': 'missing',
      permission: 'permission',
      io: 'io',
    };
    return { error: map[error.reason], message: error.message };
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return { error: 'permission', message: `${guestPath}: permission denied` };
  if (code === 'ENOENT') return { error: 'missing', message: `${guestPath}: no such file` };
  return { error: 'io', message: `${guestPath}: ${(error as Error).message}` };
}

/** A read bigger than this is not kept by a pass: several checks reading one huge guest file must not multiply the CLI's memory. */
const MEMO_MAX_BYTES = 64 * 1024;

/**
 * One diagnosis pass over a guest root: the root held open (one open for all of the pass's walks,
 * and the same directory for all of them) and what was read in it, by the path as the walk sees it.
 * Several checks read the same /etc/passwd, nsswitch.conf, hosts or os-release: once per pass.
 */
class ReadPass {
  readonly memo = new Map<string, Promise<unknown>>();
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
    await h?.close().catch(() => undefined);
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

  /** `read()` once per pass for `key` (a fresh read outside a pass), with the pass's held root; `keep`: whether the answer may be shared. */
  private async inPass<T>(
    key: string,
    read: (rootHandle: FileHandle | undefined) => Promise<T>,
    keep: (value: T) => boolean,
    copy: (value: T) => T,
  ): Promise<T> {
    const pass = passes.get(this.root);
    if (!pass) return read(undefined);
    const memo = pass.memo.get(key) as Promise<T> | undefined;
    if (memo) {
      pass.shared++;
      return copy(await memo);
    }
    pass.walks++;
    const reading = (async () => {
      const handle = await pass.acquire();
      try {
        return await read(handle ?? undefined);
      } finally {
        if (handle) pass.release();
      }
    })();
    pass.memo.set(key, reading);
    const value = await reading;
    if (!keep(value) && pass.memo.get(key) === reading) pass.memo.delete(key);
    return copy(value);
  }

  stat(guestPath: string, opts: { followLast?: boolean } = {}): Promise<GuestStat | Failure> {
    return this.inPass(
      memoKey('stat', guestPath, opts.followLast ?? true),
      (rootHandle) => this.statNow(guestPath, { ...opts, rootHandle }),
      () => true,
      (v) => ({ ...v }),
    );
  }

  readFile(guestPath: string, opts: { maxBytes?: number } = {}): Promise<GuestRead> {
    const maxBytes = opts.maxBytes ?? DEFAULT_READ_CAP;
    return this.inPass(
      memoKey('read', guestPath, maxBytes),
      (rootHandle) => this.readFileNow(guestPath, maxBytes, rootHandle),
      (r) => !r.ok || r.bytes.length <= MEMO_MAX_BYTES,
      (r) => (r.ok ? { ...r, stat: { ...r.stat } } : { ...r }),
    );
  }

  readlink(guestPath: string): Promise<string | null> {
    return this.inPass(
      memoKey('readlink', guestPath, ''),
      (rootHandle) => this.readlinkNow(guestPath, rootHandle),
      () => true,
      (v) => v,
    );
  }

  readdir(guestPath: string): Promise<string[] | null> {
    return this.inPass(
      memoKey('readdir', guestPath, ''),
      (rootHandle) => this.readdirNow(guestPath, rootHandle),
      (v) => v === null || v.length <= 4096,
      (v) => (v === null ? null : [...v]),
    );
  }

  private async statNow(guestPath: string, opts: { followLast?: boolean; rootHandle?: FileHandle }): Promise<GuestStat | Failure> {
    try {
      return await withWalk(
        this.root,
        guestPath,
        opts,
        async (walked) => found(guestPath, walked) ?? toGuestStat(walked.guestPath, hostPathOf(this.root, walked.guestPath), walked.stats!),
      );
    } catch (error) {
      return failureOf(error, guestPath);
    }
  }

  private async readFileNow(guestPath: string, maxBytes: number, rootHandle: FileHandle | undefined): Promise<GuestRead> {
    try {
      return await withWalk(this.root, guestPath, { rootHandle }, async (walked): Promise<GuestRead> => {
        const missing = found(guestPath, walked);
        if (missing) return { ok: false, reason: missing.error, message: missing.message };
        const type = typeOf(walked.stats!);
        if (type !== 'file') return { ok: false, reason: 'not-a-file', message: `${guestPath} is a ${type}, not a regular file` };
        // Read through the handle the walk found: a parent swapped for a symlink meanwhile cannot lead out.
        const read = await readRegularCapped(walked.handle!, maxBytes, walked.stats!);
        if (read === null) return { ok: false, reason: 'not-a-file', message: `${guestPath} is not a regular file` };
        const { bytes, truncated, stats } = read;
        return {
          ok: true,
          bytes,
          text: bytes.toString('utf8'),
          truncated,
          stat: toGuestStat(walked.guestPath, hostPathOf(this.root, walked.guestPath), stats),
        };
      });
    } catch (error) {
      const failure = failureOf(error, guestPath);
      return { ok: false, reason: failure.error, message: failure.message };
    }
  }

  private async readlinkNow(guestPath: string, rootHandle: FileHandle | undefined): Promise<string | null> {
    try {
      return await withWalk(this.root, guestPath, { followLast: false, rootHandle }, async (walked) => {
        if (!walked.stats?.isSymbolicLink() || !walked.parent) return null;
        return fsReadlink(atFd(walked.parent, walked.name));
      });
    } catch {
      return null;
    }
  }

  private async readdirNow(guestPath: string, rootHandle: FileHandle | undefined): Promise<string[] | null> {
    try {
      return await withWalk(this.root, guestPath, { rootHandle }, async (walked) => {
        if (!walked.stats?.isDirectory() || !walked.handle) return null;
        return (await fsReaddir(viaFd(walked.handle))).sort();
      });
    } catch {
      return null;
    }
  }

  /** True when the root itself is still there (a vanished process makes /proc/PID/root fail). */
  async rootExists(): Promise<boolean> {
    return fsStat(hostPathOf(this.root, '/')).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }
}

/** Why nothing was found at `guestPath`, or null when the walk found something. */
function found(guestPath: string, walked: WalkedPath): Failure | null {
  if (walked.stats !== null) return null;
  const dangling = walked.symlinks.length > 0;
  return {
    error: dangling ? 'dangling-symlink' : 'missing',
    message: dangling
      ? `${guestPath} is a symlink to ${walked.guestPath}, which does not exist in the guest`
      : `${guestPath} does not exist in the guest`,
  };
}
