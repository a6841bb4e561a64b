import type { Host } from '../core/host.js';

/**
 * The processes keeping mount `mountId` (or a mount below it) busy, through their root, cwd,
 * open files or mappings: the usual reasons for "target is busy". Returned as `PID (comm)`.
 * Matched by mount id, never by the mount point's path (H5: a guest names its files as it likes).
 */
export async function processesUsing(host: Host, mountId: number): Promise<string[]> {
  const holders = await host.mountHolders(mountId);
  return [...new Set(holders.map((h) => `${h.pid} (${h.comm})`))];
}
