import { closeSync, constants, openSync, readlinkSync } from 'node:fs';
import { hostname as ownHostname } from 'node:os';
import { GuestFiles } from '../guest/guest-files.js';
import { guestArgv, netnsArgv, utsArgv, type GuestPlacement } from '../guest/guest-argv.js';
import { guestCommandEnv } from '../guest/guest-env.js';
import { runCommand } from '../host/run-command.js';
import { hostTool } from '../host/host-programs.js';
import { boundingSetOf } from '../host/capabilities.js';
import { sharesEveryNamespace } from '../host/pid-namespace.js';
import { guestCgroupJoin } from '../host/guest-cgroup.js';
import { inheritableFds } from '../host/inherited-fds.js';
import { commandsInheritOnlyStdio } from '../host/host-spawner.js';
import { hostCredentials, readHostAccounts, readIdMaps, type HostAccounts, type IdMaps } from './host-credentials.js';
import type { ProbeCredentials } from '../core/probe-types.js';
import { newChildScope, type ChildScope } from '../core/live-children.js';
import { runProbe, shareProbeChildren, warmProbeChild, type ProbePlace } from '../guest/probe-client.js';
import { listHostProcesses, type HostProcess } from '../host/procfs.js';
import { PROC_CAPS, readCappedText } from '../host/proc-read.js';
import { guestMembers, type MembershipRule, type ProcessFacts } from './membership.js';
import type { ProcessPin } from './process-pin.js';
import type { GuestSession } from './session-user.js';
import { mountsUnder, parseMountinfo, type MountEntry } from '../parse/mountinfo.js';
import type { ProbeName, ProbeRequests, ProbeResponses } from '../core/probe-types.js';
import type { TargetKind } from '../core/types.js';
import { notStarted, type ExecOptions, type ExecResult, type GuestProcess, type GuestUser, type Target } from '../core/target.js';

/** Everything needed to build a Target once a guest has been found. */
export interface GuestDescription {
  kind: TargetKind;
  name: string;
  /** Host path of the root for files: the directory, or /proc/PID/root for another mount namespace. */
  root: string;
  /** The root as reported (the directory when known). */
  displayRoot: string;
  pid: number | null;
  /** Network namespace to probe in; null when it is ours. */
  netnsPath: string | null;
  sharesNetns: boolean;
  /** True when the guest has its own mount namespace (nspawn, pid targets). */
  ownMountNs: boolean;
  /** The root is a process's /proc/PID/root (no host directory is known). */
  rootViaProcess: boolean;
  enterUserns: boolean;
  env: Record<string, string>;
  envSource: string;
  /** The process `env` was read from (`--env-from`, or the session process), or null. */
  sessionPid: number | null;
  user: GuestUser;
  session: GuestSession | null;
  noSessionReason: string | null;
  schroot?: Target['schroot'];
  nspawn?: Target['nspawn'];
  /** How the guest's processes are recognised among the host's; null: it has none (self). */
  membership: MembershipRule | null;
  /** The guest's process, held from opening on; null for a guest with no process. */
  pin: ProcessPin | null;
  /** The host's process list, shared with the rest of the run; default: a fresh scan of /proc. */
  hostProcesses?: () => Promise<HostProcess[]>;
}

/** Linux's O_PATH (absent from fs.constants): a handle that can only anchor a path. */
const O_PATH = 0o10000000;

/** A capped /proc text read, a cut last line dropped; null when unreadable. */
function readProcText(path: string, max: number): string | null {
  const r = readCappedText(path, max);
  if (r === null) return null;
  return r.truncated ? r.text.slice(0, r.text.lastIndexOf('\n') + 1) : r.text;
}

/** A namespace link of /proc, or null when it cannot be read. */
function nsLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** Strips a guest root prefix from a host mount point. */
function toGuestMountPoint(root: string, mountPoint: string): string {
  if (root === '/') return mountPoint;
  return mountPoint === root ? '/' : mountPoint.slice(root.length);
}

