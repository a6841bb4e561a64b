import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { readFileCapped } from '../guest/capped-read.js';
import type { Stats } from 'node:fs';
import { listHostProcesses, ownNamespace, processOwnersKnown, processStatsKnown, ProcEntry } from './procfs.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { asScan, type HostScanRecord } from '../core/scan-clock.js';
import { timing } from '../core/timing.js';
import { parseMountinfo } from '../parse/mountinfo.js';
import { listSchrootSessions, readSchrootChroots, readSchrootSessions, DEFAULT_SCHROOT_PATHS } from './schroot-state.js';
import { machinectlMachines, scanNspawnProcesses } from './nspawn-machines.js';
import { queryHostNameservers } from './host-dns-query.js';
import { offRootMount, readProcessFiles } from './mount-holders.js';
import { holderScanInput, mountSubtree } from './mount-holders-by-id.js';
import { scanMountHolders } from './holder-scan.js';
import { PROC_CAPS, identityOf, readCappedText } from './proc-read.js';
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
  MountHolderScan,
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
import { notStarted, type ExecResult } from '../core/target.js';
import { fileTypeOf } from '../guest/file-type.js';

/** Memoises an async loader so concurrent checks share one read. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => (cached ??= load());
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Text cut at a cap loses its last, partial line rather than parsing half of it. */
const wholeLines = (text: string): string => (text.endsWith('\n') || text === '' ? text : text.slice(0, text.lastIndexOf('\n') + 1));

/** One answer serves every check that asks (see HostContext's metadata): frozen, so that none can change another's. */
function sharedStat(s: Stats): HostStat {
  return Object.freeze({ type: fileTypeOf(s), mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, dev: s.dev, ino: s.ino });
}

/** How a scan is shown: its budget, and from its value whether it is complete and what it found. */
interface ScanShown<T> {
  budgetMs: number | null;
  detail: (v: T) => string;
  complete?: (v: T) => boolean;
}

/**
 * A shared host scan: once per run, timed on its own clock (not the asking check's), shown by
 * NODE_DEBUG=ctr-doctor and recorded in `records` (the report's hostScans).
 */
function scan<T>(name: string, records: HostScanRecord[], load: () => Promise<T>, shown: ScanShown<T>): () => Promise<T> {
  return once(() =>
    asScan(async () => {
      const started = performance.now();
      const record = (complete: boolean, detail: string): void => {
        const durationMs = Math.round(performance.now() - started);
        records.push({ name, durationMs, budgetMs: shown.budgetMs, complete, detail });
        timing(`host scan ${name}: ${detail} in ${durationMs} ms`);
      };
      try {
        const value = await load();
        record(shown.complete?.(value) ?? true, shown.detail(value));
        return value;
      } catch (error) {
        record(false, `failed: ${(error as Error).message}`);
        throw error;
      }
    }),
  );
}

/** A positive number of milliseconds from the environment, else `dflt`. */
function msFrom(value: string | undefined, dflt: number): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : dflt;
}

/** The budget of the process-table scan every check relies on (and of a fix's holder scan): CTR_DOCTOR_SCAN_BUDGET_MS, else 20 s. */
export function scanBudgetFrom(env: Readonly<Record<string, string | undefined>>): number {
  return msFrom(env.CTR_DOCTOR_SCAN_BUDGET_MS, 20_000);
}

/**
 * The budget of the diagnosis's holder scan (who keeps a leftover mount busy): CTR_DOCTOR_HOLDERS_BUDGET_MS,
 * else {@link DEFAULT_HOLDERS_BUDGET_MS}. Only names are at stake (a fix asks again when umount says
 * "target is busy"), so it is short: a quiet host's few hundred processes take a few ms, a busy host's
 * answer is partial and says so.
 */
export function holdersBudgetFrom(env: Readonly<Record<string, string | undefined>>): number {
  return msFrom(env.CTR_DOCTOR_HOLDERS_BUDGET_MS, DEFAULT_HOLDERS_BUDGET_MS);
}

