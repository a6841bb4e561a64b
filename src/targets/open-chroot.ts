import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { identityOf } from '../host/proc-read.js';
import { mountsBelow } from '../host/guest-mount-roots.js';
import { buildGuest, definedOnly, ownFacts } from './build-guest.js';
import { chrootRule, guestMembers, type MembershipRule, type ProcessFacts } from './membership.js';
import { TargetError } from './target-error.js';
import type { HostProcess } from '../host/procfs.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';
import type { HostContext } from '../host/host-context.js';

/** A chroot directory's membership rule and its processes now: rooted there (dev:ino), in our mount and user namespaces. */
export async function chrootMembers(dir: string, opts: OpenOptions): Promise<{ rule: MembershipRule | null; members: HostProcess[] }> {
  const id = identityOf(dir);
  if (id === null) return { rule: null, members: [] };
  const rule = chrootRule(id, ownFacts());
  return { rule, members: guestMembers(rule, (await opts.host.processes()) as (HostProcess & ProcessFacts)[]) };
}

/**
 * A root nobody runs in, with mounts below it: mounts.leftover will ask who holds them, and that scan
 * (the same mounts, so the same shared scan) starts now on the host-scan thread, while the target
 * opens and the other checks start, instead of after them. (A process rooted below the root makes the
 * check ask for nothing: the scan then only used the other core for its budget.)
 */
async function startHolderScan(dir: string, host: HostContext): Promise<void> {
  try {
    const below = mountsBelow(dir, await host.mountinfo());
    // Its failure is the check's to report, when it asks.
    if (below.length > 0) host.scanMountHolders(below.map((m) => m.id)).catch(() => undefined);
  } catch {
    // The check makes the same reads and reports what fails.
  }
}

/** Opens a chroot directory. A process running with that root lends its environment, user and network namespace. */
export async function openChroot(dirArg: string, opts: OpenOptions): Promise<GuestTarget> {
  const dir = await realpath(path.resolve(dirArg)).catch(() => null);
  const info = dir ? await stat(dir).catch(() => null) : null;
  if (!dir || !info)
    throw new TargetError(`chroot directory ${dirArg} does not exist`, "give the guest's root directory, or run `ctr-doctor list`");
  if (!info.isDirectory()) throw new TargetError(`${dirArg} is not a directory`, "give the guest's root directory");
  if (dir === '/') throw new TargetError('/ is the host itself, not a chroot', 'use `self` to check the environment ctr-doctor runs in');
  const { rule, members } = await chrootMembers(dir, opts);
  // Not awaited: what it reads and sends fills the waits of opening the target.
  if (members.length === 0 && opts.prefetchMountHolders === true) void startHolderScan(dir, opts.host);
  return buildGuest(
    {
      kind: 'chroot',
      name: dir,
      dir,
      pid: null,
      membership: rule,
      members,
      // No process inside: a chroot started from this shell would inherit this environment.
      fallbackEnv: definedOnly(opts.host.invokingEnv),
      fallbackEnvSource: 'the invoking shell',
    },
    opts,
  );
}
