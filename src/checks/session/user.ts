import { defineCheck, skip, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { enterAsUserFix } from '../../fixes/plans/session-plans.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { GuestUser } from '../../core/target.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';

/** sudo's secure_path on Debian and Ubuntu (Ubuntu appends /snap/bin). */
const SECURE_PATHS = new Set([
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin',
]);

const findings = {
  'session-root-via-sudo': {
    severity: 'warn',
    message:
      'the guest session runs as root through sudo (SUDO_USER={sudoUser}{sudoCommand}), so programs run as root instead of {desktopUser}',
    description: "The session runs as root, entered through sudo: programs run as root with root's settings.",
  },
  'path-secure-path': {
    severity: 'warn',
    message: 'PATH={path} is sudo\'s secure_path, not {whose} PATH (keep it with sudo "PATH=$PATH")',
    description: "PATH is sudo's secure_path, not the user's.",
  },
  'home-is-root': {
    severity: 'warn',
    message: 'HOME=/root although {sudoUser} ran sudo: ~/.Xauthority and the pulse cookie are looked up in /root',
    description: "HOME is /root although a user ran sudo: settings and cookies are looked up in root's home.",
  },
  'display-lost': {
    severity: 'warn',
    message:
      'sudo reset the environment and DISPLAY is gone: X11 programs fail with "Error: no DISPLAY environment variable specified" (keep it with sudo -E)',
    description: "sudo's env_reset dropped DISPLAY (and with it XAUTHORITY, PULSE_SERVER, XDG_RUNTIME_DIR).",
  },
  'session-root': {
    severity: 'info',
    message: 'only root runs in the guest (pid {pid}{comm}); no user session was found',
    description: 'Only root processes run in the guest, with no trace of sudo.',
  },
  'session-user': { severity: 'info', message: 'the session runs as uid {uid}{user}', description: 'The session runs as a regular user.' },
} as const;

const fixDocs = {
  'session.chroot-userspec': 'chroot: sudo -E "PATH=$PATH" chroot --userspec=UID:GID ROOT.',
  'session.schroot-preserve-environment': 'schroot: preserve-environment=true, entered as the user.',
  'session.nspawn-user-shell': 'nspawn: machinectl shell USER@MACHINE.',
  'session.sudo-preserve-env': 'sudo -E "PATH=$PATH" -u USER.',
} as const;

/** The session variables sudo changes, as the guest session has them. */
interface SudoTraces {
  SUDO_USER: string | null;
  SUDO_UID: string | null;
  SUDO_COMMAND: string | null;
  PATH: string | null;
  HOME: string | null;
  USER: string | null;
  DISPLAY: string | null;
}

interface Facts {
  place: FixPlace;
  user: Pick<GuestUser, 'uid' | 'gid' | 'name' | 'home'>;
  envSource: string;
  /** The session process (Target.sessionPid), or null for `self`, which has none. */
  pid: number | null;
  /** That process as the guest's process list shows it, or null when it is gone. */
  proc: { uid: number; comm: string } | null;
  env: SudoTraces;
}

// What it looks at: the session process's uid (Target.sessionPid in the guest's process list) and its environment.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target } = ctx;
  const { env } = target;
  const pid = target.sessionPid;
  if (pid === null && target.kind !== 'self') {
    return skip(`no process runs in the guest, so there is no session to look at (environment: ${target.envSource})`);
  }
  const proc = pid === null ? undefined : (await target.processes()).find((p) => p.pid === pid);
  const { kind, root, schroot, nspawn } = target;
  const { uid, gid, name, home } = target.user;
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: { uid, gid, name, home },
    envSource: target.envSource,
    pid,
    proc: proc ? { uid: proc.uid, comm: proc.comm } : null,
    env: {
      SUDO_USER: env.SUDO_USER ?? null,
      SUDO_UID: env.SUDO_UID ?? null,
      SUDO_COMMAND: env.SUDO_COMMAND ?? null,
      PATH: env.PATH ?? null,
      HOME: env.HOME ?? null,
      USER: env.USER ?? null,
      DISPLAY: env.DISPLAY ?? null,
    },
  };
}

const found = findingBuilder(findings);

// How it decides: root plus sudo's traces is `sudo chroot`; each reset variable is named.
function judge(f: Facts): Reported<typeof findings>[] {
  const { env } = f;
  // Without a process (self), USER or HOME saying root is all there is to go on.
  const uid = f.proc?.uid ?? (env.USER === 'root' || env.HOME === '/root' ? 0 : null);
  const sudoUser = env.SUDO_USER;
  const viaSudo = sudoUser !== null || env.SUDO_UID !== null;
  const evidence = {
    pid: f.pid,
    uid,
    comm: f.proc?.comm ?? null,
    envSource: f.envSource,
    SUDO_USER: sudoUser,
    SUDO_UID: env.SUDO_UID,
    SUDO_COMMAND: env.SUDO_COMMAND,
    PATH: env.PATH,
    HOME: env.HOME,
    DISPLAY: env.DISPLAY,
  };
  const out: Reported<typeof findings>[] = [];
  if (uid === 0 && viaSudo) {
    out.push(
      found(
        'session-root-via-sudo',
        {
          sudoUser: sudoUser ?? '?',
          sudoCommand: env.SUDO_COMMAND ? `, SUDO_COMMAND=${env.SUDO_COMMAND}` : '',
          desktopUser: sudoUser ?? 'the desktop user',
        },
        evidence,
      ),
    );
  }
  if (viaSudo) {
    if (env.PATH !== null && SECURE_PATHS.has(env.PATH))
      out.push(found('path-secure-path', { path: env.PATH, whose: `${sudoUser ?? 'the user'}'s` }, evidence));
    if (env.HOME === '/root' && sudoUser !== 'root') out.push(found('home-is-root', { sudoUser: sudoUser ?? 'a user' }, evidence));
    if (!env.DISPLAY) out.push(found('display-lost', {}, evidence));
  } else if (uid === 0) {
    out.push(found('session-root', { pid: f.pid ?? '?', comm: f.proc ? `, ${f.proc.comm}` : '' }, evidence));
  } else if (uid !== null) {
    out.push(found('session-user', { uid, user: env.USER ? ` (${env.USER})` : '' }, evidence));
  }
  return out;
}

// What it offers: entering as the user with the environment kept (only when something is wrong; the runner offers nothing on a pass).
function offer(f: Facts) {
  return [enterAsUserFix(f.place, f.user)];
}

export default defineCheck({
  id: 'session.user',
  group: 'session',
  title: 'Session runs as the desktop user',
  description:
    "Looks at the guest session's process and environment for the signs of `sudo chroot`: root with SUDO_USER/SUDO_UID set, PATH replaced by sudo's secure_path, HOME=/root, and DISPLAY lost to env_reset.",
  findings,
  fixDocs,
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the session'),
  gather,
  judge,
  offer,
});
