import type { PasswdEntry } from '../parse/passwd.js';
import type { GuestSession } from '../core/target.js';
import type { UidRange } from '../parse/login-defs.js';
import { bestSessionCandidate, type SessionCandidate } from './session-process.js';

export type { GuestSession } from '../core/target.js';

/** A login shell that refuses logins: the account is a system one whatever its uid. */
export function refusesLogin(shell: string): boolean {
  return /(^|\/)(nologin|false)$/.test(shell.trim());
}

/** A regular (human) account: uid in login.defs' range and a shell that logs in (audit: messagebus is not a desktop user). */
export function isRegularUid(uid: number, passwd: readonly PasswdEntry[], range: UidRange): boolean {
  if (uid < range.uidMin || uid > range.uidMax) return false;
  const entry = passwd.find((p) => p.uid === uid);
  return entry === undefined || !refusesLogin(entry.shell);
}

/** The regular accounts of a guest's passwd. */
export function regularUsers(passwd: readonly PasswdEntry[], range: UidRange): PasswdEntry[] {
  return passwd.filter((p) => p.uid >= range.uidMin && p.uid <= range.uidMax && !refusesLogin(p.shell));
}

/** What the session choice is made from. */
export interface SessionInputs {
  /** Candidate processes (the guest's members) with their environments. */
  candidates: SessionCandidate[];
  passwd: readonly PasswdEntry[];
  range: UidRange;
  /** The uid `--user` names, if given. */
  optionUid?: number;
  /** The guest's name, for the reason. */
  guest: string;
}

/** The session, or why there is none. */
export type SessionChoice =
  { session: GuestSession; env: Record<string, string> | null; reason: null } | { session: null; env: null; reason: string };

/**
 * Picks the desktop session (issue 12 item 3). With `--user`, that user's best process, else
 * that user without a process. Without it, the best process of a regular user (never a system
 * account such as messagebus), else the guest's only regular user from passwd, else none, with
 * the one reason every desktop check gives for skipping.
 */
export function chooseSession(inputs: SessionInputs): SessionChoice {
  const { candidates, passwd, range, optionUid, guest } = inputs;
  if (optionUid !== undefined) {
    const best = bestSessionCandidate(candidates.filter((c) => c.p.uid === optionUid));
    return best
      ? { session: { pid: best.p.pid, uid: optionUid, source: 'option' }, env: best.env, reason: null }
      : { session: { pid: null, uid: optionUid, source: 'option' }, env: null, reason: null };
  }
  const best = bestSessionCandidate(candidates.filter((c) => isRegularUid(c.p.uid, passwd, range)));
  if (best) return { session: { pid: best.p.pid, uid: best.p.uid, source: 'process' }, env: best.env, reason: null };
  const regular = regularUsers(passwd, range);
  if (regular.length === 1) return { session: { pid: null, uid: regular[0]!.uid, source: 'passwd' }, env: null, reason: null };
  const users =
    regular.length === 0
      ? 'no regular user in its /etc/passwd'
      : `${regular.length} regular users in its /etc/passwd (${regular
          .slice(0, 4)
          .map((u) => u.name)
          .join(', ')}${regular.length > 4 ? ', …' : ''})`;
  return {
    session: null,
    env: null,
    reason: `no desktop session runs in ${guest}: no process of a regular user (uid ${range.uidMin}–${range.uidMax} with a login shell) and ${users}; name the desktop user with --user`,
  };
}
