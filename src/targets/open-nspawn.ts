import { buildGuest } from './build-guest.js';
import { leaderMembers } from './open-pid.js';
import { TargetError } from './target-error.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** Opens `nspawn:NAME` through machined, or from real systemd-nspawn processes. */
export async function openNspawn(name: string, opts: OpenOptions): Promise<GuestTarget> {
  const machines = await opts.host.nspawnMachines();
  const machine =
    machines.find((m) => m.machine === name) ??
    machines.find((m) => m.directory !== null && m.directory.replace(/\/+$/, '').endsWith(`/${name}`));
  if (!machine) {
    const known = machines.map((m) => m.machine).join(', ') || 'none running';
    throw new TargetError(`no systemd-nspawn machine named ${name} (running: ${known})`, 'start it, or run `ctr-doctor list`');
  }
  // Its PID namespace (or cgroup): a booted guest's sandboxed services have mount namespaces of their own.
  const found = await leaderMembers(machine.leaderPid, opts);
  if (!found)
    throw new TargetError(`the leader of machine ${name} (pid ${machine.leaderPid}) vanished`, 'the machine stopped; start it again');
  return buildGuest(
    {
      kind: 'nspawn',
      name: machine.machine,
      dir: null,
      pid: machine.leaderPid,
      membership: found.rule,
      members: found.members,
      fallbackEnv: {},
      fallbackEnvSource: 'none',
      nspawn: { machine: machine.machine, nspawnPid: machine.nspawnPid, argv: machine.argv },
    },
    opts,
  );
}
