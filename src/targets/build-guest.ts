import { GuestFiles } from '../guest/guest-files.js';
import { readProcessSync, type HostProcess, type ProcEntry } from '../host/procfs.js';
import { identityOf } from '../host/proc-read.js';
import { NEEDS_ROOT } from '../core/desktop-session.js';
import { parsePasswd, type PasswdEntry } from '../parse/passwd.js';
import { DEFAULT_UID_RANGE, parseLoginDefs, type UidRange } from '../parse/login-defs.js';
import { GuestTarget, type GuestDescription } from './guest-target.js';
import { resolveGuestUser } from './guest-user.js';
import { chooseSession, isRegularUid, type SessionChoice } from './session-user.js';
import { ProcessPin } from './process-pin.js';
import { TargetError } from './target-error.js';
import type { MembershipRule, OwnFacts } from './membership.js';
import type { OpenOptions } from './open-options.js';
import type { SessionCandidate } from './session-process.js';

/** The parts of a guest that differ by kind; the rest is worked out here. */
export interface GuestBasics {
  kind: GuestDescription['kind'];
  name: string;
  /** Host directory of the root; null when only reachable through a process. */
  dir: string | null;
  /** The process whose namespaces are used, if any. */
  pid: number | null;
  /** How its processes are recognised, and those found now (session candidates). */
  membership: MembershipRule | null;
  members: HostProcess[];
  /** Environment to use when there is no session process. */
  fallbackEnv: Record<string, string>;
  fallbackEnvSource: string;
  schroot?: GuestDescription['schroot'];
  nspawn?: GuestDescription['nspawn'];
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Our own root, namespaces and cgroup. */
export function ownFacts(): OwnFacts {
  const self = readProcessSync(process.pid);
  return {
    rootId: identityOf('/'),
    mntns: self?.mntns ?? null,
    userns: self?.userns ?? null,
    pidns: self?.pidns ?? null,
    cgroup: self?.cgroup ?? null,
  };
}

/** Session candidates read at most: their environments are the costly part, and a guest may run thousands. */
const MAX_SESSION_CANDIDATES = 64;

/** The environments of the processes that could be the session, oldest first, only those of `eligible` uids. */
function sessionCandidates(members: HostProcess[], eligible: (uid: number) => boolean): SessionCandidate[] {
  const out: SessionCandidate[] = [];
  const ranked = members.filter((p) => eligible(p.uid)).sort((a, b) => a.startTime - b.startTime || a.pid - b.pid);
  for (const p of ranked.slice(0, MAX_SESSION_CANDIDATES)) {
    // A HostProcess from the run's scan is a ProcEntry (lazy environ); one from elsewhere may not be.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment, @typescript-eslint/no-unnecessary-condition
    const env = (p as ProcEntry).environ?.() ?? null;
    if (env !== null) out.push({ p: { pid: p.pid, uid: p.uid, startTime: p.startTime }, env });
  }
  return out;
}

/** A `--user` value as a uid of the guest's passwd (a number stands for itself). */
function optionUid(option: string | undefined, passwd: PasswdEntry[]): number | undefined {
  if (option === undefined || option === '') return undefined;
  if (/^\d+$/.test(option)) return Number(option);
  const entry = passwd.find((p) => p.name === option);
  if (!entry)
    throw new TargetError(
      `no user named "${option}" in the guest's /etc/passwd`,
      "give --user a name from the guest's /etc/passwd, or a numeric uid",
    );
  return entry.uid;
}

/**
 * ctr-doctor's own environment (`self`): `--user`, else the invoking user (SUDO_UID, else our uid)
 * when a regular one, or root with a display of its own; else the same passwd rule as for guests.
 */
function selfSession(
  opts: OpenOptions,
  wantedUid: number | undefined,
  env: Record<string, string>,
  passwd: PasswdEntry[],
  range: UidRange,
): SessionChoice {
  if (wantedUid !== undefined) return { session: { pid: null, uid: wantedUid, source: 'option' }, env: null, reason: null };
  const sudo = opts.host.invokingEnv.SUDO_UID;
  const who = sudo !== undefined && /^\d+$/.test(sudo) && sudo !== '0' ? Number(sudo) : (process.getuid?.() ?? 0);
  if (isRegularUid(who, passwd, range) || (who === 0 && (env.DISPLAY || env.WAYLAND_DISPLAY)))
    return { session: { pid: null, uid: who, source: 'invoking' }, env: null, reason: null };
  return chooseSession({ candidates: [], passwd, range, guest: 'the environment ctr-doctor runs in' });
}

/** Turns what an opener found into a Target: root, pin, namespaces, session and desktop user. */
export async function buildGuest(basics: GuestBasics, opts: OpenOptions): Promise<GuestTarget> {
  const own = ownFacts();
  // A leader is pinned before anything is read through /proc/PID/root.
  const leaderPin = basics.pid !== null ? ProcessPin.take(basics.pid) : null;
  // A chroot's processes are in our mount namespace (membership says so), so its directory is their root.
  const root = basics.dir ?? `/proc/${basics.pid}/root`;
  // `self` and `host` are ctr-doctor's own environment: the only targets whose root may be the host's /.
  const ownEnv = basics.kind === 'self' || basics.kind === 'host';
  if (!ownEnv && identityOf(root) !== null && identityOf(root) === own.rootId) {
    throw new TargetError(
      `the root of ${basics.name} (${root}) is the host's own /, not a guest`,
      'ctr-doctor refuses to diagnose or fix the host as a guest; use `self` to check the environment ctr-doctor runs in',
    );
  }
  const files = new GuestFiles(root);
  if (!(await files.rootExists())) {
    throw new TargetError(`the root of ${basics.name} (${root}) cannot be opened`, 'run as root, and check the guest still exists');
  }
  const [passwdRead, loginDefsRead] = await Promise.all([files.readFile('/etc/passwd'), files.readFile('/etc/login.defs')]);
  const passwd = passwdRead.ok ? parsePasswd(passwdRead.text) : [];
  const range = loginDefsRead.ok ? parseLoginDefs(loginDefsRead.text) : DEFAULT_UID_RANGE;
  const wantedUid = optionUid(opts.user, passwd);

  let choice: SessionChoice;
  let envSource: string;
  if (opts.envFrom !== undefined) {
    const from = readProcessSync(opts.envFrom);
    const env = from?.environ() ?? null;
    if (from === null || env === null)
      throw new TargetError(
        `cannot read the environment of process ${opts.envFrom}`,
        'check the PID given to --env-from (and run as root)',
      );
    choice = { session: { pid: opts.envFrom, uid: wantedUid ?? from.uid, source: 'option' }, env, reason: null };
    envSource = `--env-from ${opts.envFrom}`;
  } else if (ownEnv) {
    choice = selfSession(opts, wantedUid, basics.fallbackEnv, passwd, range);
    envSource = basics.fallbackEnvSource;
  } else {
    const eligible = wantedUid !== undefined ? (uid: number) => uid === wantedUid : (uid: number) => isRegularUid(uid, passwd, range);
    choice = chooseSession({
      candidates: sessionCandidates(basics.members, eligible),
      passwd,
      range,
      guest: basics.name,
      ...(wantedUid !== undefined ? { optionUid: wantedUid } : {}),
    });
    envSource = choice.session?.pid != null ? `process ${choice.session.pid}` : basics.fallbackEnvSource;
  }
  // An unreadable passwd says nothing about who logs in: the desktop checks then fail for want of privilege, not for want of a session.
  if (choice.session === null && !passwdRead.ok && passwdRead.reason === 'permission') {
    choice = { ...choice, reason: `${NEEDS_ROOT}: run with sudo (the guest's /etc/passwd cannot be read, so its desktop user is unknown)` };
  }
  const env = choice.env ?? basics.fallbackEnv;

  // A chroot has no leader: its session process, else its oldest process, lends the namespaces.
  const oldest = [...basics.members].sort((a, b) => a.startTime - b.startTime || a.pid - b.pid)[0];
  const pid = basics.pid ?? choice.session?.pid ?? oldest?.pid ?? null;
  const pin = leaderPin ?? (pid !== null ? ProcessPin.take(pid) : null);
  if (pid !== null && pin === null) {
    throw new TargetError(`process ${pid} of ${basics.name} vanished`, 'run `ctr-doctor list` to see what is running now');
  }
  const leader = pid !== null ? readProcessSync(pid) : null;
  const sharesNetns = leader === null || leader.netns === readProcessSync(process.pid)?.netns;

  let user;
  try {
    // Only a process's owner is a session user; one taken from passwd is the default, as before.
    const fromProcess = choice.session !== null && choice.session.pid !== null ? choice.session.uid : undefined;
    const fromPasswd = choice.session?.source === 'passwd' ? choice.session.uid : undefined;
    user = await resolveGuestUser(
      files,
      {
        option: opts.user,
        sudoUid: opts.host.invokingEnv.SUDO_UID,
        ...(fromProcess !== undefined ? { sessionUid: fromProcess } : {}),
        ...(fromPasswd !== undefined ? { defaultUid: fromPasswd } : {}),
      },
      passwd,
    );
  } catch (error) {
    throw new TargetError((error as Error).message, "give --user a name from the guest's /etc/passwd, or a numeric uid");
  }
  pin?.verify(`${basics.kind}:${basics.name}`);
  return new GuestTarget({
    kind: basics.kind,
    name: basics.name,
    root,
    displayRoot: basics.dir ?? root,
    pid,
    netnsPath: sharesNetns ? null : `/proc/${pid}/ns/net`,
    sharesNetns,
    ownMountNs: leader !== null && leader.mntns !== own.mntns,
    rootViaProcess: basics.dir === null,
    enterUserns: leader !== null && leader.userns !== null && leader.userns !== own.userns,
    env,
    envSource,
    sessionPid: choice.session?.pid ?? null,
    user,
    session: choice.session,
    noSessionReason: choice.reason,
    membership: basics.membership,
    pin,
    ...(basics.schroot ? { schroot: basics.schroot } : {}),
    ...(basics.nspawn ? { nspawn: basics.nspawn } : {}),
    hostProcesses: () => opts.host.processes(),
  });
}

export { definedOnly };
