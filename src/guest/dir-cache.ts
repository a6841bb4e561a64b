/**
 * A pass's cache of walk steps (issue 14): `check --all` walks the same /etc, /usr/lib and /run/user
 * of a guest dozens of times, and each walk re-opened every directory on its way. A DirCache keeps,
 * for one pass over one root, the O_PATH directory handles those walks opened and the symlinks they
 * read, keyed by (the handle of the directory they sit in, their name), so that a later walk of the
 * same pass takes the step without a system call. A cached directory is only ever reached by a walk
 * step from the pass's root or from another cached directory, its handle stays open until the pass
 * ends (so its number or object can never stand for another directory meanwhile), and the cache is
 * bounded: past its size a walk holds and closes its own handles as before.
 */

/** What a cached directory holds under one name: a directory's handle kept for the pass, or a symlink's target. */
export type CachedStep<H> = { dir: H } | { link: string };

/** Cached entries a pass may keep (each directory entry holds one descriptor). */
export const PASS_CACHE_ENTRIES = 256;

/** Descriptors that several passes' caches share (a process serving many guests at once stays far from its file limit). */
export class HandleBudget {
  constructor(public left: number) {}
}

/** One pass's cached walk steps inside the root held by `root` (not owned: the pass closes it). */
export class DirCache<H> {
  private readonly steps = new Map<H, Map<string, CachedStep<H>>>();
  private entries = 0;
  private ended = false;

  constructor(
    readonly root: H,
    private readonly maxEntries = PASS_CACHE_ENTRIES,
    private readonly budget: HandleBudget | null = null,
  ) {
    this.steps.set(root, new Map());
  }

  /** The cached step from the directory `dir` to `name`, if any. */
  lookup(dir: H, name: string): CachedStep<H> | undefined {
    return this.steps.get(dir)?.get(name);
  }

  /** Whether `handle` is the root or a directory this cache keeps (a walk must not close it). */
  owns(handle: H): boolean {
    return this.steps.has(handle);
  }

  /**
   * Keeps the directory `handle`, reached from `dir` by `name`, for the rest of the pass; false
   * when it does not (full, ended, or `dir` not the root or a cached directory): the caller then
   * holds and closes it as any other.
   */
  keepDir(dir: H, name: string, handle: H): boolean {
    const inDir = this.room(dir, name);
    if (inDir === null || this.steps.has(handle) || (this.budget !== null && this.budget.left <= 0)) return false;
    if (this.budget !== null) this.budget.left--;
    this.entries++;
    inDir.set(name, { dir: handle });
    this.steps.set(handle, new Map());
    return true;
  }

  /** Remembers that `name` in the cached directory `dir` is a symlink to `target` (when there is room). */
  keepLink(dir: H, name: string, target: string): void {
    const inDir = this.room(dir, name);
    if (inDir === null) return;
    this.entries++;
    inDir.set(name, { link: target });
  }

  /** Entries kept (directories and symlinks). */
  get size(): number {
    return this.entries;
  }

  /** Ends the cache: nothing more is kept or found, and every directory handle it kept (not the root) is handed back, to be closed. */
  end(): H[] {
    this.ended = true;
    const handles: H[] = [];
    for (const inDir of this.steps.values()) for (const step of inDir.values()) if ('dir' in step) handles.push(step.dir);
    this.steps.clear();
    if (this.budget !== null) this.budget.left += handles.length;
    this.entries = 0;
    return handles;
  }

  private room(dir: H, name: string): Map<string, CachedStep<H>> | null {
    if (this.ended || this.entries >= this.maxEntries) return null;
    const inDir = this.steps.get(dir);
    return inDir === undefined || inDir.has(name) ? null : inDir;
  }
}
