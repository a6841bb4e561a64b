import { hostTool } from '../host/host-programs.js';
import { envAssignments } from './guest-env.js';

/** How a command gets into a guest: which root, which namespaces, which capabilities. */
export interface GuestPlacement {
  /** Host path of the guest root: the directory, or /proc/PID/root. The caller opens it and starts the chain in it (see {@link guestArgv}). */
  root: string;
  /** A process inside the guest whose namespaces to enter, or null for a guest with no process. */
  pid: number | null;
  /**
   * True when `pid` is in every namespace of ours that stage 1 would enter (a plain chroot's process,
   * see sharesEveryNamespace): entering them changes nothing, so stage 1 is left out.
   */
  sharesNamespaces?: boolean;
  /** The network namespace to enter for a guest with no process (null: ours). */
  netnsPath: string | null;
  /** Also enter the user namespace (rootless podman, bwrap). */
  enterUserns: boolean;
  /** The guest's capability bounding set (setpriv names); null for a chroot with no process, whose root keeps ours. */
  boundingSet: string[] | null;
  /** Host paths of the `cgroup.procs` files of the guest process's cgroups, joined first (nspawn, pid targets); empty or absent: none. */
  cgroupProcs?: readonly string[];
  /** Descriptors above 2 that the chain would inherit (left open by our own parent), closed first. */
  closeFds?: readonly number[];
}

/** Who runs the guest command; groups are the ones the user really has (see guest-user.ts). */
export interface GuestCredentials {
  uid: number;
  gid: number;
  groups?: number[];
}

/**
 * Stage 0, host bash: joins the cgroups whose cgroup.procs files come first (writing 0 moves the
 * writer; nsenter has no cgroup join), then closes the descriptors listed next (ones our own parent
 * left open without close-on-exec), then execs the rest. So the guest command runs under the guest's
 * limits and dies with it, and inherits nothing but stdin, stdout and stderr (audit C2).
 */
const STAGE0 = [
  'while [ "$1" != -- ]; do echo 0 > "$1" || { echo "cannot join the guest\'s cgroup $1" >&2; exit 125; }; shift; done; shift',
  'while [ "$1" != -- ]; do fd=$1; exec {fd}>&-; shift; done; shift',
  'exec "$@"',
].join('\n');

/** The result of {@link guestArgv}: the host argv, or why the command cannot be run safely. */
export type GuestArgv = { argv: string[] } | { error: string };

/**
 * Builds the host argv that runs guest command `argv` as `user` (default root), with environment `env`:
 * The chain starts with its working directory on the guest root (the caller spawns it in
 * `/proc/self/fd/N` of a descriptor it holds) and passes no descriptor but stdin, stdout and stderr,
 * so the guest program inherits nothing else (no handle of any root; audit C2/M1).
 * 0. when there is a cgroup to join or a stray descriptor to close, host bash does it (see STAGE0);
 * 1. host nsenter into all of the guest's namespaces (mnt, uts, ipc, net, pid, cgroup; user when it
 *    differs), keeping the host root for now (`--root=/`) and the guest root as working directory
 *    (`--wd=.`; both opened before entering), so the next stages are host binaries; left out when
 *    the guest's process is in all of ours (`sharesNamespaces`: it would enter nothing new);
 * 2. host setpriv: the guest's capability bounding set, no inheritable or ambient capabilities, and
 *    no-new-privs for a root command, or the user's gid and groups for a user's;
 * 3. host env: exactly `env` (the caller filtered it: guestCommandEnv);
 * 4. host nsenter: chroot to the guest root (its working directory) and chdir to `cwd` inside it, setuid to the user,
 *    then exec `argv`, looked up through `env.PATH` inside the guest.
 * Nothing of the guest's runs before stage 4 has dropped to the guest's confinement.
 */
