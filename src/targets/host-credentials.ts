import { readFile } from 'node:fs/promises';
import { idOutside, parseIdMap, type IdMapRange } from '../parse/id-map.js';
import { parseGroup, parsePasswd, type GroupEntry, type PasswdEntry } from '../parse/passwd.js';
import type { ProbeCredentials } from '../core/probe-types.js';

/** The host's own accounts (its /etc/passwd and /etc/group), which say what groups a host uid really has. */
export interface HostAccounts {
  passwd: PasswdEntry[];
  groups: GroupEntry[];
}

/** How a guest's ids become host ids: its user namespace's maps, or null for ours (no translation). */
export interface IdMaps {
  uid: IdMapRange[] | null;
  gid: IdMapRange[] | null;
}

/** The gid of the host's `nogroup` (Debian) / `nobody` group: what an unknown account gets. */
const OVERFLOW_GID = 65534;
const ACCOUNT_FILE_CAP = 4 * 1024 * 1024;

async function readCapped(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.slice(0, ACCOUNT_FILE_CAP);
}

/** Reads the host's /etc/passwd and /etc/group (host files, chosen by the host's admin). */
export async function readHostAccounts(): Promise<HostAccounts> {
  const [passwd, groups] = await Promise.all([readCapped('/etc/passwd'), readCapped('/etc/group')]);
  return { passwd: parsePasswd(passwd), groups: parseGroup(groups) };
}

/** Reads /proc/PID/{uid,gid}_map; null maps when the guest shares our user namespace. */
export async function readIdMaps(pid: number | null, ownUserns: boolean): Promise<IdMaps> {
  if (pid === null || ownUserns) return { uid: null, gid: null };
  const [uid, gid] = await Promise.all(
    ['uid_map', 'gid_map'].map((f) =>
      readFile(`/proc/${pid}/${f}`, 'utf8').then(
        (t) => parseIdMap(t.slice(0, 64 * 1024)),
        () => [],
      ),
    ),
  );
  return { uid: uid!, gid: gid! };
}

/**
 * The host credentials that stand for guest ids `guest` (M2): uid and gid translated through the
 * guest's user namespace maps, then only groups the host account of that uid really has (its
 * primary group and the host /etc/group memberships). A guest's /etc/group cannot put the probe
 * child in the host's `disk`, `shadow` or `docker` group. An id with no host mapping gives null.
 */
export function hostCredentials(
  guest: { uid: number; gid: number; groups?: number[] },
  maps: IdMaps,
  host: HostAccounts,
): ProbeCredentials | null {
  const uid = maps.uid ? idOutside(maps.uid, guest.uid) : guest.uid;
  const gid = maps.gid ? idOutside(maps.gid, guest.gid) : guest.gid;
  if (uid === null || gid === null) return null;
  const groups = (guest.groups ?? []).map((g) => (maps.gid ? idOutside(maps.gid, g) : g)).filter((g): g is number => g !== null);
  const account = host.passwd.find((p) => p.uid === uid);
  if (!account) {
    // No host account: it has no groups; its gid only when no host group owns that number.
    const known = host.groups.some((g) => g.gid === gid);
    return { uid, gid: known && gid !== uid ? OVERFLOW_GID : gid, groups: [] };
  }
  const has = new Set([account.gid, ...host.groups.filter((g) => g.members.includes(account.name)).map((g) => g.gid)]);
  return { uid, gid: has.has(gid) ? gid : account.gid, groups: [...new Set(groups)].filter((g) => has.has(g) && g !== gid) };
}
