import path from 'node:path';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import { mountSubtree } from '../../../src/host/mount-holders-by-id.js';
import { readSchrootChroots, readSchrootSessions, DEFAULT_SCHROOT_PATHS } from '../../../src/host/schroot-state.js';
import type {
  Host,
  HostConnect,
  HostDeviceNode,
  HostDnsResult,
  HostProcess,
  IpcPlace,
  MountHolder,
  MountHolderScan,
  HostRunOptions,
  HostStat,
  HostX11Socket,
  NspawnMachine,
  ProcessFiles,
  SchrootPaths,
  ShmCreated,
  ShmSegmentState,
  SocketHolder,
} from '../../../src/core/host.js';
import type { ExecResult } from '../../../src/core/target.js';

/** A file on the fake host: text, or a special node. Parent directories exist implicitly. */
export type FakeHostFile =
  | string
  | { symlink: string }
  | { dir: boolean; mode?: number; uid?: number; gid?: number }
  /** A unix socket; `listening: false` answers ECONNREFUSED (a stale socket), `errno` any other refusal. */
  | { socket: boolean; listening?: boolean; errno?: string; uid?: number; mode?: number; dev?: number; ino?: number }
  | { content: string; mode?: number; uid?: number; gid?: number; dev?: number; ino?: number };

/** A scripted host command: the absolute argv it expects and what it returns. */
export interface FakeHostCommand {
  argv: string[];
  result: Partial<ExecResult>;
}

/** Everything a host scenario sets up; whatever is left out is empty. */
export interface FakeHostScenario {
  invokingEnv?: Record<string, string | undefined>;
  /** Host files by absolute path. */
  files?: Record<string, FakeHostFile>;
  /** The host's /proc/self/mountinfo text (kernel escapes such as \040 allowed). */
  mountinfo?: string;
  processes?: Partial<HostProcess>[];
  processFiles?: Partial<ProcessFiles>[];
  /** Who holds which mount, by mount id (its mount point comes from `mountinfo`): what scanMountHolders and mountHolders find. */
  holders?: (Partial<Omit<MountHolder, 'mountId' | 'mountPoint'>> & { mountId: number })[];
  /** How far the holder scan got (default: finished, every process read, none unreadable). */
  holderScan?: Partial<Omit<MountHolderScan, 'holders'>>;
  ownNetns?: string | null;
  ownMntns?: string | null;
  schrootPaths?: SchrootPaths;
  /** `schroot --list --all-sessions` ids; null (the default) = schroot missing. */
  listedSessions?: string[] | null;
  nspawnMachines?: NspawnMachine[];
  /** The host's own resolver's answers (only asked with --compare-host). */
  hostDns?: HostDnsResult;
  commands?: FakeHostCommand[];
  /** Absolute paths of host programs by name, for {@link FakeHost.program}. */
  programs?: Record<string, string>;
  /**
   * System V shared memory: `createError` refuses every createShmSegment with that reason;
   * `unreadable` makes shmSegments answer null. Segments live in {@link FakeHost.shm} by namespace id.
   * Process fds (for socketHolders) are files `/proc/PID/fd/N` that are `{ symlink: 'socket:[INODE]' }`.
   */
  shm?: { createError?: string; unreadable?: boolean };
  /** The host's desktop device nodes (/dev/dri, /dev/snd…); none by default. */
  deviceNodes?: HostDeviceNode[];
  /** Milliseconds `now()` advances per call (default 0: time stands still). */
  tickMs?: number;
}

/** The calls a check made, for assertions. */
export interface FakeHostLog {
  run: string[][];
  /** createShmSegment / removeShmSegment calls: `create ns uid mode`, `remove ns shmid`. */
  shm: string[];
  connect: string[];
  dns: string[];
}

/** A full HostProcess from the fields a test cares about. */
export function hostProcess(p: Partial<HostProcess>): HostProcess {
  return {
    pid: 1,
    ppid: 0,
    uid: 0,
    comm: 'sh',
    cmdline: ['sh'],
    rootId: null,
    rootLink: '/',
    netns: null,
    mntns: 'mnt:[1]',
    cwdLink: '/',
    startTime: 0,
    ...p,
  };
}

const MAX_LINKS = 40;

