import { readFile } from 'node:fs/promises';
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

const read = (p: string): Promise<string | null> => readFile(p, 'utf8').catch(() => null);

/** The id maps of process `pid`, or null when they cannot be read (it exited, or we are not root). */
export async function readProcessIdMaps(pid: number): Promise<ProcessIdMaps | null> {
  const [uid, gid, status, ou, og] = await Promise.all([
    read(`/proc/${pid}/uid_map`), read(`/proc/${pid}/gid_map`), read(`/proc/${pid}/status`),
    read('/proc/sys/kernel/overflowuid'), read('/proc/sys/kernel/overflowgid'),
  ]);
  if (uid === null || gid === null || status === null) return null;
  const groups = (/^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).filter((g) => g !== '').map(Number);
  return { uidMap: parseIdMap(uid), gidMap: parseIdMap(gid), groups, overflowUid: Number(ou ?? 65534), overflowGid: Number(og ?? 65534) };
}