export function guestArgv(
  place: GuestPlacement,
  argv: string[],
  env: Record<string, string>,
  user?: GuestCredentials,
  cwd = '/',
): GuestArgv {
  if (argv.length === 0) return { error: 'empty command' };
  if (!cwd.startsWith('/')) return { error: `the working directory ${cwd} is not absolute` };
  const enter =
    place.pid !== null && place.sharesNamespaces !== true
      ? [
          hostTool('nsenter'),
          '-t',
          String(place.pid),
          '-m',
          '-u',
          '-i',
          '-n',
          '-p',
          '-C',
          ...(place.enterUserns ? ['-U', '--preserve-credentials'] : []),
          '--root=/',
          '--wd=.',
          '--',
        ]
      : place.netnsPath !== null
        ? [hostTool('nsenter'), `--net=${place.netnsPath}`, '--']
        : [];
  const cgroups = place.cgroupProcs ?? [];
  const fds = (place.closeFds ?? []).filter((fd) => Number.isInteger(fd) && fd > 2);
  const join =
    cgroups.length > 0 || fds.length > 0
      ? [hostTool('bash'), '-c', STAGE0, 'ctr-doctor-stage0', ...cgroups, '--', ...fds.map(String), '--']
      : [];
  const asUser = user !== undefined && user.uid !== 0;
  // The last stage needs to chroot (and to setuid); a root command gets nothing the guest's own root lacks.
  const needed = asUser ? ['sys_chroot', 'setuid', 'setgid'] : ['sys_chroot'];
  if (place.boundingSet !== null && !asUser && !place.boundingSet.includes('sys_chroot')) {
    return { error: "the guest's capability bounding set lacks CAP_SYS_CHROOT, so a command cannot be confined to it" };
  }
  const bounding =
    place.boundingSet === null
      ? []
      : [`--bounding-set=-all${[...new Set([...place.boundingSet, ...(asUser ? needed : [])])].map((c) => `,+${c}`).join('')}`];
  const groups = user?.groups ?? [];
  const ids =
    user !== undefined ? ['--regid', String(user.gid), groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups'] : [];
  // No-new-privs for root commands. Not for the user's: it would strip ping's file capability and
  // setuid helpers from what the user's own programs see (a false diagnosis); setuid clears every
  // capability anyway, and what a guest binary could gain stays within the guest's bounding set.
  const drop = [hostTool('setpriv'), ...(asUser ? [] : ['--nnp']), '--inh-caps=-all', ...bounding, ...ids, '--'];
  const setEnv = [hostTool('env'), '-i', ...envAssignments(env)];
  const chroot = [hostTool('nsenter'), '--root=.', `--wdns=${cwd}`, ...(user !== undefined ? ['-S', String(user.uid)] : []), '--'];
  return { argv: [...join, ...enter, ...drop, ...setEnv, ...chroot, ...argv] };
}

/** Builds the host argv that runs a host program inside the guest's network namespace only. */
export function netnsArgv(netnsPath: string | null, argv: string[]): string[] {
  return netnsPath ? [hostTool('nsenter'), `--net=${netnsPath}`, '--', ...argv] : argv;
}

/** Builds the host argv that runs a host program in the UTS namespace of guest process `pid` only (its hostname). */
export function utsArgv(pid: number, argv: string[]): string[] {
  return [hostTool('nsenter'), '-t', String(pid), '-u', '--', ...argv];
}

/** Linux capability names by number, as setpriv spells them (capability.h, up to 40). */
export const CAPABILITY_NAMES: readonly string[] = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
];

/**
 * The capabilities in a `/proc/PID/status` mask (`CapBnd:\t000001ffffffffff`), by name, limited to
 * those in `ours` when given; null when the line is missing or malformed. Unknown bits are left out.
 */
export function capabilitiesOf(status: string, field = 'CapBnd', ours?: readonly string[]): string[] | null {
  const m = new RegExp(`^${field}:\\s*([0-9a-fA-F]{1,16})\\s*$`, 'm').exec(status);
  if (!m) return null;
  const mask = BigInt(`0x${m[1]}`);
  const caps = CAPABILITY_NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
  return ours ? caps.filter((c) => ours.includes(c)) : caps;
}