/**
 * A Host whose files, processes, mounts, sockets, commands and clock come from a scenario, in
 * memory: nothing of this machine is read. An unexpected command throws, so the test fails.
 */
export class FakeHost implements Host {
  readonly invokingEnv: Readonly<Record<string, string | undefined>>;
  readonly schrootPaths: SchrootPaths;
  readonly log: FakeHostLog = { run: [], connect: [], dns: [], shm: [] };
  /** The System V segments of each IPC namespace (by `ipc:[N]`), as createShmSegment made them. */
  readonly shm = new Map<string, ShmSegmentState[]>();
  private nextShmid = 0;
  private readonly files = new Map<string, FakeHostFile>();
  private readonly inodes = new Map<string, number>();
  private clock = 1000;

  constructor(private readonly scenario: FakeHostScenario = {}) {
    this.invokingEnv = scenario.invokingEnv ?? {};
    this.schrootPaths = scenario.schrootPaths ?? DEFAULT_SCHROOT_PATHS;
    for (const [p, f] of Object.entries(scenario.files ?? {})) this.files.set(path.posix.normalize(p), f);
  }

  /** Adds or replaces a file after construction (a test's setup step). */
  setFile(p: string, f: FakeHostFile): void {
    this.files.set(path.posix.normalize(p), f);
  }

  private isDir(p: string): boolean {
    if (p === '/') return true;
    const f = this.files.get(p);
    if (f !== undefined) return typeof f === 'object' && 'dir' in f;
    const prefix = `${p}/`;
    return [...this.files.keys()].some((k) => k.startsWith(prefix));
  }

  /** Resolves symlinks in every component (and the last one when `followLast`); null when missing or looping. */
  private resolve(p: string, followLast: boolean): string | null {
    let parts = path.posix.normalize(p).split('/').filter(Boolean);
    let done = '/';
    let links = 0;
    while (parts.length > 0) {
      const [name, ...rest] = parts as [string, ...string[]];
      const next = path.posix.join(done, name);
      const f = this.files.get(next);
      if (f !== undefined && typeof f === 'object' && 'symlink' in f && (rest.length > 0 || followLast)) {
        if (++links > MAX_LINKS) return null;
        const to = f.symlink.startsWith('/') ? f.symlink : path.posix.join(done, f.symlink);
        parts = [...path.posix.normalize(to).split('/').filter(Boolean), ...rest];
        done = '/';
        continue;
      }
      if (rest.length > 0 && !this.isDir(next)) return null;
      done = next;
      parts = rest;
    }
    return done === '/' || this.files.has(done) || this.isDir(done) ? done : null;
  }

  private ino(p: string): number {
    let n = this.inodes.get(p);
    if (n === undefined) {
      n = this.inodes.size + 2;
      this.inodes.set(p, n);
    }
    return n;
  }

  private statOf(p: string): HostStat {
    const f = this.files.get(p);
    const base = { uid: 0, gid: 0, size: 0, dev: 1, ino: this.ino(p) };
    if (f === undefined || (typeof f === 'object' && 'dir' in f)) {
      const d = f as { mode?: number; uid?: number; gid?: number } | undefined;
      return { ...base, type: 'directory', mode: 0o40000 | (d?.mode ?? 0o755), uid: d?.uid ?? 0, gid: d?.gid ?? 0 };
    }
    if (typeof f === 'string') return { ...base, type: 'file', mode: 0o100644, size: Buffer.byteLength(f) };
    if ('symlink' in f) return { ...base, type: 'symlink', mode: 0o120777, size: f.symlink.length };
    if ('socket' in f)
      return { ...base, type: 'socket', mode: 0o140000 | (f.mode ?? 0o777), uid: f.uid ?? 0, dev: f.dev ?? 1, ino: f.ino ?? base.ino };
    return {
      ...base,
      type: 'file',
      mode: 0o100000 | (f.mode ?? 0o644),
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
      size: Buffer.byteLength(f.content),
      dev: f.dev ?? 1,
      ino: f.ino ?? base.ino,
    };
  }

  /** The fake host never changes under a check: the same as {@link readFile}. */
  readFileOnce(p: string, opts?: { maxBytes?: number }): Promise<string | null> {
    return this.readFile(p, opts);
  }

