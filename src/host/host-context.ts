import { lstat, open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { O_PATH, readRegularCapped } from '../guest/walk-in-root.js';
import type { Stats } from 'node:fs';
import { listHostProcesses, ownNamespace } from './procfs.js';
import { parseMountinfo } from '../parse/mountinfo.js';
import { listSchrootSessions, readSchrootChroots, readSchrootSessions, DEFAULT_SCHROOT_PATHS } from './schroot-state.js';
import { machinectlMachines, scanNspawnProcesses } from './nspawn-machines.js';
import { queryHostNameservers } from './host-dns-query.js';
import { readProcessFiles } from './mount-holders.js';
import { connectSocket } from '../guest/probes/socket-connect.js';
import { runCommand } from './run-command.js';
import type {
  Host, HostConnect, HostDnsResult, HostProcess, HostRunOptions, HostStat, HostX11Socket, NspawnMachine, ProcessFiles,
  SchrootConfigProblem, SchrootPaths, SchrootSessionState,
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

/** The real host, shared by all checks of a run. Every part is read lazily and once. */
export class HostContext implements Host {
  readonly invokingEnv: Readonly<Record<string, string | undefined>>;
  readonly schrootPaths: SchrootPaths;

  constructor(opts: { invokingEnv: Record<string, string | undefined>; schrootPaths?: SchrootPaths; timeoutMs?: number }) {
    this.invokingEnv = opts.invokingEnv;
    this.schrootPaths = opts.schrootPaths ?? DEFAULT_SCHROOT_PATHS;
    const timeoutMs = opts.timeoutMs ?? 2000;
    this.nspawnMachines = once(async () => {
      const viaMachined = await machinectlMachines(timeoutMs);
      const scanned = scanNspawnProcesses(await this.processes());
      const known = new Set(viaMachined.map((m) => m.machine));
      return [...viaMachined, ...scanned.filter((m) => !known.has(m.machine))];
    });
    this.schrootListedSessions = once(() => listSchrootSessions(timeoutMs));
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

  readonly processes = once<HostProcess[]>(() => listHostProcesses());

  readonly mountinfo = once<MountEntry[]>(async () => parseMountinfo((await this.readFile('/proc/self/mountinfo', { maxBytes: 64 * 1024 * 1024 })) ?? ''));

  readonly schrootConfig = once<{ chroots: SchrootChroot[]; problems: SchrootConfigProblem[] }>(() => readSchrootChroots(this, this.schrootPaths));

  readonly schrootSessions = once<SchrootSessionState[]>(async () => readSchrootSessions(this, await this.mountinfo(), this.schrootPaths));

  readonly nspawnMachines: () => Promise<NspawnMachine[]>;

  readonly schrootListedSessions: () => Promise<string[] | null>;

  readonly ownNetns = once(() => ownNamespace('net'));

  readonly ownMntns = once(() => ownNamespace('mnt'));

  readonly processFiles = once<ProcessFiles[]>(async () => readProcessFiles(await this.processes()));

  readonly x11Sockets = once<HostX11Socket[]>(async () => {
    const names = (await this.readdir('/tmp/.X11-unix')) ?? [];
    return names.filter((n) => /^X\d+$/.test(n)).map((n) => ({ display: Number(n.slice(1)), path: `/tmp/.X11-unix/${n}` }));
  });

  readonly resolvedProcesses = once(async () => (await this.processes()).filter((p) => p.comm === 'systemd-resolve'));

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
      return Promise.resolve({ exitCode: null, stdout: '', stderr: '', timedOut: false, notFound: true, spawnError: `not an absolute path: ${String(file)}` });
    }
    return runCommand([...argv], opts);
  }

  now(): number {
    return performance.now();
  }
}
