import { readFile, readdir, readlink } from 'node:fs/promises';

const isUnder = (p: string, mountPoint: string): boolean => p === mountPoint || p.startsWith(mountPoint.endsWith('/') ? mountPoint : mountPoint + '/');

/**
 * Processes whose root, working directory or open files lie under `mountPoint`:
 * the usual reasons for "target is busy". Returned as `PID (comm)`.
 */
export async function processesUsing(mountPoint: string): Promise<string[]> {
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  const found: string[] = [];
  for (const pid of pids) {
    const links = [`/proc/${pid}/root`, `/proc/${pid}/cwd`];
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    links.push(...fds.map((fd) => `/proc/${pid}/fd/${fd}`));
    let uses = false;
    for (const link of links) {
      const target = await readlink(link).catch(() => null);
      if (target !== null && isUnder(target, mountPoint)) { uses = true; break; }
    }
    if (!uses) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    found.push(`${pid} (${comm})`);
  }
  return found;
}
