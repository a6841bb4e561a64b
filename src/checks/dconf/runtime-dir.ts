import path from 'node:path';
import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { exportRuntimeDirFix, runtimeDirFix } from '../../fixes/plans/dconf-plans.js';
import type { GuestUser } from '../../core/target.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import { placeOfRuntimeDir, repairSafety, type RuntimeDirPlace } from './runtime-dir-place.js';

/** dconf's own words when it cannot make its directory (see test-targets.md §9). */
function dconfError(dir: string): string {
  return `unable to create directory '${dir}/dconf': Permission denied.  dconf will not work properly.`;
}

const findings = {
  'runtime-dir-missing': {
    severity: 'fail',
    message: '{dir} does not exist in the guest, so dconf prints "{dconf}"',
    description:
      'The runtime directory does not exist; dconf says "unable to create directory \'/run/user/UID/dconf\': Permission denied.  dconf will not work properly."',
  },
  'runtime-dir-not-a-directory': {
    severity: 'fail',
    message: '{dir} is a {type}, not a directory, so dconf prints "{dconf}"',
    description: 'The runtime directory path is not a directory.',
  },
  'runtime-dir-wrong-owner': {
    severity: 'fail',
    message: '{dir} belongs to uid {owner}, not to {user} (uid {uid})',
    description: 'The runtime directory belongs to another user (often root, when made by a root shell).',
  },
  'runtime-dir-mode': {
    severity: 'warn',
    message: '{dir} has mode {mode}, not 0700 as the XDG Base Directory spec requires',
    description: 'The runtime directory is not mode 0700 (the XDG spec requires it; some programs refuse it).',
  },
  'runtime-dir-not-writable': {
    severity: 'fail',
    message: '{user} (uid {uid}) cannot create anything in {dir}, so dconf prints "{dconf}"',
    description: 'The desktop user cannot create anything in the runtime directory.',
  },
  'runtime-dir-unset': {
    severity: 'info',
    message: 'XDG_RUNTIME_DIR is not set in the session (from {envSource}); checking {dir}',
    description: 'XDG_RUNTIME_DIR is not set in the session; /run/user/UID was checked instead.',
  },
  'dconf-cannot-write': {
    severity: 'fail',
    message: 'dconf run as {user} prints "{complaint}"',
    description: 'dconf itself, run as the user, prints "unable to create directory".',
  },
  'runtime-dir-not-standard': {
    severity: 'warn',
    message:
      'XDG_RUNTIME_DIR is {dir}, not {standard}: ctr-doctor creates and changes only {standard} (another path may be a host directory seen through a bind mount)',
    description:
      "XDG_RUNTIME_DIR names a directory other than /run/user/UID: ctr-doctor creates and changes only /run/user/UID (another path may be a host directory seen through a bind mount, such as schroot's /home or /tmp).",
  },
  'runtime-dir-host-mount': {
    severity: 'warn',
    message:
      "{dir} is on {mountPoint}, a mount of the host's {hostRoot} ({fsType}): changing it changes the host's directory, so the repair is unsafe",
    description:
      "The runtime directory is on a mount that shows a host directory (a shared /run): changing it changes the host's directory, so the repair is unsafe.",
  },
  'runtime-dir-owner-refused': {
    severity: 'warn',
    message: '{dir} belongs to uid {owner}{parentNote}: ctr-doctor gives only a root-owned directory in a root-owned /run/user to {user}',
    description: 'The runtime directory belongs to another user, or sits in a directory others can change: ctr-doctor never gives it away.',
  },
  'write-test-unavailable': {
    severity: 'info',
    message: 'could not test writing to {dir} as {user}: {reason}',
    description: "The write test as the user could not run (the user's probe child could not start).",
  },
  'runtime-dir-ok': {
    severity: 'info',
    message: '{dir} belongs to {user}, is mode 0700 and writable',
    description: 'The runtime directory exists, belongs to the user, is 0700 and writable.',
  },
} as const;

