/** What is tracked of a child: a ChildProcess, or a command the host spawner started for us (same shape). */
export interface TrackedChild {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
  ref(): void;
  once(event: 'exit' | 'error', listener: () => void): unknown;
}

/**
 * The children one run started (a guest's commands and probes: its Target's), for that run's end
 * to kill what a timed-out check left. Passed explicitly, not kept in an AsyncLocalStorage: on
 * Node 20 that turns on promise hooks for the whole process, and every promise of every guest of
 * `check --all` paid for them (some 8% of the CLI's CPU).
 */
export type ChildScope = Set<TrackedChild>;

/** A new, empty {@link ChildScope}. */
export function newChildScope(): ChildScope {
  return new Set();
}

/**
 * Child processes started on behalf of checks (guest commands, probes) that have not exited.
 * A check cut off by its timeout leaves its children running; they would keep the run alive
 * past `--timeout`, so the runner kills whatever its run left once every check has an outcome.
 * Runs may overlap (`check --all` probes guests concurrently): each run kills only its own.
 */
const live = new Map<TrackedChild, { group: boolean }>();
/** Killed but not yet reaped: waited for by {@link endLiveChildren}. */
const dying = new Set<TrackedChild>();

/**
 * Remembers `child` until it exits; `group`: it leads its own process group, killed whole;
 * `scope`: the run it belongs to (see {@link killLiveChildren}). Without one (`unscoped` says so
 * outright) it serves several runs (the host spawner, a probe child shared by `check --all`'s guests,
 * a shared host scan's command): no overlapping run ends it, only {@link endLiveChildren}. Returns it.
 */
export function trackChild<T extends TrackedChild>(
  child: T,
  opts: { group?: boolean; scope?: ChildScope | undefined; unscoped?: true } = {},
): T {
  if (child.exitCode !== null || child.signalCode !== null) return child;
  live.set(child, { group: opts.group ?? false });
  const scope = opts.unscoped ? undefined : opts.scope;
  scope?.add(child);
  const forget = (): void => {
    live.delete(child);
    dying.delete(child);
    scope?.delete(child);
  };
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}

let overlapping = false;

/**
 * Runs of this process may overlap from now on (`check --all`): the end of one then kills only the
 * children of its own scope (see {@link killLiveChildren}); one run at a time kills whatever is left.
 */
export function letRunsOverlap(): void {
  overlapping = true;
}

/** How many tracked children are still running. */
export function liveChildCount(): number {
  return live.size;
}

/**
 * SIGKILLs the tracked children still running (they belong to checks that already timed out),
 * with its group when it leads one. A run's end passes its scope (null: it has none): once runs
 * overlap, only that scope's children are killed (none for null); one run at a time, or with no
 * argument at all (the CLI's end), all of them.
 */
export function killLiveChildren(scope?: ChildScope | null): number {
  const own = scope !== undefined && overlapping;
  let killed = 0;
  for (const child of own ? [...(scope ?? [])] : [...live.keys()]) {
    const group = live.get(child)?.group ?? false;
    live.delete(child);
    scope?.delete(child);
    dying.add(child);
    try {
      if (group && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGKILL');
        killed++;
      } else if (child.kill('SIGKILL')) killed++;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** Resolves once `child` has exited, or at once if it already has; a child that never started emits only 'error'. */
export function childExited(child: Pick<TrackedChild, 'exitCode' | 'signalCode' | 'once'>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once('exit', resolve);
    child.once('error', resolve);
  });
}

/**
 * Kills every child still running and waits until each has exited (at most `limitMs`), so that
 * nothing of ours outlives the CLI, not even for a moment.
 */
export async function endLiveChildren(limitMs = 2000): Promise<void> {
  const children = [...live.keys(), ...dying];
  const exited = children.map((child) => {
    const gone = childExited(child);
    // Pooled children are unref'd: without this the loop could empty, and the process end, before they are reaped.
    child.ref();
    return gone;
  });
  killLiveChildren();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(exited),
    new Promise<void>((r) => {
      timer = setTimeout(r, limitMs);
    }),
  ]);
  clearTimeout(timer);
}
