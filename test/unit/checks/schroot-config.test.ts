import { describe, expect, it } from 'vitest';
import check from '../../../src/checks/schroot/config.js';
import { coupledDirOfBind } from '../../../src/checks/mounts/coupled-run.js';
import type { CheckOutcome, ManualStep } from '../../../src/core/types.js';
import { checkTester, type CheckCase } from '../support/check-tester.js';
import type { FakeHostFile, FakeHostScenario } from '../support/fake-host.js';

const ETC = '/etc/schroot';
const ROOT = '/srv/box';
const BOX = ['[box]', 'type=directory', `directory=${ROOT}`, 'profile=box'];
type Profile = Partial<Record<'fstab' | 'copyfiles' | 'nssdatabases', string | null>>;

/** A host with chroot.d/box (`conf`), its profile files (null = not there), the default profile, the chroot's root and a resolv.conf to point at. */
function host(conf: string[] = BOX, profile: Profile = {}, more: Record<string, FakeHostFile> = {}): FakeHostScenario {
  const files: Record<string, FakeHostFile> = {
    [`${ETC}/chroot.d/box`]: conf.join('\n') + '\n',
    [ROOT]: { dir: true },
    '/proc': { dir: true },
    '/srv/real-resolv.conf': 'nameserver 203.0.113.53\n',
    ...Object.fromEntries(['fstab', 'copyfiles', 'nssdatabases'].map((k) => [`${ETC}/default/${k}`, ''])),
  };
  const all = { fstab: '/proc /proc none rw,bind 0 0\n', copyfiles: '', nssdatabases: 'passwd\n', ...profile };
  for (const [k, v] of Object.entries(all)) if (v !== null) files[`${ETC}/box/${k}`] = v;
  return { files: { ...files, ...more } };
}
const bareHost = { kind: 'host' as const, root: '/' };
const finding = (o: CheckOutcome, code: string) => o.findings.find((x) => x.code === code);
const steps = (o: CheckOutcome, id: string) => (o.fixes.find((x) => x.id === id)?.steps ?? []) as ManualStep[];

/** A profile fstab line that brings the host's daemons in: found before any session starts, with the lines to put instead. */
const runBind = (
  line: string,
  code: 'fstab-binds-host-run' | 'fstab-binds-host-user-run',
  hostDir: string,
): CheckCase<typeof check.findings, typeof check.fixDocs> => ({
  name: `the profile fstab line "${line}"`,
  target: bareHost,
  host: host(
    BOX,
    { fstab: `/proc /proc none rw,bind 0 0\n${line}\n` },
    { '/run/systemd': { dir: true }, '/run/dbus': { dir: true }, '/run/user/1000': { dir: true } },
  ),
  status: code === 'fstab-binds-host-run' ? 'fail' : 'warn',
  codes: [code, 'chroots'],
  fixes: ['mounts.schroot-private-run'],
  assert: (o) => {
    const f = finding(o, code);
    expect(f?.message).toMatch(new RegExp(`^${ETC}/box/fstab line 2 binds the host's \\S+ into every session of box \\(at `));
    expect(f?.evidence).toMatchObject({ line: 2, text: line, hostDir });
    expect((f?.evidence.replacement as string[])[0]).toBe('tmpfs  /run  tmpfs  rw,nosuid,nodev,mode=755  0  0');
    const [remove, add] = steps(o, 'mounts.schroot-private-run');
    expect(remove?.description).toBe(`${ETC}/box/fstab line 2: remove this line`);
    expect(remove?.snippet).toBe(line);
    expect(add?.snippet).toContain('tmpfs  /run/user/');
  },
});