const fixDocs = {
  'dconf.make-runtime-dir':
    "Create /run/user/UID (or set its mode) 0700, owned by the user: safe on the guest's own /run, unsafe on the host's seen through a shared /run.",
  'dconf.chown-runtime-dir':
    "Give a root-owned /run/user/UID (in a root-owned /run/user) to the user: safe on the guest's own /run, unsafe on the host's seen through a shared /run.",
  'dconf.export-runtime-dir': 'Set XDG_RUNTIME_DIR in the guest session.',
} as const;

/** The line dconf printed about its directory, without the pid and timestamp prefix, or null. */
function dconfComplaint(stderr: string): string | null {
  const line = stderr.split('\n').find((l) => l.includes('unable to create directory'));
  if (line === undefined) return null;
  const at = line.indexOf('unable to create directory');
  return line.slice(at).trim();
}

/** The directory as the guest shows it, or what is wrong with its path. */
type Seen = { present: false; error: string } | { present: true; guestPath: string; type: string; uid: number; mode: number };

interface Facts {
  user: Pick<GuestUser, 'uid' | 'gid' | 'name'>;
  /** The directory looked at: XDG_RUNTIME_DIR when absolute, else /run/user/UID. */
  dir: string;
  /** XDG_RUNTIME_DIR is set (to anything) in the session. */
  fromEnv: boolean;
  envSource: string;
  seen: Seen;
  /** Where it lives, for the repair rules (audit H2). */
  place: RuntimeDirPlace;
  /** Its parent is a directory of root's that nobody else may change. */
  parentRootOwned: boolean;
  /** The write test as the user, for a directory: ran (made and removed a directory, or the error) or could not run (why). */
  write: { ran: true; ok: boolean; error: string } | { ran: false; reason: string } | null;
  /** dconf's own directory is there but not a directory of the user's (a file, a dangling link, another owner's). */
  ownInTheWay: boolean;
  /** What dconf printed, run as the user: only when something looked wrong. Null when not run. */
  dconf: { complaint: string | null; stderr: string | null } | null;
}

