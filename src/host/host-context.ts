import { lstat, open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { O_PATH, readRegularCapped } from '../guest/walk-in-root.js';
import type { Stats } from 'node:fs';
import { listHostProcesses, ownNamespace, processOwnersKnown, ProcEntry } from './procfs.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { asScan } from '../core/scan-clock.js';
import { timing } from '../core/timing.js';
import { parseMountinfo } from '../parse/mountinfo.js';
import { listSchrootSessions, readSchrootChroots, readSchrootSessions, DEFAULT_SCHROOT_PATHS } from './schroot-state.js';
import { machinectlMachines, scanNspawnProcesses } from './nspawn-machines.js';
import { queryHostNameservers } from './host-dns-query.js';
import { offRootMount, readProcessFiles } from './mount-holders.js';
import { mountHoldersById } from './mount-holders-by-id.js';
import { PROC_CAPS } from './proc-read.js';
import { connectSocket } from '../guest/probes/socket-connect.js';
import { runCommand } from './run-command.js';
import { hostProgram } from './host-programs.js';
import { findSocketHolders } from './socket-holders.js';
import { createShmSegment, removeShmSegment, shmSegments } from './sysv-shm.js';
import type { ShmSegmentState } from '../parse/sysvipc-shm.js';
import { listDeviceNodes } from './device-nodes.js';
import type {
  Host,
  HostConnect,
  HostDeviceNode,
  HostDnsResult,
  HostProcess,
  IpcPlace,
  MountHolder,
  ShmCreated,
  SocketHolder,
  HostRunOptions,
  HostStat,
  HostX11Socket,
  NspawnMachine,
  ProcessFiles,
  SchrootConfigProblem,
  SchrootPaths,
  SchrootSessionState,
} from '../core/host.js';
import type { MountEntry } from '../parse/mountinfo.js';
import type { SchrootChroot } from '../parse/schroot-config.js';
import type { ExecResult } from '../core/target.js';

/** Memoises an async loader so concurrent checks share one read. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => (cached ??= load());
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Text cut at a cap loses its last, partial line rather than parsing half of it. */
const wholeLines = (text: string): string => (text.endsWith('\n') || text === '' ? text : text.slice(0, text.lastIndexOf('\n') + 1));

function typeOf(s: Stats): HostStat['type'] {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isSocket()) return 'socket';
  if (s.isFIFO()) return 'fifo';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  return 'unknown';
}

function hostStat(s: Stats): HostStat {
  return { type: typeOf(s), mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, dev: s.dev, ino: s.ino };
}

/**
 * Reads at most `maxBytes` of a regular file; a FIFO or a device is never opened. The size from
 * stat is not trusted: /proc and /sys files say 0 or 4096 whatever they hold (audit L2).
 */
