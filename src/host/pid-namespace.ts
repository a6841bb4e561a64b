import { readlink } from 'node:fs/promises';

/** True when process `pid` (or, for null, a guest with no process) is in ctr-doctor's own PID namespace. */
export async function sharesOurPidns(pid: number | null): Promise<boolean> {
  if (pid === null) return true;
  const [ours, theirs] = await Promise.all([readlink('/proc/self/ns/pid').catch(() => null), readlink(`/proc/${pid}/ns/pid`).catch(() => null)]);
  return ours !== null && ours === theirs;
}
