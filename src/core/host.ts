/**
 * The Host port: the only door from a check or a fix into the host (its files, processes,
 * mount table, commands, sockets and clock). `HostContext` (src/host/) implements it over the
 * real machine; `FakeHost` (test/unit/support/) stands in for it in unit tests.
 */
import type { MountEntry } from '../parse/mountinfo.js';
import type { SchrootChroot, SchrootSession } from '../parse/schroot-config.js';
import type { ExecResult } from './target.js';
import type { DnsQueryResponse } from './probe-types.js';
import type { ShmSegmentState } from '../parse/sysvipc-shm.js';

export type { ShmSegmentState } from '../parse/sysvipc-shm.js';
import type { HostAclEntry } from '../parse/getfacl.js';

export type { HostAclEntry } from '../parse/getfacl.js';

/** A process as /proc shows it to the host. */
export interface HostProcess {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  cmdline: string[];
  /** dev:ino of /proc/PID/root, to group processes by the root they see; null when unreadable. */
  rootId: string | null;
  /** readlink of /proc/PID/root (relative to our root; "/" for other mount namespaces). */
  rootLink: string | null;
  /** Namespace inode ids (`net:[4026531840]`), null when unreadable. */
  netns: string | null;
  mntns: string | null;
  cwdLink: string | null;
  /** Start time in clock ticks since boot, to prefer long-lived processes. */
  startTime: number;
}

/** What a process holds open: what keeps a mount busy. */
export interface ProcessFiles {
  pid: number;
  comm: string;
  mntns: string | null;
  root: string | null;
  cwd: string | null;
  /** Absolute paths of open file descriptors (sockets, pipes and anonymous files left out). */
  fds: string[];
  /** Files mapped into memory (executables, libraries, shared memory). */
  maps: string[];
  /** False when some of /proc/PID/fd or maps could not be read (another user's process without root). */
  complete: boolean;
}

/** Where schroot keeps its configuration and session state; overridable for tests. */
export interface SchrootPaths {
  configDir: string;
  sessionDir: string;
}

/** A schroot config file that could not be parsed. */
export interface SchrootConfigProblem {
  source: string;
  line?: number;
  message: string;
}

/** A session with its liveness: stale when its mounts are gone (for example after a reboot). */
export interface SchrootSessionState extends SchrootSession {
  stateFile: string;
  /** The session's root is mounted at its mount-location. */
  mounted: boolean;
  stale: boolean;
}

/** A systemd-nspawn machine found on the host. */
export interface NspawnMachine {
  machine: string;
  nspawnPid: number | null;
  leaderPid: number;
  directory: string | null;
  argv: string[];
  /** How it was found: machined, or a scan of systemd-nspawn processes. */
  via: 'machinectl' | 'process-scan';
}

/** What one of the host's nameservers said, or why it could not be asked. */
export interface HostDnsAnswer {
  server: string;
  response: DnsQueryResponse | null;
  error: string | null;
}

/** The host's own resolver's answers, for `--compare-host`. */
export interface HostDnsResult {
  /** The file the nameservers came from. */
  source: string;
  answers: HostDnsAnswer[];
}

/** One reason a mount cannot be unmounted: a process that holds something on it. */
export interface MountHolder {
  pid: number;
  comm: string;
  how: 'root' | 'cwd' | 'fd' | 'map';
  /** The path the process holds, as the kernel names it: for showing only (a guest names its files as it likes). */
  path: string;
  /** The mount it lies on, by id: what decides. */
  mountId: number;
  /** That mount's mount point. */
  mountPoint: string;
}

/** What a scan for the holders of some mounts found, and how far it got within its budget. */
export interface MountHolderScan {
  holders: MountHolder[];
  /** Every process was read before the budget ran out (unreadable ones aside). */
  finished: boolean;
  /** Processes read (ruled out or not), of `total` in the process table when it began. */
  read: number;
  total: number;
  /** Processes whose root, cwd, fds or maps could not be read (not root): their holds are unknown. */
  unreadable: number;
  elapsedMs: number;
  budgetMs: number;
}

