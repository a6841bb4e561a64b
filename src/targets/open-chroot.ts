import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { dirIdentity } from '../host/procfs.js';
import { buildGuest, definedOnly } from './build-guest.js';
import { pickSessionProcess } from './session-process.js';
import { TargetError } from './target-error.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** Processes whose root is `dir` (a running chroot), excluding ourselves. */
export async function processesRootedAt(dir: string, opts: OpenOptions) {
  const id = await dirIdentity(dir);
  return (await opts.host.processes()).filter((p) => id !== null && p.rootId === id && p.pid !== process.pid);
}

/** Opens a chroot directory. A process running with that root lends its environment, user and network namespace. */
export async function openChroot(dirArg: string, opts: OpenOptions): Promise<GuestTarget> {
  const dir = await realpath(path.resolve(dirArg)).catch(() => null);
  const info = dir ? await stat(dir).catch(() => null) : null;
  if (!dir || !info) throw new TargetError(`chroot directory ${dirArg} does not exist`, 'give the guest\'s root directory, or run `ctr-doctor list`');
  if (!info.isDirectory()) throw new TargetError(`${dirArg} is not a directory`, 'give the guest\'s root directory');
  if (dir === '/') throw new TargetError('/ is the host itself, not a chroot', 'use `self` to check the environment ctr-doctor runs in');
  const members = await processesRootedAt(dir, opts);
  const session = await pickSessionProcess(members);
  return buildGuest({
    kind: 'chroot', name: dir, dir, pid: session?.pid ?? null, session,
    // No process inside: a chroot started from this shell would inherit this environment.
    fallbackEnv: definedOnly(opts.host.invokingEnv), fallbackEnvSource: 'the invoking shell',
  }, opts);
}