checkTester(check, [
  {
    name: 'a chroot whose directory and profile files exist',
    target: bareHost,
    host: host(),
    status: 'pass',
    codes: ['chroots'],
    summary: '1 chroot(s) configured correctly',
    assert: (o) => expect(o.findings[0]?.message).toBe('checked box'),
  },
  {
    name: 'a copyfiles entry that is a symlink on the host: file, line and the edit',
    target: bareHost,
    host: host(
      BOX,
      { copyfiles: '# copy these\n/srv/resolv-link /etc/resolv.conf\n' },
      { '/srv/resolv-link': { symlink: '/srv/real-resolv.conf' } },
    ),
    status: 'warn',
    codes: ['copyfiles-symlink', 'chroots'],
    fixes: ['schroot.copyfiles-symlink'],
    assert: (o) => {
      const f = finding(o, 'copyfiles-symlink');
      expect(f?.message).toMatch(
        /^\/srv\/resolv-link in \/etc\/schroot\/box\/copyfiles line 2 is a symlink on the host \(to \/srv\/real-resolv.conf\): /,
      );
      expect(f?.evidence).toMatchObject({
        file: `${ETC}/box/copyfiles`,
        line: 2,
        text: '/srv/resolv-link /etc/resolv.conf',
        symlinkTarget: '/srv/real-resolv.conf',
        copyRealFileInstead: '/srv/real-resolv.conf /etc/resolv.conf',
      });
      expect(steps(o, 'schroot.copyfiles-symlink')[0]?.description).toContain(
        `${ETC}/box/copyfiles line 2: delete "/srv/resolv-link /etc/resolv.conf"`,
      );
    },
  },
  {
    name: "a dangling symlink fails with schroot's own error text",
    target: bareHost,
    host: host(BOX, { copyfiles: '/srv/dangling\n' }, { '/srv/dangling': { symlink: '/srv/nothing-here' } }),
    status: 'fail',
    codes: ['copyfiles-dangling-symlink', 'chroots'],
    fixes: ['schroot.copyfiles-missing'],
    assert: (o) =>
      expect(finding(o, 'copyfiles-dangling-symlink')?.message).toBe(
        `E: 20copyfiles: error: Not copying nonexistent file: /srv/dangling: it is a dangling symlink on the host (${ETC}/box/copyfiles line 1); every session of box fails to start`,
      ),
  },
  {
    name: 'a copyfiles entry missing on the host',
    target: bareHost,
    host: host(BOX, { copyfiles: '/srv/nothing\n' }),
    status: 'fail',
    codes: ['copyfiles-source-missing', 'chroots'],
    fixes: ['schroot.copyfiles-missing'],
    assert: (o) =>
      expect(finding(o, 'copyfiles-source-missing')?.message).toBe(
        `E: 20copyfiles: error: Not copying nonexistent file: /srv/nothing (${ETC}/box/copyfiles line 1); every session of box fails to start`,
      ),
  },
  {
    name: 'a shared copyfiles (the default profile) is not edited: the chroot gets its own and a setup.copyfiles line',
    target: bareHost,
    host: host(
      [],
      {},
      {
        [`${ETC}/chroot.d/box`]: `[box]\ntype=directory\ndirectory=${ROOT}\n\n[other]\ntype=directory\ndirectory=${ROOT}\n`,
        [`${ETC}/default/copyfiles`]: '/srv/resolv-link\n',
        '/srv/resolv-link': { symlink: '/srv/real-resolv.conf' },
      },
    ),
    status: 'warn',
    codes: ['copyfiles-symlink', 'chroots'],
    fixes: ['schroot.copyfiles-symlink'],
    assert: (o) => {
      const fix = o.fixes.find((x) => x.id === 'schroot.copyfiles-symlink' && x.title.includes('box'));
      const [newFile, confLine] = fix!.steps as ManualStep[];
      expect(newFile?.description).toContain(`${ETC}/box/copyfiles: add`);
      expect(newFile?.snippet).toBe('# nothing to copy');
      expect(confLine?.description).toContain(`${ETC}/chroot.d/box: add after line 1`);
      expect(confLine?.snippet).toBe('setup.copyfiles=box/copyfiles');
    },
  },
  {
    name: "a missing directory names the config line and schroot's error",
    target: bareHost,
    host: host(['[box]', 'type=directory', 'directory=/srv/nowhere', 'profile=box']),
    status: 'fail',
    codes: ['directory-missing', 'chroots'],
    fixes: ['schroot.fix-directory'],
    assert: (o) => {
      const f = finding(o, 'directory-missing');
      expect(f?.message).toBe(
        `E: 10mount: error: Directory '/srv/nowhere' does not exist (schroot chroot box, ${ETC}/chroot.d/box line 3)`,
      );
      expect(f?.evidence).toMatchObject({ file: `${ETC}/chroot.d/box`, line: 3, text: 'directory=/srv/nowhere', exists: false });
    },
  },
  {
    name: 'no directory= at all',
    target: bareHost,
    host: host(['[box]', 'type=directory', 'profile=box']),
    status: 'fail',
    codes: ['directory-not-set', 'chroots'],
    fixes: ['schroot.set-directory'],
    assert: (o) =>
      expect(finding(o, 'directory-not-set')?.message).toBe(`schroot chroot box (${ETC}/chroot.d/box line 1) has no directory= line`),
  },
  {
    name: 'a missing setup.fstab points at the line and offers default/fstab',
    target: bareHost,
    host: host([...BOX, 'setup.fstab=box/no-such-fstab']),
    status: 'fail',
    codes: ['setup-file-missing', 'chroots'],
    fixes: ['schroot.setup-fstab'],
    assert: (o) => {
      const f = finding(o, 'setup-file-missing');
      expect(f?.message).toBe(
        `E: 10mount: error: setup_fstab file '${ETC}/box/no-such-fstab' does not exist (schroot chroot box, from ${ETC}/chroot.d/box line 5: setup.fstab=box/no-such-fstab)`,
      );
      expect(f?.evidence).toMatchObject({ line: 5, text: 'setup.fstab=box/no-such-fstab', replacement: 'setup.fstab=default/fstab' });
    },
  },
  {
    name: 'a missing profile copyfiles and nssdatabases, an fstab bind of a missing path and a malformed fstab line',
    target: bareHost,
    host: host(BOX, {
      copyfiles: null,
      nssdatabases: null,
      fstab: '/proc /proc none rw,bind 0 0\n/srv/gone /gone none rw,bind 0 0\n/a b /c none rw,bind 0 0 x\n',
    }),
    status: 'fail',
    codes: ['setup-file-missing', 'fstab-source-missing', 'fstab-malformed', 'chroots'],
    fixes: ['schroot.setup-copyfiles', 'schroot.setup-nssdatabases', 'schroot.fstab-source', 'schroot.fstab-line'],
    assert: (o) => {
      expect(finding(o, 'fstab-source-missing')?.message).toBe(
        `${ETC}/box/fstab line 2 binds /srv/gone, which does not exist on the host: every session of box fails to mount it`,
      );
      expect(finding(o, 'fstab-malformed')?.evidence).toMatchObject({ line: 3 });
      expect(steps(o, 'schroot.fstab-line')[0]?.snippet).toBe('/a\\040b\\040/c\\040none\\040rw,bind\\0400\\0400\\040x');
    },
  },
  runBind('/run /run none rw,rbind 0 0', 'fstab-binds-host-run', '/run'),
  runBind('/run/dbus /run/dbus none rw,bind 0 0', 'fstab-binds-host-run', '/run/dbus'),
  runBind('/run/systemd/ /run/systemd none rw,bind 0 0', 'fstab-binds-host-run', '/run/systemd'),
  runBind('/run/user /run/user none rw,rbind 0 0', 'fstab-binds-host-user-run', '/run/user'),
  runBind('/ /host none rw,rbind 0 0', 'fstab-binds-host-run', '/run'),
  {
    name: "binds near /run that do not reach the host's daemons are left alone",
    target: bareHost,
    host: host(
      BOX,
      { fstab: '/run/lock /run/lock none rw,bind 0 0\n/ /host none rw,bind 0 0\n/tmp /tmp none rw,bind 0 0\n' },
      { '/run/lock': { dir: true }, '/tmp': { dir: true } },
    ),
    status: 'pass',
    codes: ['chroots'],
  },
  {
    name: "a line schroot's parser rejects",
    target: bareHost,
    host: host([...BOX, 'this is not a key']),
    status: 'warn',
    codes: ['config-syntax', 'chroots'],
    assert: (o) => expect(finding(o, 'config-syntax')?.message).toMatch(new RegExp(`^${ETC}/chroot.d/box line 5: `)),
  },
  {
    name: 'a schroot target looks only at its own chroot',
    target: { kind: 'schroot', schroot: { chroot: 'box', session: null } },
    host: host(BOX, {}, { [`${ETC}/chroot.d/broken`]: '[broken]\ntype=directory\ndirectory=/srv/nowhere\n' }),
    status: 'pass',
    codes: ['chroots'],
  },
  {
    name: 'on the host, every chroot',
    target: bareHost,
    host: host(BOX, {}, { [`${ETC}/chroot.d/broken`]: '[broken]\ntype=directory\ndirectory=/srv/nowhere\n' }),
    status: 'fail',
    codes: ['directory-missing', 'chroots'],
    fixes: ['schroot.fix-directory'],
    assert: (o) => expect(finding(o, 'chroots')?.message).toBe('checked box, broken'),
  },
  {
    name: 'a session whose chroot is gone from /etc/schroot',
    target: { kind: 'schroot', name: 'session:s1', schroot: { chroot: 'gone', session: 's1' } },
    host: host(),
    status: 'pass',
    codes: [],
    summary: 'chroot gone is not in /etc/schroot (the session keeps its own copy of the settings)',
  },
  { name: 'no chroots configured', target: bareHost, host: {}, status: 'pass', codes: [], summary: 'no schroot chroots configured' },
  { name: 'other kinds of guest skip', target: { kind: 'chroot' }, status: 'skip', codes: [] },
]);

describe('coupledDirOfBind', () => {
  it.each([
    ['/run', false, '/run'],
    ['/run/', true, '/run'],
    ['/run/systemd', false, '/run/systemd'],
    ['/run/dbus', false, '/run/dbus'],
    ['/run/user', false, '/run/user'],
    ['/run/user/1000', false, '/run/user'],
    ['/', true, '/run'],
    ['/', false, null],
    ['/run/lock', true, null],
    ['/run/user/1000/pulse', false, null],
    ['/srv/run', true, null],
  ] as const)('%s (recursive %s) → %s', (source, recursive, dir) => {
    expect(coupledDirOfBind(source, recursive)?.dir ?? null).toBe(dir);
  });
});