/** See {@link holdersBudgetFrom}: about 1,700 processes of reads on this 2-core machine, hidden behind the other checks. */
export const DEFAULT_HOLDERS_BUDGET_MS = 100;

/**
 * systemd-resolved, by its comm. Its unit always drops root (User=systemd-resolve, or a dynamic
 * user), so the owner of /proc/PID rules out root's processes; the scan thread sends the owners, and
 * the stat lines (comm) of the others, so that nothing is read here.
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
  /** The budget of the diagnosis's holder scan (see {@link holdersBudgetFrom}). */
  readonly holdersBudgetMs: number;
  /** The host scans made so far, in the order they ended. */
  private readonly records: HostScanRecord[] = [];
  private readonly holderScans = new Map<string, () => Promise<MountHolderScan>>();

  constructor(opts: {
    invokingEnv: Record<string, string | undefined>;
    schrootPaths?: SchrootPaths;
    timeoutMs?: number;
    scanBudgetMs?: number;
    holdersBudgetMs?: number;
  }) {
    this.invokingEnv = opts.invokingEnv;
    this.schrootPaths = opts.schrootPaths ?? DEFAULT_SCHROOT_PATHS;
    this.scanBudgetMs = opts.scanBudgetMs ?? scanBudgetFrom(opts.invokingEnv);
    this.holdersBudgetMs = opts.holdersBudgetMs ?? holdersBudgetFrom(opts.invokingEnv);
    const timeoutMs = opts.timeoutMs ?? 2000;
    this.processes = scan('processes', this.records, () => listHostProcesses(this.scanBudgetMs), {
      budgetMs: this.scanBudgetMs,
      detail: (v) => `${v.length} processes`,
    });
    this.nspawnMachines = scan(
      'nspawn machines',
      this.records,
      async () => {
        // The scan thread reads the stat lines of the processes rooted elsewhere (the candidates): none read here.
        const withStats = async (): Promise<HostProcess[]> => {
          const all = await this.processes();
          await processStatsKnown('elsewhere');
          return all;
        };
        const [viaMachined, processes] = await Promise.all([machinectlMachines(timeoutMs), withStats()]);
        const scanned = scanNspawnProcesses(processes);
        const known = new Set(viaMachined.map((m) => m.machine));
        return [...viaMachined, ...scanned.filter((m) => !known.has(m.machine))];
      },
      { budgetMs: null, detail: (v) => `${v.length} machines` },
    );
    this.schrootListedSessions = once(() => listSchrootSessions(timeoutMs));
    this.processFiles = scan(
      'open files',
      this.records,
      async () => readProcessFiles(await this.processes(), '/proc', await this.ownMntns(), offRootMount(await this.mountinfo())),
      { budgetMs: null, detail: (v) => `${v.length} processes` },
    );
    this.resolvedProcesses = scan(
      'systemd-resolved processes',
      this.records,
      async () => {
        const all = await this.processes();
        // The owners rule out root's processes for free once the scan thread has sent them; the others' comm it reads too.
        await processOwnersKnown();
        await processStatsKnown('non-root');
        return filterInChunks(all, isResolved);
      },
      { budgetMs: null, detail: (v) => `${v.length} found` },
    );
  }

  readFile(path: string, opts?: { maxBytes?: number }): Promise<string | null> {
    return readFileCapped(path, opts?.maxBytes ?? DEFAULT_MAX_BYTES);
  }

  readFileOnce(path: string, opts?: { maxBytes?: number }): Promise<string | null> {
    const maxBytes = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
    return this.readOnce(`read ${maxBytes}`, path, () => readFileCapped(path, maxBytes));
  }

  /**
   * Host metadata (stat, lstat, realpath, readlink) and the files of readFileOnce, read once per path for
   * the run: `check --all`'s guests ask for the same host sockets, /etc/resolv.conf, /etc/group and
   * /proc/self/ns links, each guest again. A run changes nothing on the host (a fix's re-check opens a
   * new HostContext), so its first answer stands.
   */
  private readonly metadata = new Map<string, Promise<unknown>>();

  private readOnce<T>(op: string, path: string, read: () => Promise<T>): Promise<T> {
    const key = `${op}\0${path}`;
    let answer = this.metadata.get(key) as Promise<T> | undefined;
    if (answer === undefined) {
      answer = read();
      this.metadata.set(key, answer);
    }
    return answer;
  }

  stat(path: string): Promise<HostStat | null> {
    return this.readOnce('stat', path, () => stat(path).then(sharedStat, () => null));
  }

  lstat(path: string): Promise<HostStat | null> {
    return this.readOnce('lstat', path, () => lstat(path).then(sharedStat, () => null));
  }

  realpath(path: string): Promise<string | null> {
    return this.readOnce('realpath', path, () => realpath(path).catch(() => null));
  }

  readlink(path: string): Promise<string | null> {
    return this.readOnce('readlink', path, () => readlink(path).catch(() => null));
  }

  readdir(path: string): Promise<string[] | null> {
    return readdir(path).catch(() => null);
  }

  readonly processes: () => Promise<HostProcess[]>;

  readonly deviceNodes = once<HostDeviceNode[]>(() => listDeviceNodes(2000));

  // Read synchronously, like the rest of /proc: a promise-based read waits behind every check's guest
  // reads in libuv's pool (about 50 ms with 10,000 processes on the host), a sync one takes well under 1 ms.
  readonly mountinfo = once<MountEntry[]>(async () =>
    parseMountinfo(wholeLines(readCappedText('/proc/self/mountinfo', PROC_CAPS.mountinfo)?.text ?? '')),
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

  async mountHolders(mountId: number): Promise<MountHolderScan> {
    // Read afresh, not the run's memoised view: a fix asks after the diagnosis, when things moved.
    const mounts = parseMountinfo((await this.readFile('/proc/self/mountinfo', { maxBytes: 64 * 1024 * 1024 })) ?? '');
    const processes = await listHostProcesses(this.scanBudgetMs);
    const input = holderScanInput(processes, mounts, mountSubtree(mounts, mountId), {
      ownMntns: await ownNamespace('mnt'),
      ownRootId: identityOf('/'),
      budgetMs: this.scanBudgetMs,
    });
    return scanMountHolders(input);
  }

  scanMountHolders(mountIds: readonly number[]): Promise<MountHolderScan> {
    const ids = [...new Set(mountIds)].sort((a, b) => a - b);
    const key = ids.join(',');
    let run = this.holderScans.get(key);
    if (!run) {
      run = scan(
        'mount holders',
        this.records,
        async () => {
          const [processes, mounts, ownMntns] = await Promise.all([this.processes(), this.mountinfo(), this.ownMntns()]);
          const opts = { ownMntns, ownRootId: identityOf('/'), budgetMs: this.holdersBudgetMs };
          return scanMountHolders(holderScanInput(processes, mounts, new Set(ids), opts));
        },
        {
          budgetMs: this.holdersBudgetMs,
          complete: (v) => v.finished,
          detail: (v) =>
            `${v.holders.length} holder(s) of ${ids.length} mount(s); read ${v.read} of ${v.total} processes in ${v.elapsedMs} ms` +
            (v.unreadable > 0 ? ` (${v.unreadable} unreadable)` : ''),
        },
      );
      this.holderScans.set(key, run);
    }
    return run();
  }

  /** The host scans this run made so far (the report's hostScans). */
  hostScans(): HostScanRecord[] {
    return this.records.map((r) => ({ ...r }));
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
    if (file === undefined || !file.startsWith('/')) return Promise.resolve(notStarted(`not an absolute path: ${String(file)}`, true));
    return runCommand([...argv], opts);
  }

  program(name: string): string | null {
    return hostProgram(name);
  }

  now(): number {
    return performance.now();
  }
}