/** One `umount` to run: a mount that is not inside another one being removed, with its submounts. */
export interface UnmountUnit {
  /** Host path of the mount point. */
  path: string;
  /** The mount has submounts, so it needs `umount -R`. */
  recursive: boolean;
  /** The mount or a submount is in a shared peer group: an unmount would propagate unless made a slave first. */
  shared: boolean;
  /** Every mount this unit removes (itself first). */
  members: MountEntry[];
}

/** A host file's metadata (lstat or stat). */
export interface HostStat {
  type: 'file' | 'directory' | 'symlink' | 'socket' | 'fifo' | 'char' | 'block' | 'unknown';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  ino: number;
}

/**
 * A desktop device node of the host (GPU, sound, video, compute): what a guest should see at the
 * same path. `acl` is null when the ACL could not be read (no getfacl), [] when it has no named entries.
 */
export interface HostDeviceNode {
  path: string;
  major: number;
  minor: number;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  acl: HostAclEntry[] | null;
  /** The ACL mask (`rw-`), which caps named entries and the group bits; null without one. */
  aclMask: string | null;
  /** The owning group's ACL entry (`group::rw-`) when there is a mask: then `mode`'s group bits are the mask's. */
  aclGroup: string | null;
}

/** Where the host's desktop device nodes live: every char node in these directories, and the top-level /dev nodes matching. */
export const DESKTOP_DEVICE_DIRS: readonly string[] = ['/dev/dri', '/dev/snd'];
/** Names directly in /dev that are desktop devices (AMD compute, NVIDIA, cameras). */
export const DESKTOP_DEVICE_NAMES = /^(kfd|nvidia(\d+|ctl|-modeset|-uvm|-uvm-tools)|video\d+)$/;

/** An X display socket in the host's /tmp/.X11-unix. */
export interface HostX11Socket {
  display: number;
  path: string;
}

/** The result of connecting to a host unix socket: ok, or the errno (ENOENT, ECONNREFUSED…). */
export interface HostConnect {
  ok: boolean;
  errno: string | null;
}

/** A process holding a socket open: the socket's inode, the process and the descriptor. */
export interface SocketHolder {
  inode: number;
  pid: number;
  fd: number;
}

/**
 * An IPC namespace: that of process `pid` (null: ctr-doctor's own), with the id it had when looked
 * at (`ipc:[4026531839]`, as /proc/PID/ns/ipc reads); a command runs there only while it still is that one.
 */
export interface IpcPlace {
  pid: number | null;
  ns: string;
}

/** A System V segment made in an IPC namespace, or why not. */
export type ShmCreated = { ok: true; shmid: number } | { ok: false; reason: string };

/** How to run a host command: always by absolute path, with a fixed environment (PATH, LC_ALL=C). */
export interface HostRunOptions {
  timeoutMs?: number;
  input?: string;
  /** Descriptors the command gets as fd 3, 4… (a mount point held open, so mount(8) never resolves its path again). */
  passFds?: number[];
}

/** Everything a check or a fix may ask of the host. */
export interface Host {
  /** The environment ctr-doctor was started with (the user's shell, possibly through sudo). Read, never trusted for paths. */
  readonly invokingEnv: Readonly<Record<string, string | undefined>>;
  readonly schrootPaths: SchrootPaths;

  // Files, as the host sees them. Null means missing or unreadable. stat, lstat, realpath and readlink
  // answer as the run first saw the path (read once per run, shared by its checks and guests; the
  // answers are frozen); readFile and readdir read afresh.
  /** A host file's text, capped at `maxBytes` (default 1 MiB). */
  readFile(path: string, opts?: { maxBytes?: number }): Promise<string | null>;
  /**
   * {@link readFile}, as the run first read the file: once per path (and cap) for the run, shared by
   * every check and guest. For host facts a diagnosis does not change (/etc/group, /proc/devices,
   * /proc/sys limits), never for a process's /proc files or anything a check waits to see change.
   */
  readFileOnce(path: string, opts?: { maxBytes?: number }): Promise<string | null>;
  /** Follows symlinks. */
  stat(path: string): Promise<HostStat | null>;
  /** Does not follow the last symlink. */
  lstat(path: string): Promise<HostStat | null>;
  realpath(path: string): Promise<string | null>;
  readlink(path: string): Promise<string | null>;
  readdir(path: string): Promise<string[] | null>;

