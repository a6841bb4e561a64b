import { readProcessSync, type HostProcess } from '../host/procfs.js';
import { buildGuest, definedOnly, ownFacts } from './build-guest.js';
import { guestMembers, leaderRule, type ProcessFacts } from './membership.js';
import { TargetError } from './target-error.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** The membership rule of a guest led by `pid`, and its processes now (the leader first). */
export async function leaderMembers(pid: number, opts: OpenOptions) {
  const leader = readProcessSync(pid);
  if (!leader) return null;
  const rule = leaderRule(leader, ownFacts());
  const members = guestMembers(rule, (await opts.host.processes()) as (HostProcess & ProcessFacts)[]);
  return { leader, rule, members: members.some((m) => m.pid === pid) ? members : [leader, ...members] };
}

/** Opens `pid:N`: the namespaces and root of any process (docker, podman, bwrap, unshare). */
export async function openPid(pid: number, opts: OpenOptions, kind: 'pid' = 'pid', name = `pid:${pid}`): Promise<GuestTarget> {
  const found = await leaderMembers(pid, opts);
  if (!found) throw new TargetError(`no process ${pid}`, 'check the PID (it may have exited), or run `ctr-doctor list`');
  if (found.leader.rootId === null) throw new TargetError(`cannot open the root of process ${pid}`, 'run ctr-doctor as root (sudo)');
  return buildGuest(
    { kind, name, dir: null, pid, membership: found.rule, members: found.members, fallbackEnv: {}, fallbackEnvSource: 'none' },
    opts,
  );
}

/** Opens `self`: the environment ctr-doctor runs in, for use inside a guest; as `host`, the bare host with no guest chosen. */
export async function openSelf(opts: OpenOptions, as: 'self' | 'host' = 'self'): Promise<GuestTarget> {
  return buildGuest(
    {
      kind: as,
      name: as,
      dir: '/',
      pid: null,
      membership: null,
      members: [],
      fallbackEnv: definedOnly(opts.host.invokingEnv),
      fallbackEnvSource: "ctr-doctor's own environment",
    },
    opts,
  );
}