  async readFile(p: string, opts?: { maxBytes?: number }): Promise<string | null> {
    const at = this.resolve(p, true);
    const f = at === null ? undefined : this.files.get(at);
    const text = typeof f === 'string' ? f : f !== undefined && 'content' in f ? f.content : null;
    return text === null ? null : text.slice(0, opts?.maxBytes ?? 1024 * 1024);
  }

  async stat(p: string): Promise<HostStat | null> {
    const at = this.resolve(p, true);
    return at === null ? null : this.statOf(at);
  }

  async lstat(p: string): Promise<HostStat | null> {
    const at = this.resolve(p, false);
    return at === null ? null : this.statOf(at);
  }

  async realpath(p: string): Promise<string | null> {
    return this.resolve(p, true);
  }

  async readlink(p: string): Promise<string | null> {
    const at = this.resolve(p, false);
    const f = at === null ? undefined : this.files.get(at);
    return f !== undefined && typeof f === 'object' && 'symlink' in f ? f.symlink : null;
  }

  async readdir(p: string): Promise<string[] | null> {
    const at = this.resolve(p, true);
    if (at === null || !this.isDir(at)) return null;
    const prefix = at === '/' ? '/' : `${at}/`;
    const names = new Set<string>();
    for (const k of this.files.keys()) if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split('/')[0] ?? '');
    names.delete('');
    return [...names].sort();
  }

  async deviceNodes(): Promise<HostDeviceNode[]> {
    return this.scenario.deviceNodes ?? [];
  }

  async processes(): Promise<HostProcess[]> {
    return (this.scenario.processes ?? []).map(hostProcess);
  }

  async processFiles(): Promise<ProcessFiles[]> {
    return (this.scenario.processFiles ?? []).map((f) => ({
      pid: 1,
      comm: 'sh',
      mntns: 'mnt:[1]',
      root: '/',
      cwd: '/',
      fds: [],
      maps: [],
      complete: true,
      ...f,
    }));
  }

  async ownNetns(): Promise<string | null> {
    return this.scenario.ownNetns === undefined ? 'net:[1]' : this.scenario.ownNetns;
  }

  async ownMntns(): Promise<string | null> {
    return this.scenario.ownMntns === undefined ? 'mnt:[1]' : this.scenario.ownMntns;
  }

  async resolvedProcesses(): Promise<HostProcess[]> {
    return (await this.processes()).filter((p) => p.comm === 'systemd-resolve');
  }

  /** The scripted holders of exactly these mounts, with the scripted scan's reach. */
  private async holdersOf(ids: ReadonlySet<number>, budgetMs: number): Promise<MountHolderScan> {
    const points = new Map((await this.mountinfo()).map((m) => [m.id, m.mountPoint]));
    const total = this.scenario.processes?.length ?? 0;
    const holders = (this.scenario.holders ?? [])
      .filter((h) => ids.has(h.mountId))
      .map((h) => ({ pid: 1, comm: 'sh', how: 'fd' as const, path: '?', ...h, mountPoint: points.get(h.mountId) ?? '?' }));
    return { holders, finished: true, read: total, total, unreadable: 0, elapsedMs: 1, budgetMs, ...this.scenario.holderScan };
  }

  async mountHolders(mountId: number): Promise<MountHolderScan> {
    return this.holdersOf(mountSubtree(await this.mountinfo(), mountId), 20_000);
  }

  async scanMountHolders(mountIds: readonly number[]): Promise<MountHolderScan> {
    return this.holdersOf(new Set(mountIds), 100);
  }

  async mountinfo() {
    return parseMountinfo(this.scenario.mountinfo ?? '');
  }

  schrootConfig() {
    return readSchrootChroots(this, this.schrootPaths);
  }

  async schrootSessions() {
    return readSchrootSessions(this, await this.mountinfo(), this.schrootPaths);
  }

  async schrootListedSessions(): Promise<string[] | null> {
    return this.scenario.listedSessions ?? null;
  }

  async nspawnMachines(): Promise<NspawnMachine[]> {
    return this.scenario.nspawnMachines ?? [];
  }

  async x11Sockets(): Promise<HostX11Socket[]> {
    const names = (await this.readdir('/tmp/.X11-unix')) ?? [];
    return names.filter((n) => /^X\d+$/.test(n)).map((n) => ({ display: Number(n.slice(1)), path: `/tmp/.X11-unix/${n}` }));
  }

  async socketHolders(inodes: readonly number[]): Promise<SocketHolder[]> {
    const out: SocketHolder[] = [];
    for (const [p, f] of this.files) {
      const m = /^\/proc\/(\d+)\/fd\/(\d+)$/.exec(p);
      const link = typeof f === 'object' && 'symlink' in f ? /^socket:\[(\d+)\]$/.exec(f.symlink) : null;
      if (m && link && inodes.includes(Number(link[1]))) out.push({ inode: Number(link[1]), pid: Number(m[1]), fd: Number(m[2]) });
    }
    return out;
  }

  async createShmSegment(place: IpcPlace, owner: { uid: number; gid: number }, opts: { mode: number; bytes: number }): Promise<ShmCreated> {
    this.log.shm.push(`create ${place.ns} ${owner.uid} 0${opts.mode.toString(8)}`);
    if (this.scenario.shm?.createError !== undefined) return { ok: false, reason: this.scenario.shm.createError };
    const shmid = this.nextShmid++;
    const list = this.shm.get(place.ns) ?? [];
    list.push({
      shmid,
      mode: opts.mode,
      bytes: opts.bytes,
      creatorPid: 1,
      lastPid: 0,
      attaches: 0,
      uid: owner.uid,
      gid: owner.gid,
      attachTime: 0,
    });
    this.shm.set(place.ns, list);
    return { ok: true, shmid };
  }

  /** What an X server in namespace `ns` does on ShmAttach of `shmid`: marks that segment attached (for probe scripts). */
  attachShm(ns: string, shmid: number, pid: number): boolean {
    const seg = this.shm.get(ns)?.find((s) => s.shmid === shmid);
    if (!seg) return false;
    seg.attachTime = 1_800_000_000;
    seg.lastPid = pid;
    return true;
  }

  async shmSegments(place: IpcPlace): Promise<ShmSegmentState[] | null> {
    if (this.scenario.shm?.unreadable) return null;
    return (this.shm.get(place.ns) ?? []).map((s) => ({ ...s }));
  }

  async removeShmSegment(place: IpcPlace, shmid: number): Promise<boolean> {
    this.log.shm.push(`remove ${place.ns} ${shmid}`);
    const list = this.shm.get(place.ns) ?? [];
    const i = list.findIndex((s) => s.shmid === shmid);
    if (i >= 0) list.splice(i, 1);
    return i >= 0;
  }

  async connectUnix(p: string): Promise<HostConnect> {
    this.log.connect.push(p);
    const at = this.resolve(p, true);
    const f = at === null ? undefined : this.files.get(at);
    if (f === undefined) return { ok: false, errno: 'ENOENT' };
    if (typeof f !== 'object' || !('socket' in f)) return { ok: false, errno: 'ECONNREFUSED' };
    if (f.errno !== undefined) return { ok: false, errno: f.errno };
    return f.listening === false ? { ok: false, errno: 'ECONNREFUSED' } : { ok: true, errno: null };
  }

  async askHostNameservers(name: string): Promise<HostDnsResult> {
    this.log.dns.push(name);
    if (!this.scenario.hostDns) throw new Error(`FakeHost: unexpected question to the host's nameservers (${name})`);
    return this.scenario.hostDns;
  }

  async run(argv: readonly string[], _opts?: HostRunOptions): Promise<ExecResult> {
    this.log.run.push([...argv]);
    const hit = (this.scenario.commands ?? []).find((c) => c.argv.length === argv.length && c.argv.every((a, i) => argv[i] === a));
    if (!hit) throw new Error(`FakeHost: unexpected host command: ${JSON.stringify(argv)}`);
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false, ...hit.result };
  }

  /** Host programs by name, as a scenario lists them (`programs`); an absolute name is itself. */
  program(name: string): string | null {
    if (name.startsWith('/')) return name;
    return this.scenario.programs?.[name] ?? null;
  }

  now(): number {
    this.clock += this.scenario.tickMs ?? 0;
    return this.clock;
  }
}

/** A host with X display sockets: `live` ones accept connections, the others are stale. */
export function x11Files(displays: { display: number; live: boolean }[]): Record<string, FakeHostFile> {
  return Object.fromEntries(displays.map((d) => [`/tmp/.X11-unix/X${d.display}`, { socket: true, listening: d.live } as const]));
}
