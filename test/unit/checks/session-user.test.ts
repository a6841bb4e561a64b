import { expect } from 'vitest';
import check from '../../../src/checks/session/user.js';
import { checkTester } from '../support/check-tester.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { FakeScenario } from '../support/fake-target.js';

const SECURE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const proc = (uid: number) => ({ pid: 42, ppid: 1, uid, comm: 'bash', cmdline: ['bash'] });
const sudoEnv = {
  SUDO_USER: 'alice',
  SUDO_UID: '1000',
  SUDO_GID: '1000',
  SUDO_COMMAND: '/usr/sbin/chroot /srv/c',
  PATH: SECURE,
  HOME: '/root',
  USER: 'root',
};
/** A guest whose session process is pid 42, running as `uid`. */
const session = (env: Record<string, string>, uid: number, more: FakeScenario = {}): FakeScenario => ({
  env,
  processes: [proc(uid)],
  sessionPid: 42,
  envSource: 'process 42',
  ...more,
});
const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const message = (o: CheckOutcome, code: string) => o.findings.find((f) => f.code === code)?.message;

checkTester(check, [
  {
    name: 'sudo chroot (env reset): root, secure_path, HOME=/root and DISPLAY lost',
    target: session(sudoEnv, 0),
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost'],
    fixes: ['session.chroot-userspec'],
    summary:
      'the guest session runs as root through sudo (SUDO_USER=alice, SUDO_COMMAND=/usr/sbin/chroot /srv/c), so programs run as root instead of alice',
    assert: (o) => {
      expect(message(o, 'path-secure-path')).toBe(
        `PATH=${SECURE} is sudo's secure_path, not alice's PATH (keep it with sudo "PATH=$PATH")`,
      );
      expect(message(o, 'home-is-root')).toBe(
        'HOME=/root although alice ran sudo: ~/.Xauthority and the pulse cookie are looked up in /root',
      );
      expect(message(o, 'display-lost')).toContain('Error: no DISPLAY environment variable specified');
      expect(o.findings[0]?.evidence).toMatchObject({ pid: 42, uid: 0, comm: 'bash', envSource: 'process 42', SUDO_USER: 'alice' });
    },
  },
  {
    name: 'Ubuntu secure_path with /snap/bin, DISPLAY kept',
    target: session({ ...sudoEnv, PATH: `${SECURE}:/snap/bin`, DISPLAY: ':0' }, 0),
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root'],
    fixes: ['session.chroot-userspec'],
  },
  {
    name: 'sudo -E "PATH=$PATH" chroot as root: only the root session',
    target: session({ ...sudoEnv, PATH: '/home/alice/bin:/usr/bin:/bin', HOME: '/home/alice', DISPLAY: ':0' }, 0),
    status: 'warn',
    codes: ['session-root-via-sudo'],
    fixes: ['session.chroot-userspec'],
  },
  {
    name: 'SUDO_UID alone is sudo too; no SUDO_USER or SUDO_COMMAND is said as such',
    target: session({ SUDO_UID: '1000', HOME: '/root', DISPLAY: ':0' }, 0),
    status: 'warn',
    codes: ['session-root-via-sudo', 'home-is-root'],
    fixes: ['session.chroot-userspec'],
    summary: 'the guest session runs as root through sudo (SUDO_USER=?), so programs run as root instead of the desktop user',
    assert: (o) =>
      expect(message(o, 'home-is-root')).toBe(
        'HOME=/root although a user ran sudo: ~/.Xauthority and the pulse cookie are looked up in /root',
      ),
  },
  {
    name: 'the desktop user: pass, no fix',
    target: session({ USER: 'alice', HOME: '/home/alice', PATH: '/usr/bin:/bin', DISPLAY: ':0' }, 1000),
    status: 'pass',
    codes: ['session-user'],
    summary: 'the session runs as uid 1000 (alice)',
  },
  {
    name: 'root without sudo: said, not a warning',
    target: session({ PATH: '/usr/bin:/bin', HOME: '/root' }, 0),
    status: 'pass',
    codes: ['session-root'],
    summary: 'only root runs in the guest (pid 42, bash); no user session was found',
  },
  {
    name: 'the uid of the process counts, not what USER claims',
    target: session({ ...sudoEnv, USER: 'alice', HOME: '/home/alice', DISPLAY: ':0', PATH: '/usr/bin' }, 0),
    status: 'warn',
    codes: ['session-root-via-sudo'],
    fixes: ['session.chroot-userspec'],
    assert: (o) => expect(o.findings[0]?.evidence.uid).toBe(0),
  },
  {
    name: 'chroot: sudo -E "PATH=$PATH" chroot --userspec',
    target: session(sudoEnv, 0, { kind: 'chroot', name: '/srv/c', user: { uid: 1000, gid: 1000, name: 'alice', home: '/home/alice' } }),
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost'],
    fixes: ['session.chroot-userspec'],
    assert: (o) => expect(snippets(o)[0]).toMatch(/^sudo -E "PATH=\$PATH" chroot --userspec=1000:1000 /),
  },
  {
    name: 'schroot: preserve-environment=true',
    target: session(sudoEnv, 0, { kind: 'schroot', schroot: { chroot: 'jammy', session: 's1' } }),
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost'],
    fixes: ['session.schroot-preserve-environment'],
    assert: (o) => expect(snippets(o)).toContain('preserve-environment=true'),
  },
  {
    name: 'nspawn: machinectl shell USER@MACHINE',
    target: session(sudoEnv, 0, { kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 1, argv: [] } }),
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost'],
    fixes: ['session.nspawn-user-shell'],
    assert: (o) => expect(snippets(o)).toContain('machinectl shell user@box'),
  },
  {
    name: 'pid target: sudo -E -u USER',
    target: session(sudoEnv, 0, { kind: 'pid' }),
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost'],
    fixes: ['session.sudo-preserve-env'],
  },
  {
    name: 'no session process (the invoking shell says nothing about the guest): skip',
    target: { env: sudoEnv, envSource: 'the invoking shell' },
    status: 'skip',
    codes: [],
    summary: 'no process runs in the guest, so there is no session to look at (environment: the invoking shell)',
  },
  {
    name: 'an envSource that looks like a process is not read back as one: Target.sessionPid decides',
    target: { env: sudoEnv, envSource: 'process 42', processes: [proc(0)] },
    status: 'skip',
    codes: [],
  },
  {
    name: 'the session process is gone from the list: judged on the environment alone',
    target: { env: { USER: 'root', PATH: '/usr/bin' }, sessionPid: 42, processes: [] },
    status: 'pass',
    codes: ['session-root'],
    summary: 'only root runs in the guest (pid 42); no user session was found',
  },
  {
    name: 'self under sudo: no process, USER=root is the uid',
    target: { kind: 'self', env: sudoEnv },
    status: 'warn',
    codes: ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost'],
    fixes: ['session.sudo-preserve-env'],
    assert: (o) => expect(o.findings[0]?.evidence).toMatchObject({ pid: null, uid: 0, comm: null }),
  },
  {
    name: 'self, a user shell: nothing to say',
    target: { kind: 'self', env: { USER: 'alice', HOME: '/home/alice' } },
    status: 'pass',
    codes: [],
  },
  {
    name: 'self, root without sudo: the pid is unknown',
    target: { kind: 'self', env: { HOME: '/root' } },
    status: 'pass',
    codes: ['session-root'],
    summary: 'only root runs in the guest (pid ?); no user session was found',
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
