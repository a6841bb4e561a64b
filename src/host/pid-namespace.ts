import type { Host } from '../core/host.js';
import { linkOrNull } from './proc-read.js';

/** True when process `pid` (or, for null, a guest with no process) is in ctr-doctor's own PID namespace. */
export async function sharesOurPidns(host: Host, pid: number | null): Promise<boolean> {
  if (pid === null) return true;
  const [ours, theirs] = await Promise.all([host.readlink('/proc/self/ns/pid'), host.readlink(`/proc/${pid}/ns/pid`)]);
  return ours !== null && ours === theirs;
}

/** The namespaces `nsenter -t PID -m -u -i -n -p -C` enters (with the user namespace, which it enters on request). */
const ENTERED_NAMESPACES = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup', 'user'] as const;

/**
 * True when process `pid` is in every namespace a guest command would enter (see guest-argv.ts)
 * that ctr-doctor itself is in: a plain chroot's process. Compared by the kernel's namespace ids;
 * any link that cannot be read counts as different.
 */
export function sharesEveryNamespace(pid: number): boolean {
  // Ours, read once: ctr-doctor never changes its own namespaces.
  ownLinks ??= ENTERED_NAMESPACES.map((ns) => linkOrNull(`/proc/self/ns/${ns}`));
  const ours = ownLinks;
  return ENTERED_NAMESPACES.every((ns, i) => ours[i] !== null && ours[i] === linkOrNull(`/proc/${pid}/ns/${ns}`));
}

let ownLinks: (string | null)[] | undefined;
