import { expect } from 'vitest';
import check from '../../../src/checks/dconf/runtime-dir.js';
import type { CheckOutcome, MkdirStep } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeCommand, FakeFile, FakeProbe, FakeScenario, FakeTarget } from '../support/fake-target.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';

// The desktop user is uid 1000 and every fake file says whose it is: nothing depends on who runs the tests.
const U = { uid: 1000, gid: 1000, name: 'user' };
const RUN = '/run/user/1000';
const CRITICAL = (dir: string) =>
  `\n(dconf:24611): dconf-CRITICAL **: 06:23:02.389: unable to create directory '${dir}/dconf': Permission denied.  dconf will not work properly.\n`;
const DCONF_WORDS = (dir: string) => `unable to create directory '${dir}/dconf': Permission denied.  dconf will not work properly.`;
const dconf = (stderr = ''): FakeCommand => ({ argv: ['dconf', 'read'], prefix: true, result: { stderr } });
const noDconf: FakeCommand = { argv: ['dconf', 'read'], prefix: true, result: { exitCode: 127, notFound: true } };
/** The user's probe child making and removing a directory in the runtime directory: made, or refused (EACCES). */
const writes = (ok: boolean): FakeProbe => ({
  name: 'dir-write',
  response: (req) =>
    ok
      ? { ok: true, guestPath: req.path }
      : { ok: false, stage: 'mkdir', errno: 'EACCES', message: `mkdir ${req.path}/.ctr-doctor-0a1b2c: EACCES` },
});
const noProbeChild: FakeProbe = {
  name: 'dir-write',
  response: { ok: true, guestPath: RUN },
  error: 'the probe child could not start: spawn EACCES',
};
/** /run/user of root's, 0755, and the runtime directory with its owner and mode. */
const runDir = (uid: number, mode = 0o700, parentUid = 0): Record<string, FakeFile> => ({
  '/run/user': { dir: true, mode: 0o755, uid: parentUid },
  [RUN]: { dir: true, mode, uid, gid: uid },
});
/** The guest: its files, the commands (dconf) and probes (the write test) it answers, and anything more. */
const guest = (files: Record<string, FakeFile>, answers: (FakeCommand | FakeProbe)[], more: FakeScenario = {}): FakeScenario => ({
  env: { XDG_RUNTIME_DIR: RUN },
  user: U,
  files,
  commands: answers.filter((a): a is FakeCommand => 'argv' in a),
  probes: answers.filter((a): a is FakeProbe => 'name' in a),
  ...more,
});
const tmpfsRun = (major: number, minor: number) => parseMountinfo(`40 31 ${major}:${minor} / /run rw - tmpfs tmpfs rw`);
const HOST_RUN = '25 1 0:25 / /run rw,nosuid - tmpfs tmpfs rw';
const message = (o: CheckOutcome, code: string) => o.findings.find((f) => f.code === code)?.message;
const fixOf = (o: CheckOutcome, id: string) => o.fixes.find((f) => f.id === id);
const ranDconf = (target: FakeTarget) => target.log.exec.some((e) => e.argv[0] === 'dconf');

