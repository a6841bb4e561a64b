import type { Host } from '../core/host.js';

/** True when process `pid` (or, for null, a guest with no process) is in ctr-doctor's own PID namespace. */
export async function sharesOurPidns(host: Host, pid: number | null): Promise<boolean> {
  if (pid === null) return true;
  const [ours, theirs] = await Promise.all([host.readlink('/proc/self/ns/pid'), host.readlink(`/proc/${pid}/ns/pid`)]);
  return ours !== null && ours === theirs;
}
