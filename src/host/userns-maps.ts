import type { Host } from '../core/host.js';
import { parseIdMap, type IdMapRange } from '../parse/id-map.js';

/** How a process's user namespace translates ids, as the host reads it from /proc. */
export interface ProcessIdMaps {
  uidMap: IdMapRange[];
  gidMap: IdMapRange[];
  /** Supplementary groups as host gids (/proc/PID/status Groups:). */
  groups: number[];
  /** What an unmapped id shows as inside (/proc/sys/kernel/overflowuid, overflowgid). */
  overflowUid: number;
  overflowGid: number;
}

/** The id maps of process `pid`, or null when they cannot be read (it exited, or we are not root). */
export async function readProcessIdMaps(host: Host, pid: number): Promise<ProcessIdMaps | null> {
  const [uid, gid, status, ou, og] = await Promise.all([
    host.readFile(`/proc/${pid}/uid_map`),
    host.readFile(`/proc/${pid}/gid_map`),
    host.readFile(`/proc/${pid}/status`),
    host.readFileOnce('/proc/sys/kernel/overflowuid'),
    host.readFileOnce('/proc/sys/kernel/overflowgid'),
  ]);
  if (uid === null || gid === null || status === null) return null;
  const groups = (/^Groups:[ \t]*(.*)$/m.exec(status)?.[1] ?? '')
    .trim()
    .split(/\s+/)
    .filter((g) => g !== '')
    .map(Number);
  return { uidMap: parseIdMap(uid), gidMap: parseIdMap(gid), groups, overflowUid: Number(ou ?? 65534), overflowGid: Number(og ?? 65534) };
}