// What it looks at: the directory the session names (or the standard one), where it is mounted from (H2),
// its parent, a write as the user, and dconf's own words when something looks wrong.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target, host } = ctx;
  const { user } = target;
  const timeoutMs = Math.max(200, Math.floor(ctx.options.timeoutMs / 2));
  const fromEnv = target.env.XDG_RUNTIME_DIR;
  const dir = fromEnv?.startsWith('/') ? fromEnv.replace(/(.)\/+$/, '$1') : `/run/user/${user.uid}`;
  const [info, guestMounts, hostMounts] = await Promise.all([
    target.stat(dir),
    target.mounts().catch(() => []),
    host.mountinfo().catch(() => []),
  ]);
  // Not being allowed to look is not the same as the directory being missing.
  if ('error' in info && info.error === 'permission')
    return cannotRun(`needs root: run with sudo (cannot look at ${dir} in the guest: ${info.message})`);
  const seen: Seen =
    'error' in info
      ? { present: false, error: info.error }
      : { present: true, guestPath: info.guestPath, type: info.type, uid: info.uid, mode: info.mode & 0o7777 };
  const place = placeOfRuntimeDir(seen.present ? seen.guestPath : dir, user.uid, guestMounts, hostMounts, target.root);
  const parent = seen.present ? await target.stat(path.posix.dirname(seen.guestPath)) : null;
  const parentRootOwned =
    parent !== null && !('error' in parent) && parent.type === 'directory' && parent.uid === 0 && (parent.mode & 0o022) === 0;

  const userOpts = { user: { uid: user.uid, gid: user.gid, groups: user.groups }, timeoutMs };
  const dconfEnv = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    LANG: 'C',
    XDG_RUNTIME_DIR: dir,
  };
  // dconf runs only when something is wrong, to quote its own words: a healthy run starts no process for it.
  const askDconf = async (): Promise<NonNullable<Facts['dconf']>> => {
    const r = await target.exec(['dconf', 'read', '/org/gnome/desktop/interface/gtk-theme'], { ...userOpts, env: dconfEnv });
    return r.notFound ? { complaint: null, stderr: null } : { complaint: dconfComplaint(r.stderr), stderr: r.stderr.trim().slice(0, 2000) };
  };
  const looksWrong = !seen.present || seen.type !== 'directory' || seen.uid !== user.uid || seen.mode !== 0o700;
  // dconf first, as before the write test: it may make its own directory, which the write test then sees.
  let dconf = looksWrong ? await askDconf() : null;
  let write: Facts['write'] = null;
  let ownInTheWay = false;
  if (seen.present && seen.type === 'directory') {
    // What dconf does first, by the user's probe child (no guest program): a directory made and removed as the user.
    const [w, own] = await Promise.all([
      target.probe('dir-write', { path: dir }, { asUser: true, timeoutMs }).then(
        (r): NonNullable<Facts['write']> => ({ ran: true, ok: r.ok, error: r.ok ? '' : r.message.slice(0, 500) }),
        (e: unknown): NonNullable<Facts['write']> => ({ ran: false, reason: (e as Error).message }),
      ),
      target.stat(`${dir}/dconf`),
    ]);
    write = w;
    ownInTheWay = !('error' in own && own.error === 'missing') && !('type' in own && own.type === 'directory' && own.uid === user.uid);
    if (dconf === null && (!write.ran || !write.ok || ownInTheWay)) dconf = await askDconf();
  }
  return {
    user: { uid: user.uid, gid: user.gid, name: user.name },
    dir,
    fromEnv: Boolean(fromEnv),
    envSource: target.envSource,
    seen,
    place,
    parentRootOwned,
    write,
    ownInTheWay,
    dconf,
  };
}

/** What a repair would change: create a missing directory, give it to the user, or set its mode; null for none. */
type Change = 'create' | 'owner' | 'mode';

function changeNeeded(f: Facts): Change | null {
  if (!f.seen.present) return 'create';
  if (f.seen.type !== 'directory') return null;
  if (f.seen.uid !== f.user.uid) return 'owner';
  return f.seen.mode !== 0o700 ? 'mode' : null;
}

/** The repair the audit's rules (H2) allow: none for another path, refused for another's directory, else safe or unsafe. */
type Repair = { change: Change } & (
  { verdict: 'not-standard' } | { verdict: 'refused' } | { verdict: 'repair'; safety: 'safe' | 'unsafe' }
);

function repairOf(f: Facts): Repair | null {
  const change = changeNeeded(f);
  if (change === null) return null;
  if (!f.place.standard) return { change, verdict: 'not-standard' };
  const safety = repairSafety(f.place, change, f.seen.present ? { uid: f.seen.uid, parentRootOwned: f.parentRootOwned } : null);
  return safety === null ? { change, verdict: 'refused' } : { change, verdict: 'repair', safety };
}

const found = findingBuilder(findings);
type Found = Reported<typeof findings>;

