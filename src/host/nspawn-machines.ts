import { parseNspawnArgs } from '../parse/nspawn-args.js';
import type { HostProcess, NspawnMachine } from '../core/host.js';
import { runCommand } from './run-command.js';

export type { NspawnMachine } from '../core/host.js';

/** Finds machines by scanning systemd-nspawn processes; the leader is the nspawn process's child. */
export function scanNspawnProcesses(processes: HostProcess[]): NspawnMachine[] {
  const machines: NspawnMachine[] = [];
  for (const p of processes) {
    if (p.comm !== 'systemd-nspawn') continue;
    const args = parseNspawnArgs(p.cmdline.slice(1));
    const leader = processes.filter((c) => c.ppid === p.pid).sort((a, b) => a.pid - b.pid)[0];
    const machine = args.effectiveMachine;
    if (!leader || !machine) continue;
    machines.push({ machine, nspawnPid: p.pid, leaderPid: leader.pid, directory: args.directory, argv: p.cmdline, via: 'process-scan' });
  }
  return machines;
}

/** Asks machined, when it runs; empty when machinectl is missing or cannot reach the bus. */
export async function machinectlMachines(timeoutMs: number): Promise<NspawnMachine[]> {
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
