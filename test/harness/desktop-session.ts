/**
 * Desktop-session helpers for the x11/audio/dconf integration tests: Xauthority files
 * made with the real xauth, a user's home inside a guest root, and a long-running
 * process as the desktop user inside a booted nspawn guest.
 */
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { killSync, type Cleanup } from './cleanup.js';
import { commOf, descendantsOf, must, spawnDaemon, waitFor } from './proc.js';
import { guestPath } from './rootfs.js';

/** Write `file` holding `cookieHex` for display `:N` (FamilyLocal, this host's name), as xauth does. */
export async function writeXauthority(file: string, display: number, cookieHex: string): Promise<void> {
  rmSync(file, { force: true });
  await must(['unshare', '--net', 'xauth', '-q', '-f', file, 'add', `:${display}`, '.', cookieHex]);
}

/** Merge the entries of `from` into `file` (created if missing). */
export async function mergeXauthority(file: string, from: string): Promise<void> {
  await must(['unshare', '--net', 'xauth', '-q', '-f', file, 'merge', from]);
}

/** Make `home` inside `root` exist, owned by uid:gid; returns its host path. */
export function guestHome(root: string, home: string, uid: number, gid: number): string {
  const p = guestPath(root, home);
  mkdirSync(p, { recursive: true });
  chownSync(p, uid, gid);
  return p;
}

/**
 * Start `sleep 100000` as uid:gid inside a booted nspawn guest (all its namespaces),
 * with exactly `env`. Returns the PID of the sleep itself. Killed by `cleanup`.
 */
export async function startNspawnUserProcess(
  leaderPid: number,
  uid: number,
  gid: number,
  env: Record<string, string>,
  cleanup: Cleanup,
): Promise<number> {
  const argv = [
    'nsenter',
    '-t',
    String(leaderPid),
    '-a',
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    'env',
    '-i',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    'sleep',
    '100000',
  ];
  const d = spawnDaemon(`nspawn user sleep (uid ${uid})`, argv, cleanup);
  const pid = await waitFor(
    'sleep inside the nspawn guest',
    () => {
      if (d.child.exitCode !== null) throw new Error(`exited: ${d.output()}`);
      return [d.pid, ...descendantsOf(d.pid)].find((p) => commOf(p) === 'sleep');
    },
    { timeoutMs: 5_000, intervalMs: 20 },
  );
  // nsenter forks into the guest's PID namespace: its child outlives a kill of nsenter itself.
  cleanup.defer(`kill nspawn user sleep ${pid}`, () => killSync(pid), { sync: () => killSync(pid) });
  return pid;
}
