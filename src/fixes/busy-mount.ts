import type { Host } from '../core/host.js';

/**
 * The processes keeping `mountPoint` (or a mount below it) busy, through their root, cwd,
 * open files or mappings: the usual reasons for "target is busy". Returned as `PID (comm)`.
 */
export async function processesUsing(host: Host, mountPoint: string): Promise<string[]> {
  const holders = await host.mountHolders(mountPoint);
  return [...new Set(holders.map((h) => `${h.pid} (${h.comm})`))];
}
