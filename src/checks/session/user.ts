import { defineCheck } from '../../core/check.js';
import { finding, outcomeOf, skipped } from '../../core/outcome.js';
import { enterAsUserFix } from '../../fixes/plans/session-plans.js';
import type { Finding } from '../../core/types.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';

/** sudo's secure_path on Debian and Ubuntu (Ubuntu appends /snap/bin). */
const SECURE_PATHS = new Set([
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin',
]);

/** The session process named by the target's environment source, if one was used. */
function sessionPid(envSource: string): number | null {
  const m = /^(?:process|--env-from) (\d+)$/.exec(envSource);
  return m?.[1] === undefined ? null : Number(m[1]);
}

export default defineCheck({
  id: 'session.user',
  group: 'session',
  title: 'Session runs as the desktop user',
  description: 'Looks at the guest session\'s process and environment for the signs of `sudo chroot`: root with SUDO_USER/SUDO_UID set, PATH replaced by sudo\'s secure_path, HOME=/root, and DISPLAY lost to env_reset.',
  findings: {
    'session-root-via-sudo': { severity: 'warn', description: 'The session runs as root, entered through sudo: programs run as root with root\'s settings.' },
    'path-secure-path': { severity: 'warn', description: 'PATH is sudo\'s secure_path, not the user\'s.' },
    'home-is-root': { severity: 'warn', description: 'HOME is /root although a user ran sudo: settings and cookies are looked up in root\'s home.' },
    'display-lost': { severity: 'warn', description: 'sudo\'s env_reset dropped DISPLAY (and with it XAUTHORITY, PULSE_SERVER, XDG_RUNTIME_DIR).' },
    'session-root': { severity: 'info', description: 'Only root processes run in the guest, with no trace of sudo.' },
    'session-user': { severity: 'info', description: 'The session runs as a regular user.' },
  },
  fixDocs: {
    'session.chroot-userspec': 'chroot: sudo -E "PATH=$PATH" chroot --userspec=UID:GID ROOT.',
    'session.schroot-preserve-environment': 'schroot: preserve-environment=true, entered as the user.',
    'session.nspawn-user-shell': 'nspawn: machinectl shell USER@MACHINE.',
    'session.sudo-preserve-env': 'sudo -E "PATH=$PATH" -u USER.',
  },
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the session'),

  async run(ctx) {
    const { target } = ctx;
    const { env } = target;
    const findings: Finding[] = [];

    // What it looks at: the session process's uid and its environment.
    const pid = sessionPid(target.envSource);
    if (pid === null && target.kind !== 'self') {
      return skipped(`no process runs in the guest, so there is no session to look at (environment: ${target.envSource})`);
    }
    const proc = pid === null ? undefined : (await target.processes()).find((p) => p.pid === pid);
    const uid = proc?.uid ?? (env.USER === 'root' || env.HOME === '/root' ? 0 : null);
    const sudoUser = env.SUDO_USER ?? null;
    const viaSudo = sudoUser !== null || env.SUDO_UID !== undefined;
    const evidence = {
      pid, uid, comm: proc?.comm ?? null, envSource: target.envSource,
      SUDO_USER: sudoUser, SUDO_UID: env.SUDO_UID ?? null, SUDO_COMMAND: env.SUDO_COMMAND ?? null,
      PATH: env.PATH ?? null, HOME: env.HOME ?? null, DISPLAY: env.DISPLAY ?? null,
    };

    // How it decides: root plus sudo's traces is `sudo chroot`; each reset variable is named.
    if (uid === 0 && viaSudo) {
      findings.push(finding('session-root-via-sudo', 'warn',
        `the guest session runs as root through sudo (SUDO_USER=${sudoUser ?? '?'}${env.SUDO_COMMAND ? `, SUDO_COMMAND=${env.SUDO_COMMAND}` : ''}), so programs run as root instead of ${sudoUser ?? 'the desktop user'}`,
        evidence));
    }
    if (viaSudo) {
      if (env.PATH !== undefined && SECURE_PATHS.has(env.PATH)) {
        findings.push(finding('path-secure-path', 'warn', `PATH=${env.PATH} is sudo's secure_path, not ${sudoUser ?? 'the user'}'s PATH (keep it with sudo "PATH=$PATH")`, evidence));
      }
      if (env.HOME === '/root' && sudoUser !== 'root') {
        findings.push(finding('home-is-root', 'warn', `HOME=/root although ${sudoUser ?? 'a user'} ran sudo: ~/.Xauthority and the pulse cookie are looked up in /root`, evidence));
      }
      if (!env.DISPLAY) {
        findings.push(finding('display-lost', 'warn', `sudo reset the environment and DISPLAY is gone: X11 programs fail with "Error: no DISPLAY environment variable specified" (keep it with sudo -E)`, evidence));
      }
    } else if (uid === 0) {
      findings.push(finding('session-root', 'info', `only root runs in the guest (pid ${pid ?? '?'}${proc ? `, ${proc.comm}` : ''}); no user session was found`, evidence));
    } else if (uid !== null) {
      findings.push(finding('session-user', 'info', `the session runs as uid ${uid}${env.USER ? ` (${env.USER})` : ''}`, evidence));
    }

    // What it offers: entering as the user with the environment kept.
    const fix = findings.some((f) => f.severity !== 'info') ? enterAsUserFix(target, target.user) : null;
    return outcomeOf(findings, fix ? [fix] : []);
  },
});
