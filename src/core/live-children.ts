import { AsyncLocalStorage } from 'node:async_hooks';

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
 * Child processes started on behalf of checks (guest commands, probes) that have not exited.
 * A check cut off by its timeout leaves its children running; they would keep the run alive
 * past `--timeout`, so the runner kills whatever its run left once every check has an outcome.
 * Runs may overlap (`check --all` probes guests concurrently): each run kills only its own.
 */
const live = new Map<TrackedChild, { group: boolean }>();
/** Killed but not yet reaped: waited for by {@link endLiveChildren}. */
const dying = new Set<TrackedChild>();
const runScope = new AsyncLocalStorage<Set<TrackedChild>>();

/**
 * Remembers `child` until it exits; `group`: it leads its own process group, killed whole;
 * `unscoped`: it serves several runs (a probe child shared by `check --all`'s guests), so no run
 * ends it, only {@link endLiveChildren}. Returns it, for chaining.
 */
export function trackChild<T extends TrackedChild>(child: T, opts: { group?: boolean; unscoped?: boolean } = {}): T {
  if (child.exitCode !== null || child.signalCode !== null) return child;
  live.set(child, { group: opts.group ?? false });
  const scope = opts.unscoped ? undefined : runScope.getStore();
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
 * Runs of this process may overlap from now on (`check --all`): each run's children are then kept
 * apart (see {@link withChildScope}). Opt-in because the scope is an AsyncLocalStorage, which on
 * Node 20 turns on promise hooks for the whole process (every promise pays for them, 30-50% more
 * CPU per guest file read); one run at a time needs no scope, its end kills whatever is left.
 */
export function letRunsOverlap(): void {
  overlapping = true;
}

/** Runs `work` so that {@link killLiveChildren} called inside it ends only the children it started (once runs may overlap). */
export function withChildScope<T>(work: () => Promise<T>): Promise<T> {
  return overlapping ? runScope.run(new Set(), work) : work();
}

/** How many tracked children are still running. */
export function liveChildCount(): number {
  return live.size;
}

/**
 * SIGKILLs the tracked children still running (they belong to checks that already timed out),
 * with its group when it leads one: this run's inside {@link withChildScope}, else all of them.
 */
export function killLiveChildren(): number {
  const scope = runScope.getStore();
  let killed = 0;
  for (const child of [...(scope ?? live.keys())]) {
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