async function readCapped(path: string, maxBytes: number): Promise<string | null> {
  const handle = await open(path, O_PATH).catch(() => null);
  if (!handle) return null;
  try {
    const read = await readRegularCapped(handle, maxBytes);
    return read === null ? null : read.bytes.toString('utf8');
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/** A shared host scan: once per run, timed on its own clock (not the asking check's), shown by NODE_DEBUG=ctr-doctor. */
function scan<T>(name: string, load: () => Promise<T>, size: (v: T) => string): () => Promise<T> {
  return once(() =>
    asScan(async () => {
      const started = performance.now();
      try {
        const value = await load();
        timing(`host scan ${name}: ${size(value)} in ${Math.round(performance.now() - started)} ms`);
        return value;
      } catch (error) {
        timing(`host scan ${name} failed after ${Math.round(performance.now() - started)} ms: ${(error as Error).message}`);
        throw error;
      }
    }),
  );
}

/** The budget of each host scan: CTR_DOCTOR_SCAN_BUDGET_MS, else 20 s. */
export function scanBudgetFrom(env: Readonly<Record<string, string | undefined>>): number {
  const n = Number(env.CTR_DOCTOR_SCAN_BUDGET_MS);
  return Number.isFinite(n) && n > 0 ? n : 20_000;
}

/**
 * systemd-resolved, by its comm. Its unit always drops root (User=systemd-resolve, or a dynamic
 * user), so the owner of /proc/PID, one stat, rules out root's processes before their stat is read.
 */
function isResolved(p: HostProcess): boolean {
  if (p instanceof ProcEntry && p.ownerUid === 0) return false;
  return p.comm === 'systemd-resolve';
}

/** How long a host scan runs before the event loop turns (other checks' probes and commands go on meanwhile). */
const SCAN_SLICE_MS = 10;

/**
 * `items.filter(keep)`, with the event loop turning every {@link SCAN_SLICE_MS} of work. By time, not
 * by count: on a busy loop every turn waits behind the others' work, and 10,000 processes that cost
 * nothing to rule out (root's, no read) made 40 turns, most of a second of waiting.
 */
async function filterInChunks<T>(items: readonly T[], keep: (item: T) => boolean): Promise<T[]> {
  const out: T[] = [];
  let sliceStart = performance.now();
  for (let i = 0; i < items.length; i++) {
    if (i % 64 === 63 && performance.now() - sliceStart > SCAN_SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
    if (keep(items[i]!)) out.push(items[i]!);
  }
  return out;
}

/** The real host, shared by all checks of a run (and by every guest of `check --all`). Every part is read lazily and once. */
export class HostContext implements Host {
  readonly invokingEnv: Readonly<Record<string, string | undefined>>;
  readonly schrootPaths: SchrootPaths;
  /** How long one host scan may take before the checks that need it say it did not finish. */
  readonly scanBudgetMs: number;

  constructor(opts: {
    invokingEnv: Record<string, string | undefined>;
    schrootPaths?: SchrootPaths;
    timeoutMs?: number;
    scanBudgetMs?: number;
  }) {
    this.invokingEnv = opts.invokingEnv;
    this.schrootPaths = opts.schrootPaths ?? DEFAULT_SCHROOT_PATHS;
    this.scanBudgetMs = opts.scanBudgetMs ?? scanBudgetFrom(opts.invokingEnv);
    const timeoutMs = opts.timeoutMs ?? 2000;
    this.processes = scan(
      'processes',
      () => listHostProcesses(this.scanBudgetMs),
      (v) => `${v.length} processes`,
    );
    this.nspawnMachines = scan(
      'nspawn machines',
      async () => {
        const [viaMachined, processes] = await Promise.all([machinectlMachines(timeoutMs), this.processes()]);
        const scanned = scanNspawnProcesses(processes);
        const known = new Set(viaMachined.map((m) => m.machine));
        return [...viaMachined, ...scanned.filter((m) => !known.has(m.machine))];
      },
      (v) => `${v.length} machines`,
    );
    this.schrootListedSessions = once(() => listSchrootSessions(timeoutMs));
    this.processFiles = scan(
      'open files',
      async () => readProcessFiles(await this.processes(), '/proc', await this.ownMntns(), offRootMount(await this.mountinfo())),
      (v) => `${v.length} processes`,
    );
    this.resolvedProcesses = scan(
      'systemd-resolved processes',
      async () => {
        const all = await this.processes();
        // The owners rule out root's processes for free once the scan thread has sent them.
        await processOwnersKnown();
        return filterInChunks(all, isResolved);
      },
      (v) => `${v.length} found`,
    );
  }

  readFile(path: string, opts?: { maxBytes?: number }): Promise<string | null> {
    return readCapped(path, opts?.maxBytes ?? DEFAULT_MAX_BYTES);
  }

  stat(path: string): Promise<HostStat | null> {
    return stat(path).then(hostStat, () => null);
  }

  lstat(path: string): Promise<HostStat | null> {
    return lstat(path).then(hostStat, () => null);
  }

  realpath(path: string): Promise<string | null> {
    return realpath(path).catch(() => null);
  }

  readlink(path: string): Promise<string | null> {
    return readlink(path).catch(() => null);
  }

  readdir(path: string): Promise<string[] | null> {
    return readdir(path).catch(() => null);
  }

  readonly processes: () => Promise<HostProcess[]>;

  readonly deviceNodes = once<HostDeviceNode[]>(() => listDeviceNodes(2000));

  readonly mountinfo = once<MountEntry[]>(async () =>
    parseMountinfo(wholeLines((await this.readFile('/proc/self/mountinfo', { maxBytes: PROC_CAPS.mountinfo })) ?? '')),
  );

  readonly schrootConfig = once<{ chroots: SchrootChroot[]; problems: SchrootConfigProblem[] }>(() =>
    readSchrootChroots(this, this.schrootPaths),
  );

  readonly schrootSessions = once<SchrootSessionState[]>(async () => readSchrootSessions(this, await this.mountinfo(), this.schrootPaths));

  readonly nspawnMachines: () => Promise<NspawnMachine[]>;

  readonly schrootListedSessions: () => Promise<string[] | null>;

  readonly ownNetns = once(() => ownNamespace('net'));

  readonly ownMntns = once(() => ownNamespace('mnt'));

  /** The root, cwd, open files and mappings of every process in our mount namespace: what keeps a mount busy. */
  readonly processFiles: () => Promise<ProcessFiles[]>;

  readonly x11Sockets = once<HostX11Socket[]>(async () => {
    const names = (await this.readdir('/tmp/.X11-unix')) ?? [];
    return names.filter((n) => /^X\d+$/.test(n)).map((n) => ({ display: Number(n.slice(1)), path: `/tmp/.X11-unix/${n}` }));
  });

  readonly resolvedProcesses: () => Promise<HostProcess[]>;

  async mountHolders(mountId: number): Promise<MountHolder[]> {
    // Read afresh, not the run's memoised view: a fix asks after the diagnosis, when things moved.
    const mounts = parseMountinfo((await this.readFile('/proc/self/mountinfo', { maxBytes: 64 * 1024 * 1024 })) ?? '');
    return mountHoldersById(await listHostProcesses(), mounts, mountId, await ownNamespace('mnt'));
  }

  async socketHolders(inodes: readonly number[], prefer: readonly string[] = []): Promise<SocketHolder[]> {
    return findSocketHolders(await this.processes(), inodes, prefer, '/proc', Math.min(this.scanBudgetMs, 2000));
  }

  createShmSegment(place: IpcPlace, owner: { uid: number; gid: number }, opts: { mode: number; bytes: number }): Promise<ShmCreated> {
    return createShmSegment(place, owner, opts);
  }

  shmSegments(place: IpcPlace): Promise<ShmSegmentState[] | null> {
    return shmSegments(place);
  }

  removeShmSegment(place: IpcPlace, shmid: number): Promise<boolean> {
    return removeShmSegment(place, shmid);
  }

  async connectUnix(path: string, timeoutMs: number): Promise<HostConnect> {
    // Host paths from the host's root, in-process: a path socket ignores the network namespace.
    const outcome = await connectSocket({ kind: 'path', path }, timeoutMs);
    if (!outcome.ok) return { ok: false, errno: outcome.errno };
    outcome.socket.destroy();
    return { ok: true, errno: null };
  }

  askHostNameservers(name: string, timeoutMs: number): Promise<HostDnsResult> {
    return queryHostNameservers(name, timeoutMs);
  }

  run(argv: readonly string[], opts: HostRunOptions = {}): Promise<ExecResult> {
    const file = argv[0];
    // Host programs by absolute path only: neither PATH nor a guest can choose what runs.
    if (file === undefined || !file.startsWith('/')) {
      return Promise.resolve({
        exitCode: null,
        stdout: '',
        stderr: '',
        timedOut: false,
        notFound: true,
        spawnError: `not an absolute path: ${String(file)}`,
      });
    }
    return runCommand([...argv], opts);
  }

  program(name: string): string | null {
    return hostProgram(name);
  }

  now(): number {
    return performance.now();
  }
}