/** The one Target implementation: every kind differs only in how it was found. */
export class GuestTarget implements Target {
  readonly kind: TargetKind;
  readonly name: string;
  readonly root: string;
  readonly pid: number | null;
  readonly netnsPath: string | null;
  readonly sharesNetns: boolean;
  readonly ownMountNs: boolean;
  readonly rootViaProcess: boolean;
  readonly sessionPid: number | null;
  readonly env: Record<string, string>;
  readonly envSource: string;
  readonly user: GuestUser;
  readonly session: GuestSession | null;
  readonly noSessionReason: string | null;
  readonly schroot?: Target['schroot'];
  readonly nspawn?: Target['nspawn'];
  private readonly files: GuestFiles;
  /** Its commands and probe children, for the end of its run (see Target.childScope). */
  readonly childScope: ChildScope = newChildScope();
  private processCache?: Promise<GuestProcess[]>;
  private mountCache?: Promise<MountEntry[]>;
  private placementCache?: Promise<GuestPlacement | { error: string }>;
  private accountsCache?: Promise<[IdMaps, HostAccounts]>;

  constructor(private readonly desc: GuestDescription) {
    this.kind = desc.kind;
    this.name = desc.name;
    this.root = desc.displayRoot;
    this.pid = desc.pid;
    this.netnsPath = desc.netnsPath;
    this.sharesNetns = desc.sharesNetns;
    this.ownMountNs = desc.ownMountNs;
    this.rootViaProcess = desc.rootViaProcess;
    this.sessionPid = desc.sessionPid;
    this.env = desc.env;
    this.envSource = desc.envSource;
    this.user = desc.user;
    this.session = desc.session;
    this.noSessionReason = desc.noSessionReason;
    if (desc.schroot) this.schroot = desc.schroot;
    if (desc.nspawn) this.nspawn = desc.nspawn;
    this.files = new GuestFiles(desc.root);
  }

  /** The host path through which this guest's files are reached. */
  get fileRoot(): string {
    return this.desc.root;
  }

  stat(guestPath: string, opts?: { followLast?: boolean }) {
    return this.files.stat(guestPath, opts);
  }

  readFile(guestPath: string, opts?: { maxBytes?: number }) {
    return this.files.readFile(guestPath, opts);
  }

  readlink(guestPath: string) {
    return this.files.readlink(guestPath);
  }

  readdir(guestPath: string) {
    return this.files.readdir(guestPath);
  }

