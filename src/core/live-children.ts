import type { ChildProcess } from 'node:child_process';

/**
 * Child processes started on behalf of checks (guest commands, probes) that have not exited.
 * A check cut off by its timeout leaves its children running; they would keep the run alive
 * past `--timeout`, so the runner kills whatever is left once every check has an outcome.
 */
const live = new Map<ChildProcess, { group: boolean }>();

/** Remembers `child` until it exits; `group`: it leads its own process group, killed whole. Returns it, for chaining. */
export function trackChild<T extends ChildProcess>(child: T, opts: { group?: boolean } = {}): T {
  if (child.exitCode !== null || child.signalCode !== null) return child;
  live.set(child, { group: opts.group ?? false });
  const forget = (): void => void live.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}

/** How many tracked children are still running. */
export function liveChildCount(): number {
  return live.size;
}

/** SIGKILLs every tracked child still running (they belong to checks that already timed out), with its group when it leads one. */
export function killLiveChildren(): number {
  let killed = 0;
  for (const [child, { group }] of live) {
    live.delete(child);
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
