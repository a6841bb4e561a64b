import { parseGroup, parsePasswd, type PasswdEntry } from '../parse/passwd.js';
import type { GuestFiles } from '../guest/guest-files.js';
import type { GuestUser } from '../core/target.js';

/** How the desktop user was asked for: `--user`, SUDO_UID, a session process's uid. */
export interface UserHints {
  option?: string;
  sudoUid?: string;
  sessionUid?: number;
  /** The user to fall back on instead of uid 1000 (the guest's only regular user), still reported as the default. */
  defaultUid?: number;
}

/**
 * Picks the desktop user inside the guest: `--user`, then SUDO_UID, then the session process's owner, then 1000.
 * `passwd`: the guest's /etc/passwd as the caller already parsed it (read here when not given).
 */
export async function resolveGuestUser(files: GuestFiles, hints: UserHints, passwd?: readonly PasswdEntry[]): Promise<GuestUser> {
  const [passwdRead, groupRead] = await Promise.all([passwd ? null : files.readFile('/etc/passwd'), files.readFile('/etc/group')]);
  passwd ??= passwdRead?.ok ? parsePasswd(passwdRead.text) : [];
  const groups = groupRead.ok ? parseGroup(groupRead.text) : [];

  let source: GuestUser['source'] = 'default';
  let wanted: string | number = hints.defaultUid ?? 1000;
  if (hints.option !== undefined && hints.option !== '') {
    source = 'option';
    wanted = /^\d+$/.test(hints.option) ? Number(hints.option) : hints.option;
  } else if (hints.sudoUid !== undefined && /^\d+$/.test(hints.sudoUid) && hints.sudoUid !== '0') {
    source = 'sudo';
    wanted = Number(hints.sudoUid);
  } else if (hints.sessionUid !== undefined && hints.sessionUid > 0) {
    source = 'session-process';
    wanted = hints.sessionUid;
  }
  const entry = passwd.find((p) => (typeof wanted === 'number' ? p.uid === wanted : p.name === wanted));
  if (!entry && typeof wanted === 'string') {
    throw new Error(`no user named "${wanted}" in the guest's /etc/passwd`);
  }
  const uid = entry?.uid ?? (wanted as number);
  const gid = entry?.gid ?? uid;
  const name = entry?.name ?? String(uid);
  return {
    uid,
    gid,
    name,
    source,
    home: entry?.home ?? (uid === 0 ? '/root' : `/home/${name}`),
    groups: groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid),
  };
}
