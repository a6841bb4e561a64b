/** How a command gets into a guest: which root, which namespaces, which user. */
export interface GuestPlacement {
  /** Host path of the guest root, for guests with no process to enter. */
  root: string;
  /** A process inside the guest whose namespaces and root to enter, or null. */
  pid: number | null;
  /** The network namespace to enter for a guest with no process (null: ours). */
  netnsPath: string | null;
  /** Also enter the user namespace (rootless podman, bwrap). */
  enterUserns: boolean;
}

/** Builds the host argv that runs `argv` inside the guest as `uid:gid`. */
export function guestArgv(place: GuestPlacement, argv: string[], user: { uid: number; gid: number; groups?: number[] } | undefined, cwd = '/'): string[] {
  if (place.pid !== null) {
    // No `-p`: entering a PID namespace makes nsenter fork, and a timed-out command would outlive the kill.
    const ns = ['-m', '-u', '-i', '-n', ...(place.enterUserns ? ['-U', '--preserve-credentials'] : [])];
    const who = user ? ['-S', String(user.uid), '-G', String(user.gid)] : [];
    // `-r` takes the process's root, `-w` would take its cwd: we want the guest's `cwd` instead.
    return ['nsenter', '-t', String(place.pid), ...ns, '-r', `--wd=${cwd}`, ...who, '--', ...argv];
  }
  const groups = user?.groups ?? [];
  const userspec = user ? [`--userspec=${user.uid}:${user.gid}`, ...(groups.length > 0 ? [`--groups=${groups.join(',')}`] : [])] : [];
  const inChroot = cwd === '/'
    ? ['chroot', ...userspec, place.root, ...argv]
    : ['chroot', ...userspec, place.root, 'sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', cwd, ...argv];
  return place.netnsPath ? ['nsenter', `--net=${place.netnsPath}`, '--', ...inChroot] : inChroot;
}

/** Builds the host argv that runs a host command inside the guest's network namespace only. */
export function netnsArgv(netnsPath: string | null, argv: string[]): string[] {
  return netnsPath ? ['nsenter', `--net=${netnsPath}`, '--', ...argv] : argv;
}