checkTester(check, [
  {
    name: 'working: pass, and a healthy directory starts no dconf process',
    target: guest(runDir(1000), [writes(true)]),
    status: 'pass',
    codes: ['runtime-dir-ok'],
    summary: `${RUN}: owned by user, 0700, writable`,
    assert: (o, { target }) => {
      expect(ranDconf(target)).toBe(false);
      expect(message(o, 'runtime-dir-ok')).toBe(`${RUN} belongs to user, is mode 0700 and writable`);
    },
  },
  {
    name: "dconf's own directory, present and the user's, is no reason to run dconf",
    target: guest({ ...runDir(1000), [`${RUN}/dconf`]: { dir: true, mode: 0o700, uid: 1000 } }, [writes(true)]),
    status: 'pass',
    codes: ['runtime-dir-ok'],
    assert: (_o, { target }) => expect(ranDconf(target)).toBe(false),
  },
  {
    name: "missing: quotes dconf's real error, run as the user with XDG_RUNTIME_DIR set; a safe mkdir 0700 owned by the user",
    target: guest({}, [dconf(CRITICAL(RUN))], { user: { ...U, gid: 1001 } }),
    status: 'fail',
    codes: ['runtime-dir-missing'],
    fixes: ['dconf.make-runtime-dir'],
    summary: `${RUN} does not exist in the guest, so dconf prints "${DCONF_WORDS(RUN)}"`,
    assert: (o, { target }) => {
      const call = target.log.exec.find((e) => e.argv[0] === 'dconf');
      expect(call?.opts?.user).toMatchObject({ uid: 1000, gid: 1001 });
      expect(call?.opts?.env?.XDG_RUNTIME_DIR).toBe(RUN);
      const fix = fixOf(o, 'dconf.make-runtime-dir');
      expect(fix?.safety).toBe('safe');
      expect(fix?.steps[0]).toMatchObject<Partial<MkdirStep>>({
        kind: 'mkdir',
        where: 'guest',
        path: RUN,
        mode: 0o700,
        uid: 1000,
        gid: 1001,
      });
      expect(target.log.exec.some((e) => e.argv[0] === 'sh')).toBe(false);
    },
  },
  {
    name: "missing, no dconf in the guest: dconf's wording all the same",
    target: guest({}, [noDconf]),
    status: 'fail',
    codes: ['runtime-dir-missing'],
    fixes: ['dconf.make-runtime-dir'],
    assert: (o) => expect(message(o, 'runtime-dir-missing')).toContain(DCONF_WORDS(RUN)),
  },
  {
    name: 'a file: no repair offered',
    target: guest({ [RUN]: 'x' }, [dconf()]),
    status: 'fail',
    codes: ['runtime-dir-not-a-directory'],
    fixes: [],
    summary: `${RUN} is a file, not a directory, so dconf prints "${DCONF_WORDS(RUN)}"`,
  },
  {
    name: "root-owned in root's /run/user: given to the user, safe",
    target: guest(runDir(0), [dconf(), writes(false)]),
    status: 'fail',
    codes: ['runtime-dir-wrong-owner', 'runtime-dir-not-writable'],
    fixes: ['dconf.chown-runtime-dir'],
    summary: `${RUN} belongs to uid 0, not to user (uid 1000)`,
    assert: (o) => {
      expect(fixOf(o, 'dconf.chown-runtime-dir')?.safety).toBe('safe');
      expect(message(o, 'runtime-dir-not-writable')).toBe(
        `user (uid 1000) cannot create anything in ${RUN}, so dconf prints "${DCONF_WORDS(RUN)}"`,
      );
      expect(o.findings.find((f) => f.code === 'runtime-dir-not-writable')?.evidence.error).toBe(`mkdir ${RUN}/.ctr-doctor-0a1b2c: EACCES`);
    },
  },
  {
    name: "H2: the same directory on the host's /run seen through a shared /run: unsafe, and a finding says so",
    target: guest(runDir(0), [dconf(), writes(false)], { mounts: tmpfsRun(0, 25) }),
    host: { mountinfo: HOST_RUN },
    status: 'fail',
    codes: ['runtime-dir-wrong-owner', 'runtime-dir-host-mount', 'runtime-dir-not-writable'],
    fixes: ['dconf.chown-runtime-dir'],
    assert: (o) => {
      expect(fixOf(o, 'dconf.chown-runtime-dir')?.safety).toBe('unsafe');
      expect(message(o, 'runtime-dir-host-mount')).toBe(
        `${RUN} is on /run, a mount of the host's / (tmpfs): changing it changes the host's directory, so the repair is unsafe`,
      );
      expect(o.findings.find((f) => f.code === 'runtime-dir-host-mount')?.evidence).toMatchObject({
        mountPoint: '/run',
        hostRoot: '/',
        device: '0:25',
      });
    },
  },
  {
    name: "H2: a private tmpfs of the guest (a device of its own) is the guest's own: safe",
    target: guest(runDir(0), [dconf(), writes(false)], { mounts: tmpfsRun(0, 99) }),
    host: { mountinfo: HOST_RUN },
    status: 'fail',
    codes: ['runtime-dir-wrong-owner', 'runtime-dir-not-writable'],
    fixes: ['dconf.chown-runtime-dir'],
    assert: (o) => expect(fixOf(o, 'dconf.chown-runtime-dir')?.safety).toBe('safe'),
  },
  {
    name: "H2: another user's directory is never given away: a finding (once), no fix",
    target: guest(runDir(1001), [dconf(), writes(false)]),
    status: 'fail',
    codes: ['runtime-dir-wrong-owner', 'runtime-dir-owner-refused', 'runtime-dir-not-writable'],
    fixes: [],
    assert: (o) => {
      expect(o.findings.filter((f) => f.code === 'runtime-dir-owner-refused')).toHaveLength(1);
      expect(message(o, 'runtime-dir-owner-refused')).toBe(
        `${RUN} belongs to uid 1001: ctr-doctor gives only a root-owned directory in a root-owned /run/user to user`,
      );
    },
  },
  {
    name: "H2: root's directory in a /run/user others own is not given away either",
    target: guest(runDir(0, 0o700, 1001), [dconf(), writes(true)]),
    status: 'fail',
    codes: ['runtime-dir-wrong-owner', 'runtime-dir-owner-refused'],
    fixes: [],
    assert: (o) => expect(message(o, 'runtime-dir-owner-refused')).toContain("belongs to uid 0 in a directory that is not root's alone"),
  },
  {
    name: 'H2: XDG_RUNTIME_DIR naming another path (a host directory through a bind) is never created: a finding and the export',
    target: guest({}, [dconf()], { env: { XDG_RUNTIME_DIR: '/home/admin/.local/bin' } }),
    status: 'fail',
    codes: ['runtime-dir-missing', 'runtime-dir-not-standard'],
    fixes: ['dconf.export-runtime-dir'],
    assert: (o) => {
      expect(o.fixes[0]?.steps[0]).toMatchObject({ snippet: `export XDG_RUNTIME_DIR=${RUN}` });
      expect(message(o, 'runtime-dir-not-standard')).toBe(
        `XDG_RUNTIME_DIR is /home/admin/.local/bin, not ${RUN}: ctr-doctor creates and changes only ${RUN} (another path may be a host directory seen through a bind mount)`,
      );
    },
  },
  {
    name: 'H2: another path that exists, of another user: not changed, only the export',
    target: guest({ '/home/admin': { dir: true, mode: 0o755, uid: 1001 } }, [dconf(), writes(false)], {
      env: { XDG_RUNTIME_DIR: '/home/admin/' },
    }),
    status: 'fail',
    codes: ['runtime-dir-wrong-owner', 'runtime-dir-not-standard', 'runtime-dir-not-writable'],
    fixes: ['dconf.export-runtime-dir'],
    assert: (o) => expect(message(o, 'runtime-dir-wrong-owner')).toBe('/home/admin belongs to uid 1001, not to user (uid 1000)'),
  },
  {
    name: 'mode 0755: a warning and a safe mode repair',
    target: guest(runDir(1000, 0o755), [dconf(), writes(true)]),
    status: 'warn',
    codes: ['runtime-dir-mode'],
    fixes: ['dconf.make-runtime-dir'],
    summary: `${RUN} has mode 0755, not 0700 as the XDG Base Directory spec requires`,
    assert: (o) => expect(fixOf(o, 'dconf.make-runtime-dir')?.safety).toBe('safe'),
  },
  {
    name: "not writable by the user, though the user's and 0700",
    target: guest(runDir(1000), [dconf(), writes(false)]),
    status: 'fail',
    codes: ['runtime-dir-not-writable'],
    fixes: [],
  },
  {
    name: 'dconf complains anyway: its directory is a file',
    target: guest({ ...runDir(1000), [`${RUN}/dconf`]: 'x' }, [dconf(CRITICAL(RUN)), writes(true)]),
    status: 'fail',
    codes: ['dconf-cannot-write'],
    summary: `dconf run as user prints "${DCONF_WORDS(RUN)}"`,
  },
  {
    name: "dconf's directory in the way but dconf says nothing: fine",
    target: guest({ ...runDir(1000), [`${RUN}/dconf`]: 'x' }, [dconf(''), writes(true)]),
    status: 'pass',
    codes: ['runtime-dir-ok'],
    assert: (_o, { target }) => expect(ranDconf(target)).toBe(true),
  },
  {
    name: "the user's probe child cannot start: said, and dconf asked",
    target: guest(runDir(1000), [noDconf, noProbeChild]),
    status: 'pass',
    codes: ['write-test-unavailable', 'runtime-dir-ok'],
    assert: (o, { target }) => {
      expect(message(o, 'write-test-unavailable')).toBe(
        `could not test writing to ${RUN} as user: the probe child could not start: spawn EACCES`,
      );
      expect(ranDconf(target)).toBe(true);
    },
  },
  {
    name: "the write test is the user's probe child's, on the directory: no guest command",
    target: guest(runDir(1000), [writes(true)]),
    status: 'pass',
    codes: ['runtime-dir-ok'],
    assert: (_o, { target }) => {
      expect(target.log.exec).toEqual([]);
      expect(target.log.probes).toEqual([{ name: 'dir-write', request: { path: RUN }, asUser: true }]);
    },
  },
  {
    name: 'without XDG_RUNTIME_DIR it checks /run/user/UID and says so',
    target: guest(runDir(1000), [writes(true)], { env: {}, envSource: 'process 7' }),
    status: 'pass',
    codes: ['runtime-dir-unset', 'runtime-dir-ok'],
    assert: (o) =>
      expect(message(o, 'runtime-dir-unset')).toBe(`XDG_RUNTIME_DIR is not set in the session (from process 7); checking ${RUN}`),
  },
  {
    name: 'without XDG_RUNTIME_DIR and missing: the mkdir first, then the export',
    target: guest({}, [dconf()], { env: {} }),
    status: 'fail',
    codes: ['runtime-dir-unset', 'runtime-dir-missing'],
    fixes: ['dconf.make-runtime-dir', 'dconf.export-runtime-dir'],
    assert: (o) => expect(o.fixes.map((f) => f.id)).toEqual(['dconf.make-runtime-dir', 'dconf.export-runtime-dir']),
  },
  {
    name: 'a relative XDG_RUNTIME_DIR is not used, and not called unset',
    target: guest(runDir(1000), [writes(true)], { env: { XDG_RUNTIME_DIR: 'run/user/1000' } }),
    status: 'pass',
    codes: ['runtime-dir-ok'],
  },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