  /** Where guest commands go; the bounding set is read once, from the process whose namespaces are entered. */
  private placement(): Promise<GuestPlacement | { error: string }> {
    this.placementCache ??= (async () => {
      const boundingSet = this.pid === null ? null : await boundingSetOf(this.pid);
      if (this.pid !== null && boundingSet === null) return { error: `cannot read the capability bounding set of process ${this.pid}` };
      // A container's commands run in its cgroups, under its limits, and die with it (C2). A chroot's or
      // schroot's process is in the user's session cgroups, which are not the guest's.
      const cgroups = this.pid === null || this.kind === 'chroot' || this.kind === 'schroot' ? [] : guestCgroupJoin(this.pid);
      if ('error' in cgroups) return cgroups;
      return {
        root: this.desc.root,
        pid: this.pid,
        // Read once, with the bounding set: entering namespaces that are ours would change nothing.
        sharesNamespaces: this.pid !== null && !this.desc.enterUserns && sharesEveryNamespace(this.pid),
        netnsPath: this.netnsPath,
        enterUserns: this.desc.enterUserns,
        boundingSet,
        cgroupProcs: cgroups,
      };
    })();
    return this.placementCache;
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    // The session's variables only through the allow-list, and only inside the guest; a caller's env replaces them.
    const env = opts.env ? guestCommandEnv({}, opts.env) : guestCommandEnv(this.env);
    const place = await this.placement();
    // A confined guest (its own mount and user namespaces) owns its ids and groups; a guest that shares our
    // mounts (a chroot) reaches host devices, so only the groups the host account really has count there.
    const confined = this.desc.enterUserns || this.desc.ownMountNs;
    const user =
      opts.user === undefined || opts.user.uid === 0 || confined ? opts.user : ((await this.credentialsFor(opts.user)) ?? undefined);
    if (opts.user !== undefined && user === undefined) return notStarted(`uid ${opts.user.uid} has no host uid`);
    // Started by the host spawner, the chain inherits nothing to close (the spawner closed it): no stage 0 for that.
    const closeFds = commandsInheritOnlyStdio() ? [] : inheritableFds();
    const built = 'error' in place ? place : guestArgv({ ...place, closeFds }, argv, env, user, opts.cwd);
    if ('error' in built) return notStarted(built.error);
    let rootFd: number;
    try {
      // Opened here (libuv sets O_CLOEXEC), with all of root's rights: the chain starts in it (cwd), and
      // its last host stage chroots to it after privileges are dropped. No descriptor is passed on, so the
      // guest program inherits only stdin, stdout and stderr (C2/M1: no handle it could climb out through).
      rootFd = openSync(this.desc.root, O_PATH | constants.O_DIRECTORY);
    } catch (error) {
      return notStarted(`cannot open the guest root ${this.desc.root}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      return await runCommand(built.argv, {
        timeoutMs: opts.timeoutMs,
        input: opts.input,
        cwd: `/proc/self/fd/${rootFd}`,
        scope: this.childScope,
        ...(opts.onStdout ? { onStdout: opts.onStdout } : {}),
      });
    } finally {
      closeSync(rootFd);
    }
  }

  async execInNetns(argv: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const [name, ...args] = argv;
    return runCommand(netnsArgv(this.netnsPath, name === undefined ? [] : [hostTool(name), ...args]), {
      timeoutMs: opts.timeoutMs,
      scope: this.childScope,
    });
  }

  async readProcNet(name: string): Promise<string | null> {
    if (!/^[\w.-]+$/.test(name)) return null;
    // /proc/PID/net shows PID's network namespace: the guest's view is read from here, no process needed.
    const dir =
      this.netnsPath === null
        ? '/proc/self/net'
        : this.pid !== null && this.netnsPath === `/proc/${this.pid}/ns/net`
          ? `/proc/${this.pid}/net`
          : null;
    if (dir !== null) return readProcText(`${dir}/${name}`, PROC_CAPS.net);
    const r = await this.execInNetns(['cat', `/proc/net/${name}`], { timeoutMs: 1000 });
    return r.exitCode === 0 ? r.stdout : null;
  }

  async hostname(): Promise<string | null> {
    // A guest in our UTS namespace (a chroot, a schroot session) has our hostname: no command needed. The links are
    // read at once (procfs, no disk): the name comes within the turn the checks start in, and so do its lookups.
    const ours = nsLink('/proc/self/ns/uts');
    const theirs = this.pid === null ? null : nsLink(`/proc/${this.pid}/ns/uts`);
    if (this.pid === null || (ours !== null && ours === theirs)) return ownHostname();
    // The host's uname in the guest's UTS namespace only: no guest program runs for this.
    const uname = await runCommand(utsArgv(this.pid, [hostTool('uname'), '-n']), { timeoutMs: 1000, scope: this.childScope });
    return uname.exitCode === 0 && uname.stdout.trim() !== '' ? uname.stdout.trim() : null;
  }

  /**
   * The host credentials for guest ids `user` (M2): translated through the guest's user namespace
   * maps, with only the groups the host account really has; null when the guest has no host id for them.
   */
  private async credentialsFor(user: { uid: number; gid: number; groups?: number[] }): Promise<ProbeCredentials | null> {
    this.accountsCache ??= Promise.all([readIdMaps(this.pid, !this.desc.enterUserns), readHostAccounts()]);
    const [maps, accounts] = await this.accountsCache;
    return hostCredentials(user, maps, accounts);
  }

  /**
   * Where a probe runs; a root desktop user shares the root child. The user's child runs in the host's user namespace: host ids.
   * One place each for the target's life (its credentials come from the accounts it read once): the same object for every probe.
   */
  private probePlace(asUser: boolean): Promise<ProbePlace> {
    const i = asUser ? 1 : 0;
    this.placeCache[i] ??= this.makeProbePlace(asUser);
    return this.placeCache[i];
  }

  private readonly placeCache: [Promise<ProbePlace>?, Promise<ProbePlace>?] = [];

  private async makeProbePlace(asUser: boolean): Promise<ProbePlace> {
    const place = { rootHostPath: this.desc.root, netnsPath: this.netnsPath, scope: this.childScope };
    if (!asUser || this.user.uid === 0) return { ...place, credentials: null };
    const credentials = await this.credentialsFor(this.user);
    if (credentials === null || credentials.uid === 0)
      throw new Error(`the guest's uid ${this.user.uid} has no host uid of its own (see /proc/${this.pid}/uid_map)`);
    return { ...place, credentials };
  }

  /** Where this guest's probes run (as root, and as the desktop user when it has a host uid of its own). */
  async probePlaces(): Promise<ProbePlace[]> {
    const places = [await this.probePlace(false)];
    const user = await this.probePlace(true).catch(() => null);
    if (user && user.credentials !== null) places.push(user);
    return places;
  }

  warmProbes(who: { root: boolean; user: boolean }): void {
    // Errors are the first probe's to report.
    if (who.root) void this.probePlace(false).then(warmProbeChild, () => undefined);
    if (who.user) void this.probePlace(true).then(warmProbeChild, () => undefined);
  }

  async probe<K extends ProbeName>(
    name: K,
    request: ProbeRequests[K],
    opts: { timeoutMs?: number; asUser?: boolean } = {},
  ): Promise<ProbeResponses[K]> {
    const reply = await runProbe(await this.probePlace(opts.asUser ?? false), name, request, opts.timeoutMs ?? 2000);
    if (!reply.ok) throw new Error(reply.error);
    return reply.response;
  }

  processes(): Promise<GuestProcess[]> {
    this.processCache ??= this.loadProcesses();
    return this.processCache;
  }

  private async loadProcesses(): Promise<GuestProcess[]> {
    const rule = this.desc.membership;
    if (rule === null) return [];
    const all = await (this.desc.hostProcesses ?? listHostProcesses)();
    // Only the members are read further (uid, comm, cmdline): the rest of the host costs one stat each.
    return guestMembers(rule, all as unknown as (HostProcess & ProcessFacts)[]).map(({ pid, ppid, uid, comm, cmdline }) => ({
      pid,
      ppid,
      uid,
      comm,
      cmdline,
    }));
  }

  mounts(): Promise<MountEntry[]> {
    this.mountCache ??= this.loadMounts();
    return this.mountCache;
  }

  private async loadMounts(): Promise<MountEntry[]> {
    if (this.pid !== null) {
      const text = readProcText(`/proc/${this.pid}/mountinfo`, PROC_CAPS.mountinfo);
      if (text !== null) return parseMountinfo(text);
    }
    // No process to ask: the guest will see what the host has mounted under its root.
    const host = parseMountinfo(readProcText('/proc/self/mountinfo', PROC_CAPS.mountinfo) ?? '');
    return mountsUnder(host, this.desc.root)
      .reverse()
      .map((m) => ({ ...m, mountPoint: toGuestMountPoint(this.desc.root, m.mountPoint) }));
  }

  verifyIdentity(): void {
    this.desc.pin?.verify(`${this.kind}:${this.name}`);
  }
}

/**
 * Lets the guests of one run (`check --all`) share probe children: one child per network
 * namespace and host credentials holding every such guest's root, instead of two per guest.
 */
export async function shareProbesAmong(targets: Target[]): Promise<void> {
  const guests = targets.filter((t): t is GuestTarget => t instanceof GuestTarget);
  shareProbeChildren((await Promise.all(guests.map((g) => g.probePlaces().catch(() => [])))).flat());
}