// How it decides: existence, then type, owner, mode (each with what the H2 rules say of repairing it), then a write as the user.
function judge(f: Facts) {
  const { dir, user } = f;
  const standard = `/run/user/${user.uid}`;
  const looked = { dir, source: f.fromEnv ? 'XDG_RUNTIME_DIR' : 'default', uid: user.uid };
  const ev = { ...looked, dconfStderr: f.dconf?.stderr ?? null };
  const quote = f.dconf?.complaint ?? dconfError(dir);
  const who = { user: user.name, uid: user.uid };
  const out: Found[] = [];
  if (!f.fromEnv) out.push(found('runtime-dir-unset', { envSource: f.envSource, dir }, { dir }));

  /** Why a repair is not offered, or that it would change the host's directory. */
  const repairFindings = (): Found[] => {
    const repair = repairOf(f);
    if (repair === null) return [];
    if (repair.verdict === 'not-standard') return [found('runtime-dir-not-standard', { dir, standard }, { ...looked, standard })];
    if (repair.verdict === 'refused') {
      const owner = f.seen.present ? f.seen.uid : '?';
      return [
        found(
          'runtime-dir-owner-refused',
          { dir, owner, parentNote: f.parentRootOwned ? '' : " in a directory that is not root's alone", user: user.name },
          { ...looked, parentRootOwned: f.parentRootOwned },
        ),
      ];
    }
    const m = f.place.hostMount;
    return m
      ? [
          found(
            'runtime-dir-host-mount',
            { dir, mountPoint: m.mountPoint, hostRoot: m.root, fsType: m.fsType },
            { ...looked, mountPoint: m.mountPoint, hostRoot: m.root, device: `${m.major}:${m.minor}` },
          ),
        ]
      : [];
  };

  const { seen } = f;
  if (!seen.present)
    return [...out, found('runtime-dir-missing', { dir, dconf: quote }, { ...ev, error: seen.error }), ...repairFindings()];
  if (seen.type !== 'directory')
    return [...out, found('runtime-dir-not-a-directory', { dir, type: seen.type, dconf: quote }, { ...ev, type: seen.type })];
  if (seen.uid !== user.uid)
    out.push(
      found('runtime-dir-wrong-owner', { dir, owner: seen.uid, ...who }, { ...ev, owner: seen.uid, mode: seen.mode.toString(8) }),
      ...repairFindings(),
    );
  else if (seen.mode !== 0o700)
    out.push(
      found('runtime-dir-mode', { dir, mode: seen.mode.toString(8).padStart(4, '0') }, { ...ev, mode: seen.mode.toString(8) }),
      ...repairFindings(),
    );
  const { write } = f;
  if (write !== null && !write.ran) out.push(found('write-test-unavailable', { dir, user: user.name, reason: write.reason }, ev));
  else if (write !== null && !write.ok)
    out.push(found('runtime-dir-not-writable', { ...who, dir, dconf: quote }, { ...ev, error: write.error }));
  // dconf's own directory in the way: dconf says so even when the rest is right.
  const complaint = f.dconf?.complaint ?? null;
  if (f.ownInTheWay && !out.some((x) => findings[x.code].severity === 'fail') && complaint !== null)
    out.push(found('dconf-cannot-write', { user: user.name, complaint }, ev));
  if (out.every((x) => findings[x.code].severity === 'info')) out.push(found('runtime-dir-ok', { dir, user: user.name }, looked));
  return { findings: out, summary: `${dir}: owned by ${user.name}, 0700, writable` };
}

// What it offers: the repair the H2 rules allow (first), XDG_RUNTIME_DIR exported when unset, or pointed at /run/user/UID.
function offer(f: Facts) {
  const repair = repairOf(f);
  return [
    repair?.verdict === 'repair' ? runtimeDirFix(f.dir, f.user, repair.change, repair.safety) : null,
    f.fromEnv ? null : exportRuntimeDirFix(f.dir),
    repair?.verdict === 'not-standard' ? exportRuntimeDirFix(`/run/user/${f.user.uid}`) : null,
  ];
}

export default defineCheck({
  id: 'dconf.runtime-dir',
  group: 'dconf',
  title: 'XDG runtime directory usable by the user',
  description:
    'Checks that XDG_RUNTIME_DIR (or /run/user/UID) exists in the guest, belongs to the desktop user, has mode 0700 and is writable by that user, where dconf, PulseAudio and D-Bus keep their sockets; runs dconf as the user when the guest has it, to quote its own error.',
  findings,
  fixDocs,
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the runtime directory'),
  gather,
  judge,
  offer,
});
