/**
 * A guest root as the probe child walks it for one request (issue 14): the root is a descriptor
 * the child holds for its whole life (opened as root before any privilege was dropped), so no walk
 * opens it again, and the directories and symlinks one request's walks take are cached for that
 * request only (api-fs walks a dozen paths under /dev and /proc). Nothing outlives the request:
 * the next one, a later pass's included (the fix loop's diagnosis after a fix), walks afresh, and no
 * directory of the guest stays held between requests (an unmount fix would find it busy).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { DirCache } from './dir-cache.js';
import { fileOpSteps, type RawRead } from './guest-file-ops.js';
import { runStepsFd, type WalkedPath } from './walk-in-root.js';
import { O_PATH, closeAll, walkSteps } from './walk-steps.js';

/** Steps one request may keep (its walks share a few directories: /dev, /proc, /run/user/UID). */
const REQUEST_CACHE_ENTRIES = 64;

/** One request's view of a held guest root; {@link end} it when the request is answered. */
export class ProbeRoot {
  private readonly cache: DirCache<number>;
  /** Walks not closed yet: the cached directories stay open until none is left (their numbers must not be reused under them). */
  private open = 0;
  private ended = false;
  private released = false;
  /** The walk going on: walks take turns, so that each finds the directories the one before kept (api-fs starts a dozen at once). */
  private turn: Promise<unknown> = Promise.resolve();

  /** `fd`: the held root (not closed here unless `ownsRoot`). */
  constructor(
    readonly fd: number,
    private readonly ownsRoot = false,
  ) {
    this.cache = new DirCache(fd, REQUEST_CACHE_ENTRIES);
  }

  /** A root of its own for the directory `dir` (followed: chosen by the caller), closed by {@link end}. */
  static at(dir: string): ProbeRoot {
    return new ProbeRoot(openSync(dir, O_PATH | constants.O_DIRECTORY), true);
  }

  /** Walks `guestPath` inside the root (see walkSteps: O_NOFOLLOW at every step, symlinks walked again inside it). Close it when done. */
  async walk(guestPath: string, opts: { followLast?: boolean } = {}): Promise<WalkedPath<number>> {
    this.open++;
    let walked;
    try {
      walked = await this.inTurn(() => runStepsFd(walkSteps<number>('', guestPath, { ...opts, rootHandle: this.fd, cache: this.cache })));
    } catch (error) {
      this.closed();
      throw error;
    }
    const { held, ...found } = walked;
    let closed = false;
    return {
      ...found,
      close: async () => {
        if (closed) return;
        closed = true;
        await runStepsFd(closeAll(held));
        this.closed();
      },
    };
  }

  /** Reads the regular file at `guestPath` (at most `maxBytes`), walked inside the root and read through the handle found. */
  async read(guestPath: string, maxBytes: number): Promise<RawRead> {
    this.open++;
    try {
      return (await runStepsFd(fileOpSteps<number>({ op: 'read', guestPath, maxBytes }, '', '', this.fd, this.cache))) as RawRead;
    } finally {
      this.closed();
    }
  }

  /** Runs `walk` after the walks asked before it (whatever they came to). */
  private inTurn<T>(walk: () => Promise<T>): Promise<T> {
    const mine = this.turn.then(walk, walk);
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  /** The request is answered: its cached directories are closed (once its last walk is). */
  end(): void {
    this.ended = true;
    if (this.open === 0) this.release();
  }

  private closed(): void {
    this.open--;
    if (this.ended && this.open === 0) this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    // O_PATH descriptors: closing one does no I/O (no flush, whatever the file system), so it cannot block.
    for (const fd of [...this.cache.end(), ...(this.ownsRoot ? [this.fd] : [])]) {
      try {
        closeSync(fd);
      } catch {
        // Only looked through.
      }
    }
  }
}
