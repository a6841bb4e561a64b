import type { Host } from '../core/host.js';

/**
 * The processes keeping mount `mountId` (or a mount below it) busy, through their root, cwd,
 * open files or mappings: the usual reasons for "target is busy". Returned as `PID (comm)`, and a
 * last entry saying so when the host scan could not read every process within its budget.
 * Matched by mount id, never by the mount point's path (H5: a guest names its files as it likes).
 */
export async function processesUsing(host: Host, mountId: number): Promise<string[]> {
  const scan = await host.mountHolders(mountId);
  const named = [...new Set(scan.holders.map((h) => `${h.pid} (${h.comm})`))];
  if (!scan.finished)
    named.push(
      `${named.length > 0 ? 'perhaps also ' : ''}a process the host scan did not reach (it read ${scan.read} of ${scan.total} processes within its budget of ${scan.budgetMs} ms)`,
    );
  else if (scan.unreadable > 0) named.push(`perhaps one of ${scan.unreadable} processes whose files could not be read`);
  return named;
}
