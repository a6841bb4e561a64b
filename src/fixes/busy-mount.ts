import { readFile } from 'node:fs/promises';
import { isUnder, parseMountinfo } from '../parse/mountinfo.js';
import { mountHolders, readProcessFiles } from '../host/mount-holders.js';
import { listHostProcesses, ownNamespace } from '../host/procfs.js';

/**
 * The processes keeping `mountPoint` (or a mount below it) busy, through their root, cwd,
 * open files or mappings: the usual reasons for "target is busy". Returned as `PID (comm)`.
 */
export async function processesUsing(mountPoint: string): Promise<string[]> {
  const mounts = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => isUnder(m.mountPoint, mountPoint));
  const files = await readProcessFiles(await listHostProcesses());
  const holders = mountHolders(files, mounts, await ownNamespace('mnt'));
  return [...new Set(holders.map((h) => `${h.pid} (${h.comm})`))];
}
