import { readProcess } from '../host/procfs.js';
import { buildGuest, definedOnly } from './build-guest.js';
import { pickSessionProcess } from './session-process.js';
import { TargetError } from './target-error.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** Opens `pid:N`: the namespaces and root of any process (docker, podman, bwrap, unshare). */
export async function openPid(pid: number, opts: OpenOptions, kind: 'pid' = 'pid', name = `pid:${pid}`): Promise<GuestTarget> {
  const proc = await readProcess(pid);
  if (!proc) throw new TargetError(`no process ${pid}`, 'check the PID (it may have exited), or run `ctr-doctor list`');
  if (proc.rootId === null) throw new TargetError(`cannot open the root of process ${pid}`, 'run ctr-doctor as root (sudo)');
  const session = await pickSessionProcess([proc]);
  return buildGuest({ kind, name, dir: null, pid, session, fallbackEnv: {}, fallbackEnvSource: 'none' }, opts);
}

/** Opens `self`: the environment ctr-doctor runs in, for use inside a guest. */
export async function openSelf(opts: OpenOptions): Promise<GuestTarget> {
  return buildGuest({
    kind: 'self', name: 'self', dir: '/', pid: null, session: null,
    fallbackEnv: definedOnly(opts.host.invokingEnv), fallbackEnvSource: 'ctr-doctor\'s own environment',
  }, opts);
}
