import { readProcess } from '../host/procfs.js';
import { buildGuest } from './build-guest.js';
import { pickSessionProcess } from './session-process.js';
import { TargetError } from './target-error.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** Opens `nspawn:NAME` through machined, or by scanning systemd-nspawn processes. */
export async function openNspawn(name: string, opts: OpenOptions): Promise<GuestTarget> {
  const machines = await opts.host.nspawnMachines();
  const machine = machines.find((m) => m.machine === name) ?? machines.find((m) => m.directory !== null && m.directory.replace(/\/+$/, '').endsWith(`/${name}`));
  if (!machine) {
    const known = machines.map((m) => m.machine).join(', ') || 'none running';
    throw new TargetError(`no systemd-nspawn machine named ${name} (running: ${known})`, 'start it, or run `ctr-doctor list`');
  }
  const leader = await readProcess(machine.leaderPid);
  if (!leader) throw new TargetError(`the leader of machine ${name} (pid ${machine.leaderPid}) vanished`, 'the machine stopped; start it again');
  const members = (await opts.host.processes()).filter((p) => p.mntns === leader.mntns && p.rootId === leader.rootId);
  // Prefer a desktop user's process; the leader's environment is only the container's boot environment.
  const picked = await pickSessionProcess(members.filter((p) => p.uid !== 0));
  const leaderSession = await pickSessionProcess([leader]);
  return buildGuest({
    kind: 'nspawn', name: machine.machine, dir: null, pid: machine.leaderPid, session: picked ?? leaderSession,
    fallbackEnv: {}, fallbackEnvSource: 'none',
    nspawn: { machine: machine.machine, nspawnPid: machine.nspawnPid, argv: machine.argv },
  }, opts);
}