  /**
   * The host's desktop device nodes ({@link DESKTOP_DEVICE_DIRS}, {@link DESKTOP_DEVICE_NAMES}) as char
   * devices with their numbers, owner, mode and ACL. Tests point it elsewhere only by what /dev holds
   * in a private mount namespace (or with FakeHost).
   */
  deviceNodes(): Promise<HostDeviceNode[]>;

  // Processes and namespaces.
  processes(): Promise<HostProcess[]>;
  /**
   * Every process's root, cwd, open files and mappings, as paths: a costly read of the whole host
   * (kept for plugins). To know who holds a mount, use {@link scanMountHolders}.
   */
  processFiles(): Promise<ProcessFiles[]>;
  /** ctr-doctor's own namespaces, e.g. `net:[4026531840]`. */
  ownNetns(): Promise<string | null>;
  ownMntns(): Promise<string | null>;
  /** systemd-resolved processes on the whole host. */
  resolvedProcesses(): Promise<HostProcess[]>;
  /**
   * Who keeps mount `mountId` (or a mount below it in the mount tree) busy, read afresh (for a fix, after
   * the diagnosis), matched by the mount id of what each process holds, never by path (audit H5/H3);
   * within the process scan's budget (CTR_DOCTOR_SCAN_BUDGET_MS), off the main thread.
   */
  mountHolders(mountId: number): Promise<MountHolderScan>;
  /**
   * Who holds these mounts (by mount id, each exactly: pass a subtree's ids), for a diagnosis: a shared
   * host scan of the run (once per set of ids), off the main thread, within the holder budget
   * (CTR_DOCTOR_HOLDERS_BUDGET_MS); a busy host's answer may be partial, and says so (`finished`).
   */
  scanMountHolders(mountIds: readonly number[]): Promise<MountHolderScan>;

  /**
   * Who holds these sockets open, by socket inode (`socket:[N]` in /proc/PID/fd). Processes whose
   * comm is in `prefer` are read first; the scan ends once every inode has a holder.
   */
  socketHolders(inodes: readonly number[], prefer?: readonly string[]): Promise<SocketHolder[]>;

  // System V shared memory in an IPC namespace (x11.mitshm's attach round trip), with the host's util-linux.
  /** Makes a segment there as uid:gid (no supplementary groups), with `mode` (0600…); remove it with {@link removeShmSegment}. */
  createShmSegment(place: IpcPlace, owner: { uid: number; gid: number }, opts: { mode: number; bytes: number }): Promise<ShmCreated>;
  /** The segments of that namespace (/proc/sysvipc/shm read inside it), or null when it cannot be read. */
  shmSegments(place: IpcPlace): Promise<ShmSegmentState[] | null>;
  /** Removes a segment made by {@link createShmSegment}; true when it is gone. */
  removeShmSegment(place: IpcPlace, shmid: number): Promise<boolean>;

  // The mount table (ctr-doctor's own mount namespace).
  mountinfo(): Promise<MountEntry[]>;

  // schroot and nspawn, as the host knows them.
  schrootConfig(): Promise<{ chroots: SchrootChroot[]; problems: SchrootConfigProblem[] }>;
  schrootSessions(): Promise<SchrootSessionState[]>;
  /** `schroot --list --all-sessions`, or null when schroot is missing or fails. */
  schrootListedSessions(): Promise<string[] | null>;
  nspawnMachines(): Promise<NspawnMachine[]>;

  // Sockets.
  /** Socket names in /tmp/.X11-unix (liveness is asked with {@link connectUnix}). */
  x11Sockets(): Promise<HostX11Socket[]>;
  /** Connects to a host unix socket (a host path, from the host's root) and hangs up. */
  connectUnix(path: string, timeoutMs: number): Promise<HostConnect>;
  /** Asks the host's own nameservers from the host's network namespace. Sends packets from the host: only for --compare-host. */
  askHostNameservers(name: string, timeoutMs: number): Promise<HostDnsResult>;

  // Commands.
  /** Runs a host program by absolute path (argv[0] must start with /) with a fixed environment; never throws. */
  run(argv: readonly string[], opts?: HostRunOptions): Promise<ExecResult>;
  /** The absolute path of host program `name`, looked up in the fixed host PATH only (never a guest's or the shell's), or null. */
  program(name: string): string | null;

  // Clock.
  /** Monotonic milliseconds, for time budgets. */
  now(): number;
}
