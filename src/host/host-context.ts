import { readFile, readdir } from 'node:fs/promises';
import { listHostProcesses, ownNamespace, type HostProcess } from './procfs.js';
import { parseMountinfo, type MountEntry } from '../parse/mountinfo.js';
import { listSchrootSessions, readSchrootChroots, readSchrootSessions, type SchrootPaths, DEFAULT_SCHROOT_PATHS, type SchrootConfigProblem, type SchrootSessionState } from './schroot-state.js';
import { machinectlMachines, scanNspawnProcesses, type NspawnMachine } from './nspawn-machines.js';
import type { SchrootChroot } from '../parse/schroot-config.js';
import { queryHostNameservers, type HostDnsResult } from './host-dns-query.js';
import { readProcessFiles, type ProcessFiles } from './mount-holders.js';

/** Memoises an async loader so concurrent checks share one read. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => (cached ??= load());
}

/** The host's side of things, shared by all checks of a run. Every part is read lazily and once. */
export class HostContext {
  /** The environment ctr-doctor was started with (the user's shell, possibly through sudo). */
  readonly invokingEnv: Record<string, string | undefined>;
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

  readonly processes = once<HostProcess[]>(() => listHostProcesses());

  readonly mountinfo = once<MountEntry[]>(async () => parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')));

  readonly schrootConfig = once<{ chroots: SchrootChroot[]; problems: SchrootConfigProblem[] }>(() => readSchrootChroots(this.schrootPaths));

  readonly schrootSessions = once<SchrootSessionState[]>(async () => readSchrootSessions(await this.mountinfo(), this.schrootPaths));

  readonly nspawnMachines: () => Promise<NspawnMachine[]>;

  /** `schroot --list --all-sessions`, or null when schroot is missing or fails. */
  readonly schrootListedSessions: () => Promise<string[] | null>;

  readonly ownNetns = once(() => ownNamespace('net'));

  readonly ownMntns = once(() => ownNamespace('mnt'));

  /** Every process's root, cwd, open files and mappings: what keeps a mount busy. */
  readonly processFiles = once<ProcessFiles[]>(async () => readProcessFiles(await this.processes()));

  /** The host's X11 displays: socket names in /tmp/.X11-unix (liveness is probed by the x11 checks). */
  readonly x11Sockets = once(async () => {
    const names = await readdir('/tmp/.X11-unix').catch(() => [] as string[]);
    return names.filter((n) => /^X\d+$/.test(n)).map((n) => ({ display: Number(n.slice(1)), path: `/tmp/.X11-unix/${n}` }));
  });

  /** systemd-resolved processes on the whole host, with their network namespaces. */
  readonly resolvedProcesses = once(async () => (await this.processes()).filter((p) => p.comm === 'systemd-resolve'));

  /** Asks the host's own nameservers from the host's network namespace. Sends packets from the host: only for --compare-host. */
  askHostNameservers(name: string, timeoutMs: number): Promise<HostDnsResult> {
    return queryHostNameservers(name, timeoutMs);
  }
}
