import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/dconf/runtime-dir.js';
import type { MkdirStep } from '../../../src/core/types.js';
import { FakeTarget, fakeContext, type FakeCommand, type FakeScenario } from '../support/fake-target.js';
import { FakeHost } from '../support/fake-host.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import { chownSync } from 'node:fs';
import path from 'node:path';

const made: FakeTarget[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

// The fake guest's files belong to whoever runs the tests; that is the desktop user unless a case says otherwise.
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const CRITICAL = (dir: string) => `\n(dconf:24611): dconf-CRITICAL **: 06:23:02.389: unable to create directory '${dir}/dconf': Permission denied.  dconf will not work properly.\n`;
const dconf = (stderr = ''): FakeCommand => ({ argv: ['dconf', 'read'], prefix: true, result: { stderr } });
const noDconf: FakeCommand = { argv: ['dconf', 'read'], prefix: true, result: { exitCode: 127, notFound: true } };
const writes = (ok: boolean): FakeCommand => ({ argv: ['sh', '-c'], prefix: true, result: ok ? {} : { exitCode: 1, stderr: 'mktemp: failed to create directory via template: Permission denied' } });

async function run(scenario: FakeScenario) {
  const target = new FakeTarget({ ...scenario, user: { ...me, ...scenario.user } });
  made.push(target);
  const outcome = await check.run(fakeContext(target));
  return { outcome, target };
}
const codes = (o: { findings: { code: string }[] }) => o.findings.map((f) => f.code);
const RUN = `/run/user/${me.uid}`;

describe('dconf.runtime-dir', () => {
  it.each([
    ['working', { [RUN]: { dir: true, mode: 0o700 } }, {}, [dconf(), writes(true)], 'pass', 'runtime-dir-ok'],
    ['missing', {}, {}, [dconf(CRITICAL(RUN)), writes(true)], 'fail', 'runtime-dir-missing'],
    ['owned by someone else', { [RUN]: { dir: true, mode: 0o700 } }, { uid: 4242, gid: 4242 }, [dconf(), writes(false)], 'fail', 'runtime-dir-wrong-owner'],
    ['mode 0755', { [RUN]: { dir: true, mode: 0o755 } }, {}, [dconf(), writes(true)], 'warn', 'runtime-dir-mode'],
    ['not writable', { [RUN]: { dir: true, mode: 0o700 } }, {}, [dconf(), writes(false)], 'fail', 'runtime-dir-not-writable'],
    ['a file', { [RUN]: 'x' }, {}, [dconf(), writes(true)], 'fail', 'runtime-dir-not-a-directory'],
    ['dconf complains anyway: its directory is a file', { [RUN]: { dir: true, mode: 0o700 }, [`${RUN}/dconf`]: 'x' }, {}, [dconf(CRITICAL(RUN)), writes(true)], 'fail', 'dconf-cannot-write'],
    ['no sh in the guest', { [RUN]: { dir: true, mode: 0o700 } }, {}, [noDconf, { argv: ['sh'], prefix: true, result: { exitCode: 127, notFound: true } } as FakeCommand], 'pass', 'write-test-unavailable'],
  ] as const)('%s', async (_name, files, user, commands, status, code) => {
    const { outcome } = await run({ env: { XDG_RUNTIME_DIR: RUN }, files: files as FakeScenario['files'], user, commands: [...commands] as FakeCommand[] });
    expect(outcome.status).toBe(status);
    expect(codes(outcome)).toContain(code);
  });

  it('a healthy directory starts no dconf process (it is run only to quote a problem)', async () => {
    const { outcome, target } = await run({ env: { XDG_RUNTIME_DIR: RUN }, files: { [RUN]: { dir: true, mode: 0o700 } }, commands: [writes(true)] });
    expect(outcome.status).toBe('pass');
    expect(target.log.exec.map((e) => e.argv[0])).toEqual(['sh']);
  });

  it('dconf\'s own directory, present and the user\'s, is no reason to run dconf', async () => {
    const { outcome, target } = await run({ env: { XDG_RUNTIME_DIR: RUN }, files: { [RUN]: { dir: true, mode: 0o700 }, [`${RUN}/dconf`]: { dir: true, mode: 0o700 } }, commands: [writes(true)] });
    expect(outcome.status).toBe('pass');
    expect(target.log.exec.some((e) => e.argv[0] === 'dconf')).toBe(false);
  });

  it('quotes dconf\'s real error, run as the user with XDG_RUNTIME_DIR set', async () => {
    const { outcome, target } = await run({ env: { XDG_RUNTIME_DIR: RUN }, commands: [dconf(CRITICAL(RUN)), writes(true)] });
    const missing = outcome.findings.find((f) => f.code === 'runtime-dir-missing');
    expect(missing?.message).toContain(`unable to create directory '${RUN}/dconf': Permission denied.  dconf will not work properly.`);
    const call = target.log.exec.find((e) => e.argv[0] === 'dconf');
    expect(call?.opts?.user).toMatchObject({ uid: me.uid, gid: me.gid });
    expect(call?.opts?.env?.XDG_RUNTIME_DIR).toBe(RUN);
  });

  it('quotes dconf\'s wording when the guest has no dconf', async () => {
    const { outcome } = await run({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, user: { uid: 1000, gid: 1000 }, commands: [noDconf] });
    expect(outcome.findings.find((f) => f.code === 'runtime-dir-missing')?.message)
      .toContain("unable to create directory '/run/user/1000/dconf': Permission denied.  dconf will not work properly.");
  });

  it('offers a safe mkdir step, 0700, owned by the user, in the guest', async () => {
    const { outcome } = await run({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, user: { uid: 1000, gid: 1001 }, commands: [dconf()] });
    const fix = outcome.fixes.find((f) => f.id === 'dconf.make-runtime-dir');
    expect(fix?.safety).toBe('safe');
    expect(fix?.steps[0]).toMatchObject<Partial<MkdirStep>>({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', mode: 0o700, uid: 1000, gid: 1001 });
  });

  describe('H2 (security audit): which runtime directory may be repaired, and how safely', () => {
    const U = { uid: 4242, gid: 4242 };
    const mine = '/run/user/4242';
    const tmpfsRun = (major: number, minor: number, mountPoint = '/run') => parseMountinfo(`40 31 ${major}:${minor} / ${mountPoint} rw - tmpfs tmpfs rw`)[0]!;
    const withHost = async (scenario: FakeScenario, hostMountinfo: string, chownTo?: number) => {
      const target = new FakeTarget({ ...scenario, user: { ...me, ...scenario.user } });
      made.push(target);
      if (chownTo !== undefined) chownSync(path.join(target.root, mine), chownTo, chownTo);
      return check.run(fakeContext(target, {}, new FakeHost({ mountinfo: hostMountinfo })));
    };
    const files = { '/run/user': { dir: true, mode: 0o755 }, [mine]: { dir: true, mode: 0o700 } } as const;
    const fixOf = (o: { fixes: { id: string; safety: string }[] }, id: string) => o.fixes.find((f) => f.id === id)?.safety;

    it.runIf(me.uid === 0)('a root-owned /run/user/UID of the guest\'s own is given to the user: safe', async () => {
      const o = await withHost({ env: { XDG_RUNTIME_DIR: mine }, files, user: U, commands: [dconf(), writes(false)] }, '');
      expect(fixOf(o, 'dconf.chown-runtime-dir')).toBe('safe');
    });

    it.runIf(me.uid === 0)('the same directory on the host\'s /run seen through a shared /run: unsafe, and a finding says so', async () => {
      const hostRun = '25 1 0:25 / /run rw,nosuid - tmpfs tmpfs rw';
      const o = await withHost({ env: { XDG_RUNTIME_DIR: mine }, files, user: U, mounts: [tmpfsRun(0, 25)], commands: [dconf(), writes(false)] }, hostRun);
      expect(fixOf(o, 'dconf.chown-runtime-dir')).toBe('unsafe');
      expect(codes(o)).toContain('runtime-dir-host-mount');
      // A private tmpfs of the guest (a device of its own) is the guest's own again.
      const own = await withHost({ env: { XDG_RUNTIME_DIR: mine }, files, user: U, mounts: [tmpfsRun(0, 99)], commands: [dconf(), writes(false)] }, hostRun);
      expect(fixOf(own, 'dconf.chown-runtime-dir')).toBe('safe');
    });

    it.runIf(me.uid === 0)('another user\'s directory is never given away: a finding, no fix', async () => {
      const o = await withHost({ env: { XDG_RUNTIME_DIR: mine }, files, user: U, commands: [dconf(), writes(false)] }, '', 1001);
      expect(fixOf(o, 'dconf.chown-runtime-dir')).toBeUndefined();
      expect(codes(o)).toEqual(expect.arrayContaining(['runtime-dir-wrong-owner', 'runtime-dir-owner-refused']));
    });

    it('XDG_RUNTIME_DIR naming another path (a host directory through a bind) is never created: a finding and the export', async () => {
      const o = await withHost({ env: { XDG_RUNTIME_DIR: '/home/admin/.local/bin' }, files: {}, user: U, commands: [dconf()] }, '');
      expect(o.fixes.map((f) => f.id)).toEqual(['dconf.export-runtime-dir']);
      expect(codes(o)).toEqual(expect.arrayContaining(['runtime-dir-missing', 'runtime-dir-not-standard']));
      expect((o.fixes[0]!.steps[0] as { snippet?: string }).snippet).toBe(`export XDG_RUNTIME_DIR=${mine}`);
    });

    it('a missing /run/user/UID of the guest\'s own is created: safe', async () => {
      const o = await withHost({ env: { XDG_RUNTIME_DIR: mine }, files: {}, user: U, commands: [dconf()] }, '');
      expect(fixOf(o, 'dconf.make-runtime-dir')).toBe('safe');
    });
  });

  it('tests writability as the user with a temp dir it removes again', async () => {
    const { target } = await run({ env: { XDG_RUNTIME_DIR: RUN }, files: { [RUN]: { dir: true, mode: 0o700 } }, commands: [dconf(), writes(true)] });
    const sh = target.log.exec.find((e) => e.argv[0] === 'sh');
    expect(sh?.argv.at(-1)).toBe(RUN);
    expect(sh?.argv[2]).toContain('rmdir');
    expect(sh?.opts?.user?.uid).toBe(me.uid);
  });

  it('without XDG_RUNTIME_DIR it checks /run/user/UID', async () => {
    const { outcome } = await run({ env: {}, files: { [RUN]: { dir: true, mode: 0o700 } }, commands: [dconf(), writes(true)] });
    expect(codes(outcome)).toEqual(expect.arrayContaining(['runtime-dir-unset', 'runtime-dir-ok']));
    expect(outcome.status).toBe('pass');
  });
});
