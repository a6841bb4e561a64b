import { capabilitiesOf } from '../guest/guest-argv.js';
import { PROC_CAPS, readCappedText } from './proc-read.js';

/** The text of /proc/PID/status (about 1.5 KiB, capped), or null when it cannot be read. */
function statusOf(pid: number | 'self'): string | null {
  // Read synchronously, like the rest of /proc: well under a millisecond, where a promise-based read waits in libuv's pool.
  return readCappedText(`/proc/${pid}/status`, PROC_CAPS.status)?.text ?? null;
}

let ownBounding: string[] | null | undefined;

/** Our own bounding set, read once: it can only shrink (PR_CAPBSET_DROP), and ctr-doctor never drops a capability. */
function ownBoundingSet(): string[] | null {
  if (ownBounding === undefined) {
    const text = statusOf('self');
    ownBounding = text === null ? null : capabilitiesOf(text);
  }
  return ownBounding;
}

/**
 * The capability bounding set of process `pid` (`self` for ours) by setpriv name, limited to the
 * ones we have ourselves; null when its status cannot be read.
 */
export async function boundingSetOf(pid: number | 'self'): Promise<string[] | null> {
  const theirs = statusOf(pid);
  if (theirs === null) return null;
  const own = pid === 'self' ? undefined : (ownBoundingSet() ?? undefined);
  return capabilitiesOf(theirs, 'CapBnd', own);
}
