import type { ChildScope } from './live-children.js';
import type { TargetKind } from './types.js';
import type { MountEntry } from '../parse/mountinfo.js';
import type { ProbeName, ProbeRequests, ProbeResponses } from './probe-types.js';

/** A PATH for guest commands: a guest's own PATH is never used (it may name host directories). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The desktop user inside the guest. */
export interface GuestUser {
  uid: number;
  gid: number;
  name: string;
  home: string;
  /** Supplementary groups from the guest's /etc/group. */
  groups: number[];
  /** How the user was chosen: `--user`, SUDO_UID, a session process, or the default. */
  source: 'option' | 'sudo' | 'session-process' | 'default';
}

/** A file looked up inside the guest root. */
export interface GuestStat {
  /** The path as the guest sees it, after following symlinks inside the root. */
  guestPath: string;
  /** The same file as the host reaches it. Only for use with care: never re-resolve it. */
  hostPath: string;
  type: 'file' | 'directory' | 'symlink' | 'socket' | 'fifo' | 'char' | 'block' | 'unknown';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Device and inode, to tell whether two paths are the same file. */
  dev: number;
  ino: number;
}

/** The result of reading a guest file: capped, never blocking on FIFOs or devices. */
export type GuestRead =
  { ok: true; text: string; bytes: Buffer; truncated: boolean; stat: GuestStat } | { ok: false; reason: GuestPathError; message: string };

/** Why a guest path could not be used. */
export type GuestPathError = 'missing' | 'dangling-symlink' | 'symlink-loop' | 'not-a-file' | 'permission' | 'too-large' | 'io';

/** Result of a command run inside the guest. Never thrown: a non-zero exit is an answer. */
export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The command does not exist in the guest (exit 127 or ENOENT). */
  notFound: boolean;
  /** The command could not be started at all (for example the target vanished). */
  spawnError?: string;
}

/** The answer for a command that was never started: `spawnError` says why; `notFound` when there is no such program. */
export function notStarted(spawnError: string, notFound = false): ExecResult {
  return { exitCode: null, stdout: '', stderr: '', timedOut: false, notFound, spawnError };
}

/** How to run a command inside the guest. */
export interface ExecOptions {
  /** Run as this uid/gid; default root. */
  user?: { uid: number; gid: number; groups?: number[] };
  /**
   * The guest command's variables (our own choice); default the session environment's allow-listed
   * ones (see guest/guest-env.ts). Either way PATH is ours and `LD_*` never passes.
   */
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string;
  /** Working directory inside the guest; default `/`. */
  cwd?: string;
  /** Sees stdout as it comes, chunk by chunk (a batch of commands answers each as soon as its frame is out); the result still has all of it. */
  onStdout?: (chunk: Buffer) => void;
}

/** A process seen in the guest. */
export interface GuestProcess {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  cmdline: string[];
}

/** Everything a check may ask of a guest. The only door into a guest. */
export interface Target {
  readonly kind: TargetKind;
  readonly name: string;
  /** The root directory as the host sees it (for a running guest: its directory, or /proc/PID/root). */
  readonly root: string;
  /** A process inside the guest whose namespaces are used, or null for a guest with no process. */
  readonly pid: number | null;
  /** The guest's network namespace file, or null when it shares the tool's own. */
  readonly netnsPath: string | null;
  /** True when the guest's network namespace is the one ctr-doctor runs in. */
  readonly sharesNetns: boolean;
  /** True when the guest has its own mount namespace (nspawn, pid targets): its mounts end with it. */
  readonly ownMountNs: boolean;
  /** True when the root is reached only through a process (its /proc/PID/root): there is no host directory for it. */
  readonly rootViaProcess: boolean;
  /** The process whose environment is the session's (`--env-from`, or the chosen session process), or null. */
  readonly sessionPid: number | null;
  /** The session environment: from `--env-from`, a session process, or the invoking shell. */
  readonly env: Record<string, string>;
  /** Where `env` came from, for evidence. */
  readonly envSource: string;
  readonly user: GuestUser;
  /**
   * The desktop session: its process (or none, when the user comes from `--user` or passwd), its
   * uid and how it was chosen. Null when no desktop session runs; `noSessionReason` then says why,
   * and every desktop check skips with that reason (see core/desktop-session.ts).
   */
  readonly session: GuestSession | null;
  /** Why `session` is null; null when there is a session. */
  readonly noSessionReason: string | null;
  /** For schroot targets: the chroot and session names. */
  readonly schroot?: { chroot: string; session: string | null };
  /** For nspawn targets: the machine name and the nspawn command line. */
  readonly nspawn?: { machine: string; nspawnPid: number | null; argv: string[] };

