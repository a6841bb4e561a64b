import * as fs from 'node:fs';
import { fileOpSteps } from '../guest/guest-file-ops.js';
import { runStepsSync } from '../guest/walk-steps.js';
import { idOutside, parseIdMap, type IdMapRange } from '../parse/id-map.js';
import { parseGroup, parsePasswd, type GroupEntry, type PasswdEntry } from '../parse/passwd.js';
import type { ProbeCredentials } from '../core/probe-types.js';
import { deepFreeze } from '../core/deep-freeze.js';

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
const ID_MAP_CAP = 64 * 1024;

/**
 * The text of the host file `file` (chosen by the tool; never a FIFO or a device), capped; null when
 * unreadable. Read synchronously: the user's probe child waits for these few small local files, and
 * behind a check pass's flood of threadpool reads they took 20-50 ms to come back.
 */
function readHostText(file: string, maxBytes: number): string | null {
  return runStepsSync(fileOpSteps<number>({ op: 'host-read', path: file, maxBytes }, '/', ''), fs) as string | null;
}

/** Reads the host's /etc/passwd and /etc/group (host files, chosen by the host's admin). */
export async function readHostAccounts(): Promise<HostAccounts> {
  const [passwd, group] = ['/etc/passwd', '/etc/group'].map((f) => readHostText(f, ACCOUNT_FILE_CAP) ?? '') as [string, string];
  // Read afresh for every guest (a fix may add an account), parsed again only when the text changed.
  if (lastAccounts?.passwd !== passwd || lastAccounts.group !== group)
    lastAccounts = { passwd, group, parsed: deepFreeze({ passwd: parsePasswd(passwd), groups: parseGroup(group) }) };
  return lastAccounts.parsed;
}

/** The texts last read by readHostAccounts and what they parsed to (frozen: shared by every guest of a run). */
let lastAccounts: { passwd: string; group: string; parsed: HostAccounts } | null = null;

/** Reads /proc/PID/{uid,gid}_map; null maps when the guest shares our user namespace. */
export async function readIdMaps(pid: number | null, ownUserns: boolean): Promise<IdMaps> {
  if (pid === null || ownUserns) return { uid: null, gid: null };
  const [uid, gid] = ['uid_map', 'gid_map'].map((f) => {
    const text = readHostText(`/proc/${pid}/${f}`, ID_MAP_CAP);
    return text === null ? [] : parseIdMap(text);
  });
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
