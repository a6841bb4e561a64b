import { open } from 'node:fs/promises';
import { capabilitiesOf } from '../guest/guest-argv.js';

/** /proc/PID/status is about 1.5 KiB; more than this is not a status file. */
const STATUS_CAP_BYTES = 16 * 1024;

/** Reads at most `max` bytes of a /proc file (whose st_size is 0), or null when it cannot be read. */
async function readCapped(file: string, max: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buf = Buffer.alloc(max);
    let used = 0;
    while (used < max) {
      const { bytesRead } = await handle.read(buf, used, max - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
    }
    return buf.subarray(0, used).toString('utf8');
  } catch {
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * The capability bounding set of process `pid` (`self` for ours) by setpriv name, limited to the
 * ones we have ourselves; null when its status cannot be read.
 */
export async function boundingSetOf(pid: number | 'self'): Promise<string[] | null> {
  const [theirs, ours] = await Promise.all([
    readCapped(`/proc/${pid}/status`, STATUS_CAP_BYTES),
    pid === 'self' ? null : readCapped('/proc/self/status', STATUS_CAP_BYTES),
  ]);
  if (theirs === null) return null;
  const own = ours === null ? undefined : (capabilitiesOf(ours) ?? undefined);
  return capabilitiesOf(theirs, 'CapBnd', own);
}