  /** Resolves a guest path inside the root: absolute symlinks re-rooted, `..` clamped, loops refused. */
  stat(guestPath: string, opts?: { followLast?: boolean }): Promise<GuestStat | { error: GuestPathError; message: string }>;
  /** Reads a regular file inside the guest, capped (default 1 MiB). */
  readFile(guestPath: string, opts?: { maxBytes?: number }): Promise<GuestRead>;
  /** The target of a symlink, unresolved, or null when the path is not a symlink. */
  readlink(guestPath: string): Promise<string | null>;
  /** Directory entries, or null when the directory is missing or unreadable. */
  readdir(guestPath: string): Promise<string[] | null>;
  /**
   * Runs a guest program inside all of the guest's namespaces and root, confined like the guest
   * (its capability bounding set, no-new-privs), dropped to `opts.user` before anything of the
   * guest's runs; bounded by `timeoutMs` with nothing left running.
   */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Runs a host program inside the guest's network namespace only (host's root and binaries, the host's fixed environment). */
  execInNetns(argv: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Reads /proc/net/NAME (`unix`, `udp`, `udp6`, `dev`, `route`, `ipv6_route`…) as the guest's network namespace shows it; null when unreadable. */
  readProcNet(name: string): Promise<string | null>;
  /** Runs a probe (see src/guest/probes) in the guest's network namespace, with the guest root as cwd. */
  probe<K extends ProbeName>(
    name: K,
    request: ProbeRequests[K],
    opts?: { timeoutMs?: number; asUser?: boolean },
  ): Promise<ProbeResponses[K]>;
  /** The guest's running hostname (its UTS namespace's, what gethostname() returns there), or null when unknown. */
  hostname(): Promise<string | null>;
  /** Starts the probe children that `probe` will use (as root, as the user) ahead of the first probe. Optional. */
  warmProbes?(who: { root: boolean; user: boolean }): void;
  /** The guest's processes (those whose root is this guest's root). */
  processes(): Promise<GuestProcess[]>;
  /** The guest's own mount table, as it sees it. */
  mounts(): Promise<MountEntry[]>;
  /**
   * Throws a TargetError (one line, exit 2) when the guest's process exited or another process took
   * its pid since the target was opened (audit M1). Optional: a guest with no process has nothing to pin.
   */
  verifyIdentity?(): void;
  /**
   * The children this target's commands and probes start (see core/live-children.ts): what a run's
   * end kills of what its timed-out checks left, without touching another guest's (`check --all`).
   * Optional: without one, overlapping runs leave such children to the CLI's end.
   */
  readonly childScope?: ChildScope;
}

/** The desktop session of a guest: whose it is and how that was decided (issue 12 item 3). */
export interface GuestSession {
  /** The session process whose environment stands for the session; null when none runs (the user comes from --user or passwd). */
  pid: number | null;
  uid: number;
  /** `process`: a regular user's process; `option`: `--user` or `--env-from`; `passwd`: the guest's only regular user; `invoking`: the user running ctr-doctor (self). */
  source: 'process' | 'option' | 'passwd' | 'invoking';
}
