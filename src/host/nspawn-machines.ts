import { lstat } from 'node:fs/promises';
import { parseNspawnArgs } from '../parse/nspawn-args.js';
import { readProcessSync } from './procfs.js';
import type { HostProcess, NspawnMachine } from '../core/host.js';
import { identityOf } from './proc-read.js';
import { runCommand } from './run-command.js';

export type { NspawnMachine } from '../core/host.js';

/** What tells a real systemd-nspawn process from one that only took its name. */
export interface NspawnTrust {
  /** dev:ino of the host's systemd-nspawn binary (with and without /usr merged). */
  exeIds: ReadonlySet<string>;
  /** Our own cgroup v2 path. */
  ownCgroup: string | null;
  /** dev:ino of our own `/`: a machine's leader is rooted elsewhere. */
  ownRootId: string | null;
}

/** The host's own systemd-nspawn binaries and our cgroup. */
export function hostNspawnTrust(): NspawnTrust {
  const ids = ['/usr/bin/systemd-nspawn', '/bin/systemd-nspawn'].map(identityOf).filter((x): x is string => x !== null);
  return { exeIds: new Set(ids), ownCgroup: readProcessSync(process.pid)?.cgroup ?? null, ownRootId: identityOf('/') };
}

/** A process's exe identity and cgroup, when the list holds lazily read host processes; fakes give them as fields. */
type Inspectable = HostProcess & { exeId?: string | null; cgroup?: string | null };

/**
 * True for a process that is really systemd-nspawn (audit H4): run by uid 0, executing the host's
 * own binary (by dev:ino of /proc/PID/exe, never by its comm or argv, which any user sets), and
 * placed where machines run: machine.slice, our own cgroup, or a cgroup its guest lives in.
 */
export function isRealNspawn(p: Inspectable, leader: Inspectable, trust: NspawnTrust): boolean {
  if (p.uid !== 0 || !p.exeId || !trust.exeIds.has(p.exeId)) return false;
  const cg = p.cgroup ?? null;
  if (cg === null) return true;
  // systemd-nspawn moves itself into UNIT/supervisor and its guest into UNIT/payload.
  const unit = cg.replace(/\/supervisor$/, '');
  const leaderCg = leader.cgroup ?? '';
  return (
    cg.includes('/machine.slice/') || cg === trust.ownCgroup || (unit !== '/' && (leaderCg === unit || leaderCg.startsWith(`${unit}/`)))
  );
}

/**
 * Finds machines not registered with machined: a process rooted somewhere other than our root
 * (a machine's leader) whose parent is a real systemd-nspawn. Cheap first: the roots are known
 * from the host scan; only the few processes rooted elsewhere, and their parents, are read further.
 */
export function scanNspawnProcesses(processes: readonly HostProcess[], trust: NspawnTrust = hostNspawnTrust()): NspawnMachine[] {
  const byPid = new Map(processes.map((p) => [p.pid, p as Inspectable]));
  const leaders = new Map<number, Inspectable>();
  for (const p of processes) {
    // By identity: the link of a root in another mount namespace reads "/".
    if (p.rootId === null || p.rootId === trust.ownRootId) continue;
    const parent = byPid.get(p.ppid);
    if (!parent || (leaders.get(parent.pid)?.pid ?? Infinity) < p.pid) continue;
    leaders.set(parent.pid, p);
  }
  const machines: NspawnMachine[] = [];
  for (const [nspawnPid, leader] of leaders) {
    const nspawn = byPid.get(nspawnPid)!;
    if (!isRealNspawn(nspawn, leader, trust)) continue;
    const args = parseNspawnArgs(nspawn.cmdline.slice(1));
    const machine = args.effectiveMachine;
    if (!machine) continue;
    machines.push({ machine, nspawnPid, leaderPid: leader.pid, directory: args.directory, argv: nspawn.cmdline, via: 'process-scan' });
  }
  return machines.sort((a, b) => a.machine.localeCompare(b.machine));
}

/** Where machinectl reaches machined: the system bus, and machined's own varlink directory (systemd ≥ 256). */
export const MACHINED_SOCKETS: readonly string[] = ['/run/dbus/system_bus_socket', '/run/systemd/machine'];

/**
 * Asks machined, when it runs; empty when machinectl is missing or cannot reach it. Without any of
 * `sockets` machinectl could only fail, so it is not started (one program fewer before `--all`
 * knows its guests).
 */
export async function machinectlMachines(timeoutMs: number, sockets: readonly string[] = MACHINED_SOCKETS): Promise<NspawnMachine[]> {
  const present = await Promise.all(
    sockets.map((p) =>
      lstat(p).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!present.includes(true)) return [];
  const list = await runCommand(['machinectl', 'list', '--no-legend', '--no-pager'], { timeoutMs });
  if (list.exitCode !== 0) return [];
  const machines: NspawnMachine[] = [];
  for (const line of list.stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    if (!name) continue;
    const show = await runCommand(['machinectl', 'show', name, '-p', 'Leader', '-p', 'RootDirectory', '-p', 'Class'], { timeoutMs });
    const props = Object.fromEntries(show.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const leaderPid = Number(props.Leader);
    if (!leaderPid) continue;
    machines.push({ machine: name, nspawnPid: null, leaderPid, directory: props.RootDirectory || null, argv: [], via: 'machinectl' });
  }
  return machines;
}
