import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/session/user.js';
import { FakeTarget, fakeContext, type FakeScenario } from '../support/fake-target.js';

const made: FakeTarget[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

const SECURE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const proc = (uid: number) => ({ pid: 42, ppid: 1, uid, comm: 'bash', cmdline: ['bash'] });
const sudoEnv = { SUDO_USER: 'alice', SUDO_UID: '1000', SUDO_GID: '1000', SUDO_COMMAND: '/usr/sbin/chroot /srv/c', PATH: SECURE, HOME: '/root', USER: 'root' };

async function run(scenario: FakeScenario, envSource = 'process 42') {
  const target = new FakeTarget(scenario);
  Object.defineProperty(target, 'envSource', { value: envSource });
  made.push(target);
  return check.run(fakeContext(target));
}
const codes = (o: { findings: { code: string }[] }) => o.findings.map((f) => f.code);

describe('session.user', () => {
  it.each([
    ['sudo chroot (env reset)', sudoEnv, 0, 'warn', ['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost']],
    ['Ubuntu secure_path with snap', { ...sudoEnv, PATH: `${SECURE}:/snap/bin`, DISPLAY: ':0' }, 0, 'warn', ['session-root-via-sudo', 'path-secure-path', 'home-is-root']],
    ['sudo -E "PATH=$PATH" chroot as root', { ...sudoEnv, PATH: '/home/alice/bin:/usr/bin:/bin', HOME: '/home/alice', DISPLAY: ':0' }, 0, 'warn', ['session-root-via-sudo']],
    ['the desktop user', { USER: 'alice', HOME: '/home/alice', PATH: '/usr/bin:/bin', DISPLAY: ':0' }, 1000, 'pass', ['session-user']],
    ['root without sudo', { PATH: '/usr/bin:/bin', HOME: '/root' }, 0, 'pass', ['session-root']],
  ] as const)('%s', async (_name, env, uid, status, expected) => {
    const outcome = await run({ env: { ...env }, processes: [proc(uid)] });
    expect(outcome.status).toBe(status);
    expect(codes(outcome)).toEqual([...expected]);
  });

  it('says which user ran sudo and quotes the lost DISPLAY error', async () => {
    const outcome = await run({ env: sudoEnv, processes: [proc(0)] });
    expect(outcome.findings[0]?.message).toContain('SUDO_USER=alice');
    expect(outcome.findings.find((f) => f.code === 'display-lost')?.message).toContain('Error: no DISPLAY environment variable specified');
  });

  it('suggests sudo -E "PATH=$PATH" chroot --userspec for a chroot', async () => {
    const outcome = await run({ kind: 'chroot', name: '/srv/c', env: sudoEnv, processes: [proc(0)], user: { uid: 1000, gid: 1000, name: 'alice', home: '/home/alice' } });
    const snippet = outcome.fixes[0]?.steps[0];
    expect(snippet && 'snippet' in snippet ? snippet.snippet : '').toMatch(/^sudo -E "PATH=\$PATH" chroot --userspec=1000:1000 /);
  });

  it('suggests preserve-environment=true for schroot', async () => {
    const outcome = await run({ kind: 'schroot', schroot: { chroot: 'jammy', session: 's1' }, env: sudoEnv, processes: [proc(0)] });
    expect(outcome.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')))).toContain('preserve-environment=true');
  });

  it('skips when no process runs in the guest (the invoking shell says nothing about the guest)', async () => {
    const outcome = await run({ env: sudoEnv }, 'the invoking shell');
    expect(outcome.status).toBe('skip');
  });

  it('uses the uid of the process, not what USER claims', async () => {
    const outcome = await run({ env: { ...sudoEnv, USER: 'alice', HOME: '/home/alice', DISPLAY: ':0', PATH: '/usr/bin' }, processes: [proc(0)] });
    expect(codes(outcome)).toEqual(['session-root-via-sudo']);
    expect(outcome.findings[0]?.evidence.uid).toBe(0);
  });
});
