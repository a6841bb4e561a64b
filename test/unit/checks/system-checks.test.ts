/**
 * Table tests of the nine system checks over FakeTarget and FakeHost: their judge and offer on
 * the facts each fault gives (the faults themselves are staged for real in
 * test/integration/system-chroot.test.ts and system-nspawn.test.ts).
 */
import { expect } from 'vitest';
import machineId from '../../../src/checks/dbus/machine-id.js';
import hostname from '../../../src/checks/hosts/hostname.js';
import localeLang from '../../../src/checks/locale/lang.js';
import { buildLocaleArchive } from '../support/locale-archive.js';
import nssHosts from '../../../src/checks/nss/hosts.js';
import fsApi from '../../../src/checks/fs/api.js';
import devPts from '../../../src/checks/dev/pts.js';
import devShm from '../../../src/checks/dev/shm.js';
import nspawnBoot from '../../../src/checks/nspawn/boot.js';
import usernsIdmap from '../../../src/checks/userns/idmap.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeCommand, FakeProbe } from '../support/fake-target.js';
import type { ApiFsResponse, FsInfo, NodeInfo } from '../../../src/core/api-fs-types.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { ExecResult } from '../../../src/core/target.js';

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const writes = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.flatMap((s) => (s.kind === 'write' ? [s] : [])));
const ID = '3d1219c7c4c5404aaa1f6d2a48adfda4\n';

checkTester(machineId, [
  { name: 'valid id', target: { files: { '/etc/machine-id': ID } }, status: 'pass', codes: ['machine-id-ok'] },
  {
    name: "empty, no D-Bus copy: libdbus's words, a fresh id written",
    target: { files: { '/etc/machine-id': '' } },
    status: 'fail',
    codes: ['machine-id-broken'],
    fixes: ['dbus.write-machine-id', 'dbus.machine-id-advice'],
    assert: (o) => {
      expect(o.summary).toContain('not length 0, with no other text');
      expect(o.summary).toContain('Failed to open "/var/lib/dbus/machine-id": No such file or directory');
      expect(writes(o)[0]?.content).toMatch(/^[0-9a-f]{32}\n$/);
    },
  },
  {
    name: 'uninitialized',
    target: { files: { '/etc/machine-id': 'uninitialized\n' } },
    status: 'fail',
    codes: ['machine-id-broken'],
    fixes: ['dbus.write-machine-id', 'dbus.machine-id-advice'],
    summary: /not length 13/,
  },
  {
    name: 'missing, D-Bus copy valid: a warning, and its id is kept',
    target: { files: { '/var/lib/dbus/machine-id': ID } },
    status: 'warn',
    codes: ['machine-id-broken-dbus-ok'],
    fixes: ['dbus.write-machine-id', 'dbus.machine-id-advice'],
    assert: (o) => expect(writes(o)[0]?.content).toBe(ID),
  },
  {
    name: 'a broken D-Bus copy beside a good id: link it',
    target: { files: { '/etc/machine-id': ID, '/var/lib/dbus/machine-id': 'junk\n' } },
    status: 'warn',
    codes: ['dbus-machine-id-invalid'],
    fixes: ['dbus.link-dbus-machine-id'],
  },
  {
    name: 'both valid and different: info only',
    target: { files: { '/etc/machine-id': ID, '/var/lib/dbus/machine-id': '0123456789abcdef0123456789abcdef\n' } },
    status: 'pass',
    codes: ['machine-id-ok', 'machine-ids-differ'],
  },
  {
    name: 'a dangling D-Bus symlink to an empty id',
    target: { files: { '/etc/machine-id': '', '/var/lib/dbus/machine-id': { symlink: '/etc/nowhere' } } },
    status: 'fail',
    codes: ['machine-id-broken'],
    fixes: ['dbus.write-machine-id', 'dbus.machine-id-advice'],
  },
  {
    name: 'nspawn advice names --uuid and the .nspawn file',
    target: { kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 1, argv: [] }, files: {} },
    status: 'fail',
    codes: ['machine-id-broken'],
    fixes: ['dbus.write-machine-id', 'dbus.machine-id-advice'],
    assert: (o) => expect(snippets(o).join('\n')).toContain('--uuid='),
  },
  { name: 'not on the bare host', target: { kind: 'host' }, status: 'skip', codes: [] },
]);

const getent = (name: string, stdout: string, exitCode = 0): FakeCommand => ({
  argv: ['getent', 'ahosts', name],
  result: { stdout, exitCode },
});
const uname = (name: string): FakeCommand => ({ argv: ['uname', '-n'], result: { stdout: `${name}\n` } });
/** The getent lookups of a batch's argv: each command's words after its word count. */
const lookupsOf = (argv: readonly string[]): string[][] => {
  const out: string[][] = [];
  for (let i = 5; i < argv.length; i += 1 + Number(argv[i])) out.push(argv.slice(i + 1, i + 1 + Number(argv[i])));
  return out;
};
/**
 * The guest's sh running our command batch (checks/batch-script.ts): the frames it would print,
 * built from the argv it is given (marker, then each command's word count and words) and the getent
 * answers scripted for each name. `ms` gives a name's lookup time in the guest (default 2 ms);
 * `only` prints only those frames (a timeout cut the rest).
 */
const batch = (
  answers: FakeCommand[],
  o: { ms?: Record<string, number>; only?: string[]; result?: Partial<ExecResult> } = {},
): FakeCommand => ({
  argv: ['sh', '-c'],
  prefix: true,
  result: o.result ?? {},
  respond: (argv) => {
    const marker = argv[4] ?? '';
    const frames = lookupsOf(argv).map((words, i) => {
      const name = words[2] ?? '';
      const a = answers.find((c) => words[0] === 'getent' && c.argv[2] === name);
      if (!a || (o.only && !o.only.includes(name))) return '';
      const start = 1_700_000_000_000_000_000n + BigInt(i);
      const end = start + BigInt((o.ms?.[name] ?? 2) * 1_000_000);
      const tag = `${marker} ${i + 1}`;
      const pieces = (a.result.stdout ?? '').split('\n');
      const last = pieces.pop() ?? '';
      const body = [...pieces.map((l) => `${tag} O ${l}\n`), last === '' ? '' : `${tag} o ${last}\n`].join('');
      return `${body}${tag} X ${a.result.exitCode ?? 0} ${start} ${end}\n`;
    });
    return { stdout: frames.reverse().join('') };
  },
});
/** The guest's commands for hosts.hostname: its uname, and the lookups in one batch only (a lone getent would be unexpected). */
const viaSh = (name: string, ...answers: FakeCommand[]): FakeCommand[] => [uname(name), batch([BASE, ...answers])];
const LOCALHOST = getent('localhost', '127.0.0.1       STREAM localhost\n::1 STREAM\n');
const BASE = getent('127.0.0.1', '127.0.0.1       STREAM 127.0.0.1\n');
const HOSTS = '127.0.0.1 localhost\n::1 localhost\n';

checkTester(hostname, [
  {
    name: 'both resolve locally',
    target: {
      files: { '/etc/hosts': `${HOSTS}127.0.1.1 box\n` },
      commands: viaSh('box', LOCALHOST, getent('box', '127.0.1.1 STREAM box\n')),
    },
    status: 'pass',
    codes: ['hostname-resolves'],
  },
  {
    name: 'the hostname is missing from /etc/hosts and myhostname is not listed: the line is added',
    target: {
      files: { '/etc/hosts': HOSTS, '/etc/nsswitch.conf': 'hosts: files dns\n' },
      commands: viaSh('guestbox', LOCALHOST, getent('guestbox', '', 2)),
    },
    status: 'warn',
    codes: ['hostname-unresolvable'],
    fixes: ['hosts.add-lines'],
    assert: (o) => {
      expect(o.summary).toContain('/etc/hosts does not list guestbox and myhostname is not in the "hosts: files dns" line');
      expect(writes(o)[0]?.content).toBe(`${HOSTS}127.0.1.1\tguestbox\n`);
    },
  },
  {
    name: 'an empty /etc/hosts: localhost too',
    target: { files: { '/etc/hosts': '' }, commands: viaSh('box', getent('localhost', '', 2), getent('box', '', 2)) },
    status: 'fail',
    codes: ['localhost-unresolvable', 'hostname-unresolvable'],
    fixes: ['hosts.add-lines'],
    assert: (o) => expect(writes(o)[0]?.content).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tbox\n'),
  },
  {
    name: "a hostname that resolves to someone else's address",
    target: { files: { '/etc/hosts': HOSTS }, commands: viaSh('box', LOCALHOST, getent('box', '192.0.2.77 STREAM box\n')) },
    status: 'warn',
    codes: ['hostname-not-local'],
  },
  {
    name: 'localhost pointing elsewhere',
    target: {
      files: { '/etc/hosts': '192.0.2.1 localhost\n' },
      commands: viaSh('box', getent('localhost', '192.0.2.1 STREAM localhost\n'), getent('box', '127.0.1.1 STREAM\n')),
    },
    status: 'fail',
    codes: ['localhost-not-loopback'],
  },
  {
    name: 'nspawn: the advice names --hostname and the .nspawn file',
    target: {
      kind: 'nspawn',
      nspawn: { machine: 'box', nspawnPid: 1, argv: [] },
      files: { '/etc/hosts': HOSTS },
      commands: viaSh('box', LOCALHOST, getent('box', '', 2)),
    },
    status: 'warn',
    codes: ['hostname-unresolvable'],
    fixes: ['hosts.add-lines', 'hosts.nspawn-hostname'],
    assert: (o) => expect(snippets(o).join('\n')).toContain('[Exec]\nHostname=box'),
  },
  {
    name: 'no getent in the guest: each lookup that the batch says is missing is asked alone, for its own answer',
    target: {
      commands: [
        uname('box'),
        batch(['127.0.0.1', 'localhost', 'box'].map((n) => getent(n, '', 127))),
        { argv: ['getent'], prefix: true, result: { exitCode: 127, notFound: true } },
      ],
    },
    status: 'pass',
    codes: ['getent-missing'],
    assert: (_o, { target }) => expect(target.log.exec.filter((e) => e.argv[0] === 'getent')).toHaveLength(3),
  },
  {
    name: 'the three lookups are one guest command, the names as arguments after the fixed script',
    target: {
      files: { '/etc/hosts': `${HOSTS}127.0.1.1 box\n` },
      commands: viaSh('box', LOCALHOST, getent('box', '127.0.1.1 STREAM box\n')),
    },
    status: 'pass',
    codes: ['hostname-resolves'],
    assert: (o, { target }) => {
      const lookups = target.log.exec.filter((e) => e.argv[0] !== 'uname');
      expect(lookups).toHaveLength(1);
      const argv = lookups[0]!.argv;
      expect(lookupsOf(argv)).toEqual(['127.0.0.1', 'localhost', 'box'].map((n) => ['getent', 'ahosts', n]));
      expect(argv.slice(5)).toEqual([
        '3',
        'getent',
        'ahosts',
        '127.0.0.1',
        '3',
        'getent',
        'ahosts',
        'localhost',
        '3',
        'getent',
        'ahosts',
        'box',
      ]);
      // No guest data in the script text: it is the same whatever the names.
      expect(argv[2]).not.toContain('box');
      expect(argv[4]).toMatch(/^ctd-[0-9a-f-]{36}$/);
      expect(o.findings[0]?.evidence.elapsedMs).toBe(2);
    },
  },
  {
    name: 'a hostname that is localhost: asked once',
    target: { files: { '/etc/hosts': HOSTS }, commands: [uname('localhost'), batch([BASE, LOCALHOST])] },
    status: 'pass',
    codes: ['hostname-resolves'],
    assert: (_o, { target }) => expect(lookupsOf(target.log.exec[1]?.argv ?? []).map((w) => w[2])).toEqual(['127.0.0.1', 'localhost']),
  },
  {
    name: 'no sh in the guest: one getent per name, as before',
    target: {
      files: { '/etc/hosts': `${HOSTS}127.0.1.1 box\n` },
      commands: [
        uname('box'),
        { argv: ['sh'], prefix: true, result: { exitCode: 127, notFound: true } },
        BASE,
        LOCALHOST,
        getent('box', '127.0.1.1 STREAM box\n'),
      ],
    },
    status: 'pass',
    codes: ['hostname-resolves'],
    assert: (_o, { target }) => expect(target.log.exec.filter((e) => e.argv[0] === 'getent')).toHaveLength(3),
  },
  {
    name: 'output that is not our frames (a date without %N): one getent per name',
    target: {
      files: { '/etc/hosts': HOSTS },
      commands: [
        uname('box'),
        { argv: ['sh', '-c'], prefix: true, result: { stdout: 'ctd-x 1 H 0 %N %N\nctd-x 1 E\n' } },
        BASE,
        LOCALHOST,
        getent('box', '', 2),
      ],
    },
    status: 'warn',
    codes: ['hostname-unresolvable'],
    fixes: ['hosts.add-lines'],
    assert: (_o, { target }) => expect(target.log.exec.filter((e) => e.argv[0] === 'getent')).toHaveLength(3),
  },
  {
    name: "the batch timed out after two frames: the hostname's lookup is the one that timed out",
    target: {
      files: { '/etc/hosts': HOSTS },
      commands: [
        uname('box'),
        batch([BASE, LOCALHOST, getent('box', '')], { only: ['127.0.0.1', 'localhost'], result: { timedOut: true, exitCode: null } }),
      ],
    },
    status: 'warn',
    codes: ['hostname-unresolvable'],
    fixes: ['hosts.add-lines'],
    assert: (o) => expect(o.summary).toMatch(/getent ahosts box timed out after \d+ ms/),
  },
  {
    name: "a lookup slow in the guest (by the guest's clock, less the numeric address's)",
    target: {
      files: { '/etc/hosts': `${HOSTS}127.0.1.1 box\n` },
      commands: [uname('box'), batch([BASE, LOCALHOST, getent('box', '127.0.1.1 STREAM box\n')], { ms: { '127.0.0.1': 40, box: 1600 } })],
    },
    status: 'warn',
    codes: ['hostname-slow'],

    assert: (o) => expect(o.summary).toContain('box resolves in the guest, but the lookup took 1600 ms'),
  },
]);

const localeA = (stdout: string): FakeCommand => ({ argv: ['locale', '-a'], result: { stdout } });
checkTester(localeLang, [
  { name: 'unset', target: {}, status: 'pass', codes: ['locale-unset'] },
  {
    name: 'UTF-8 and utf8 are the same locale',
    target: { env: { LANG: 'en_US.UTF-8' }, commands: [localeA('C\nC.utf8\nen_US.utf8\nPOSIX\n')] },
    status: 'pass',
    codes: ['locale-ok'],
  },
  {
    name: "a LANG the guest lacks: perl's warning, C.UTF-8 suggested because the guest has it",
    target: { env: { LANG: 'de_DE.UTF-8' }, files: { '/etc/os-release': 'ID=debian\n' }, commands: [localeA('C\nC.utf8\nPOSIX\n')] },
    status: 'warn',
    codes: ['locale-missing'],
    fixes: ['locale.use-available', 'locale.generate'],
    assert: (o) => {
      expect(o.summary).toContain('perl: warning: Setting locale failed.');
      expect(snippets(o).join('\n')).toContain('env LANG=C.UTF-8 chroot');
      expect(snippets(o).join('\n')).toContain('de_DE\\.UTF-8');
    },
  },
  {
    name: "LC_ALL the guest lacks: bash's warning; no C.UTF-8 in the guest: C suggested",
    target: { env: { LC_ALL: 'fr_FR.UTF-8' }, commands: [localeA('C\nPOSIX\n')] },
    status: 'warn',
    codes: ['locale-missing', 'c-utf8-missing'],
    fixes: ['locale.use-available', 'locale.generate'],
    assert: (o) => {
      expect(o.summary).toContain('bash: warning: setlocale: LC_ALL: cannot change locale (fr_FR.UTF-8)');
      expect(snippets(o).join('\n')).toContain('env LANG=C LC_ALL= chroot');
    },
  },
  {
    name: 'a good LC_ALL overrides a bad LANG',
    target: { env: { LC_ALL: 'C.UTF-8', LANG: 'xx_YY.UTF-8' }, commands: [localeA('C\nC.utf8\nPOSIX\n')] },
    status: 'pass',
    codes: ['locale-ok'],
  },
  {
    name: 'C.UTF-8 on an old guest without it',
    target: { env: { LANG: 'C.UTF-8' }, commands: [localeA('C\nPOSIX\n')] },
    status: 'warn',
    codes: ['locale-missing', 'c-utf8-missing'],
    fixes: ['locale.use-available'],
  },
  {
    name: 'no locale program and a locale-archive: cannot tell',
    target: {
      env: { LANG: 'de_DE.UTF-8' },
      files: { '/usr/lib/locale/locale-archive': 'x' },
      commands: [{ argv: ['locale', '-a'], result: { exitCode: 127, notFound: true } }],
    },
    status: 'pass',
    codes: ['locales-unlisted'],
    assert: (o) =>
      expect(o.findings[0]?.message).toBe(
        "could not list the guest's locales: /usr/lib/locale/locale-archive: 1 bytes, shorter than the 56-byte header, and the guest's `locale -a` is not there",
      ),
  },
  {
    name: "from the guest's files: the archive's names, a compiled directory, an alias of locale.alias; no command",
    target: {
      env: { LANG: 'de_DE.UTF-8', LC_MESSAGES: 'deutsch', LC_TIME: 'en_GB.UTF-8' },
      files: {
        '/usr/lib/locale/locale-archive': { content: buildLocaleArchive({ names: ['de_DE.utf8', 'C.utf8'], tail: 4000 }) },
        '/usr/lib/locale/en_GB.utf8/LC_IDENTIFICATION': 'id',
        // A directory with translations only, and a file: not locales.
        '/usr/lib/locale/fr_FR.utf8/LC_MESSAGES/x': 'x',
        '/usr/lib/locale/README': 'x',
        '/usr/share/locale/locale.alias': '# aliases\ndeutsch\tde_DE.utf8\nfrancais fr_FR.utf8\n',
      },
    },
    status: 'pass',
    codes: ['locale-ok'],
    assert: (o, { target }) => {
      expect(target.log.exec).toEqual([]);
      expect(o.findings[0]?.evidence.listedBy).toBe('/usr/lib/locale');
      expect(o.findings[0]?.evidence.available).toEqual(
        expect.arrayContaining(['C', 'POSIX', 'de_DE.utf8', 'C.utf8', 'en_GB.utf8', 'deutsch']),
      );
      expect(o.findings[0]?.evidence.available).not.toContain('francais');
    },
  },
  {
    name: "from the guest's files: a LANG the archive lacks",
    target: {
      env: { LANG: 'fr_FR.UTF-8' },
      files: { '/usr/lib/locale/locale-archive': { content: buildLocaleArchive({ names: ['C.utf8'] }) } },
    },
    status: 'warn',
    codes: ['locale-missing'],
    fixes: ['locale.use-available', 'locale.generate'],
    assert: (o) => expect(o.findings[0]?.message).toContain('/usr/lib/locale lists C, C.utf8, POSIX'),
  },
  {
    name: 'a damaged archive: locale -a answers, and the evidence says why the files could not',
    target: {
      env: { LANG: 'en_US.UTF-8' },
      files: { '/usr/lib/locale/locale-archive': { content: buildLocaleArchive({ names: ['en_US.utf8'], patch: { 4: 1000 } }) } },
      commands: [localeA('C\nen_US.utf8\nPOSIX\n')],
    },
    status: 'pass',
    codes: ['locale-ok'],
    assert: (o) => {
      expect(o.findings[0]?.evidence.listedBy).toBe('locale -a');
      expect(String(o.findings[0]?.evidence.filesUnusable)).toMatch(/locale-archive: the name hash table .* ends past the file/);
    },
  },
  {
    name: 'an archive that is a FIFO: never opened for reading; locale -a answers',
    target: {
      env: { LANG: 'en_US.UTF-8' },
      files: { '/usr/lib/locale/locale-archive': { fifo: true } },
      commands: [localeA('C\nen_US.utf8\nPOSIX\n')],
    },
    status: 'pass',
    codes: ['locale-ok'],
    assert: (o) => expect(String(o.findings[0]?.evidence.filesUnusable)).toContain('fifo'),
  },
  {
    name: 'nspawn: --setenv',
    target: {
      kind: 'nspawn',
      nspawn: { machine: 'box', nspawnPid: 1, argv: [] },
      env: { LANG: 'de_DE.UTF-8' },
      commands: [localeA('C\nC.utf8\nPOSIX\n')],
    },
    status: 'warn',
    codes: ['locale-missing'],
    fixes: ['locale.use-available', 'locale.generate'],
    assert: (o) => expect(snippets(o).join('\n')).toContain('--setenv=LANG=C.UTF-8'),
  },
]);

const LIB = '/usr/lib/x86_64-linux-gnu';
const lib = (m: string) => ({ [`${LIB}/libnss_${m}.so.2`]: 'ELF' });
const resolveProbe = (ok: boolean): FakeProbe => ({
  name: 'unix-connect',
  response: { ok, errno: ok ? null : 'ENOENT', message: '', resolvedPath: null },
});
const NXSTUB = { argv: ['getent', 'ahosts', 'example.test'], result: { exitCode: 2 } };
checkTester(nssHosts, [
  { name: 'files dns', target: { files: { '/etc/nsswitch.conf': 'hosts: files dns\n' } }, status: 'pass', codes: ['hosts-line-ok'] },
  {
    name: 'resolve with no resolved and nothing after it: getent fails; the line gains dns',
    target: {
      files: { '/etc/nsswitch.conf': 'passwd: files\nhosts: files resolve myhostname\n', ...lib('resolve'), ...lib('myhostname') },
      probes: [resolveProbe(false)],
      commands: [NXSTUB],
    },
    status: 'fail',
    codes: ['hosts-no-resolver'],
    fixes: ['nss.hosts-line'],
    assert: (o) => {
      expect(o.summary).toContain('line 2 "hosts: files resolve myhostname"');
      expect(o.summary).toContain('resolve is not reachable');
      expect(writes(o)[0]?.content).toBe('passwd: files\nhosts: files resolve [!UNAVAIL=return] myhostname dns\n');
    },
  },
  {
    name: 'resolve [!UNAVAIL=return] dns with resolved down: dns takes over',
    target: {
      files: { '/etc/nsswitch.conf': 'hosts: files resolve [!UNAVAIL=return] dns\n', ...lib('resolve') },
      probes: [resolveProbe(false)],
    },
    status: 'pass',
    codes: ['hosts-line-ok'],
  },
  {
    name: 'resolve [UNAVAIL=return] dns with resolved down: names stop there',
    target: {
      files: { '/etc/nsswitch.conf': 'hosts: files resolve [UNAVAIL=return] dns\n', ...lib('resolve') },
      probes: [resolveProbe(false)],
      commands: [NXSTUB],
    },
    status: 'fail',
    codes: ['hosts-no-resolver'],
    fixes: ['nss.hosts-line'],
    summary: /lookups stop at "resolve \[UNAVAIL=return\]"/,
  },
  {
    name: 'resolve listed but not installed: UNAVAIL, and no dns after it',
    target: { files: { '/etc/nsswitch.conf': 'hosts: files resolve\n' }, probes: [resolveProbe(false)], commands: [NXSTUB] },
    status: 'fail',
    codes: ['hosts-no-resolver'],
    fixes: ['nss.hosts-line'],
    summary: /libnss_resolve\.so\.2 is not installed/,
  },
  {
    name: 'resolve reachable: it answers',
    target: { files: { '/etc/nsswitch.conf': 'hosts: files resolve\n', ...lib('resolve') }, probes: [resolveProbe(true)] },
    status: 'pass',
    codes: ['hosts-line-ok'],
  },
  {
    name: 'mdns4_minimal [NOTFOUND=return] before dns does not stop ordinary names',
    target: { files: { '/etc/nsswitch.conf': 'hosts: files mdns4_minimal [NOTFOUND=return] dns\n', ...lib('mdns4_minimal') } },
    status: 'pass',
    codes: ['hosts-line-ok'],
  },
  {
    name: 'a listed module that is not installed is noted',
    target: { files: { '/etc/nsswitch.conf': 'hosts: files myhostname dns\n' } },
    status: 'pass',
    codes: ['hosts-line-ok', 'hosts-module-missing'],
  },
  { name: "no nsswitch.conf: glibc's default", target: {}, status: 'pass', codes: ['nsswitch-missing'] },
]);

const fs = (path: string, type: number | null, extra: Partial<FsInfo> = {}): FsInfo => ({
  path,
  resolved: type === null ? null : path,
  type,
  bsize: 4096,
  blocks: 1 << 20,
  bavail: 1 << 20,
  mode: 0o755,
  uid: 0,
  errno: type === null ? 'ENOENT' : null,
  ...extra,
});
const node = (path: string, major: number, minor: number, extra: Partial<NodeInfo> = {}): NodeInfo => ({
  path,
  type: 'char',
  major,
  minor,
  mode: 0o666,
  uid: 0,
  size: 0,
  openErrno: null,
  ...extra,
});
const GOOD_NODES = [
  node('/dev/null', 1, 3),
  node('/dev/zero', 1, 5),
  node('/dev/full', 1, 7),
  node('/dev/random', 1, 8),
  node('/dev/urandom', 1, 9),
  node('/dev/tty', 5, 0, { openErrno: 'ENXIO' }),
];
const look = (r: Partial<ApiFsResponse>): FakeProbe => ({
  name: 'api-fs',
  response: { filesystems: [], nodes: [], selfExe: null, pty: null, shm: null, uid: 1000, ...r },
});
const PROC = 0x9fa0,
  SYSFS = 0x62656572,
  DEVPTS = 0x1cd1,
  TMPFS = 0x01021994,
  OVERLAY = 0x794c7630;

checkTester(fsApi, [
  {
    name: 'all there',
    target: {
      probes: [look({ filesystems: [fs('/proc', PROC), fs('/sys', SYSFS)], nodes: GOOD_NODES, selfExe: { readable: true, errno: null } })],
    },
    status: 'pass',
    codes: ['api-fs-ok'],
  },
  {
    name: 'nothing mounted: the chroot mount lines, rslave after each rbind',
    target: {
      probes: [
        look({
          filesystems: [fs('/proc', OVERLAY), fs('/sys', OVERLAY)],
          nodes: GOOD_NODES.map((n) => ({ ...n, type: 'missing' as const, major: null, minor: null, openErrno: 'ENOENT' })),
          selfExe: { readable: false, errno: 'ENOENT' },
        }),
      ],
    },
    status: 'fail',
    codes: ['proc-not-mounted', 'sys-not-mounted', 'dev-node-missing'],
    fixes: ['fs.mount-api'],
    assert: (o) => {
      expect(o.summary).toContain('overlay, not procfs');
      const s = snippets(o).join('\n');
      expect(s).toMatch(/mount -t proc proc \S+\/proc/);
      expect(s).toMatch(/mount --rbind \/dev (\S+)\/dev && mount --make-rslave \1\/dev/);
    },
  },
  {
    name: 'a clobbered /dev/null',
    target: {
      probes: [
        look({
          filesystems: [fs('/proc', PROC), fs('/sys', SYSFS)],
          nodes: [node('/dev/null', 0, 0, { type: 'file', major: null, minor: null, mode: 0o644, size: 1 }), ...GOOD_NODES.slice(1)],
          selfExe: { readable: true, errno: null },
        }),
      ],
    },
    status: 'fail',
    codes: ['dev-node-clobbered'],
    fixes: ['fs.mount-api', 'fs.recreate-nodes'],
    assert: (o) => expect(snippets(o).join('\n')).toMatch(/mknod -m 666 \S+\/dev\/null c 1 3/),
  },
  {
    name: 'nodev: EACCES on a nodev mount',
    target: {
      mounts: [
        {
          id: 1,
          parentId: 0,
          major: 0,
          minor: 1,
          root: '/',
          mountPoint: '/dev',
          mountOptions: ['rw', 'nodev'],
          optionalFields: [],
          shared: null,
          master: null,
          propagateFrom: null,
          unbindable: false,
          fsType: 'tmpfs',
          source: 'tmpfs',
          superOptions: [],
        },
      ],
      probes: [
        look({
          filesystems: [fs('/proc', PROC), fs('/sys', SYSFS)],
          nodes: GOOD_NODES.map((n) => ({ ...n, openErrno: 'EACCES' })),
          selfExe: { readable: true, errno: null },
        }),
      ],
    },
    status: 'fail',
    codes: ['dev-nodev'],
    fixes: ['fs.mount-api'],
  },
  {
    name: 'a wrong device and a 0600 node',
    target: {
      probes: [
        look({
          filesystems: [fs('/proc', PROC), fs('/sys', SYSFS)],
          nodes: [node('/dev/null', 1, 5), node('/dev/zero', 1, 5, { mode: 0o600, openErrno: 'EACCES' }), ...GOOD_NODES.slice(2)],
          selfExe: { readable: true, errno: null },
        }),
      ],
    },
    status: 'fail',
    codes: ['dev-node-wrong-device', 'dev-node-mode'],
    fixes: ['fs.mount-api', 'fs.recreate-nodes'],
  },
  {
    name: "schroot: the profile's fstab file and line",
    target: {
      kind: 'schroot',
      schroot: { chroot: 'jammy', session: 's1' },
      probes: [
        look({ filesystems: [fs('/proc', OVERLAY), fs('/sys', SYSFS)], nodes: GOOD_NODES, selfExe: { readable: false, errno: 'ENOENT' } }),
      ],
    },
    host: {
      files: {
        '/etc/schroot/chroot.d/jammy.conf': '[jammy]\ntype=directory\ndirectory=/srv/jammy\nprofile=custom\n',
        '/etc/schroot/custom/fstab': '/sys /sys none rw,bind 0 0\n#/proc /proc none rw,bind 0 0\n',
      },
    },
    status: 'fail',
    codes: ['proc-not-mounted'],
    fixes: ['fs.mount-api'],
    assert: (o) => {
      const step = o.fixes[0]!.steps[0]!;
      expect(step.description).toContain('/etc/schroot/custom/fstab, uncomment line 2');
      expect('snippet' in step && step.snippet).toBe('/proc /proc none rw,bind 0 0');
    },
  },
  {
    name: 'the probe could not run: error, not fail',
    target: { probes: [{ name: 'api-fs', error: 'cannot start probe' } as FakeProbe] },
    status: 'error',
    codes: ['check-could-not-run'] as never,
  },
]);

const pty = (r: Partial<NonNullable<ApiFsResponse['pty']>>) => ({
  ok: true,
  errno: null,
  index: 3,
  slave: { uid: 1000, gid: 5, mode: 0o620 },
  ...r,
});
const PTMX = node('/dev/ptmx', 5, 2);
checkTester(devPts, [
  {
    name: 'a pty the user owns',
    target: { probes: [look({ filesystems: [fs('/dev/pts', DEVPTS)], nodes: [PTMX], pty: pty({}) })] },
    status: 'pass',
    codes: ['pts-ok'],
    summary: /opened \/dev\/pts\/3/,
  },
  {
    name: "a non-recursive /dev bind: ENODEV, apt's and script's words",
    target: {
      probes: [
        look({ filesystems: [fs('/dev/pts', TMPFS)], nodes: [PTMX], pty: pty({ ok: false, errno: 'ENODEV', index: null, slave: null }) }),
      ],
    },
    status: 'fail',
    codes: ['pts-not-devpts'],
    fixes: ['dev.mount-devpts'],
    assert: (o) => {
      expect(o.summary).toContain('posix_openpt (19: No such device)');
      const s = snippets(o).join('\n');
      expect(s).not.toContain('ln -s');
      expect(s.indexOf('--make-rslave')).toBeLessThan(s.indexOf('-t devpts'));
    },
  },
  {
    name: 'ptmxmode=000: EACCES',
    target: {
      probes: [
        look({
          filesystems: [fs('/dev/pts', DEVPTS)],
          nodes: [node('/dev/ptmx', 0, 0, { type: 'symlink', major: null, minor: null })],
          pty: pty({ ok: false, errno: 'EACCES', index: null, slave: null }),
        }),
      ],
    },
    status: 'fail',
    codes: ['pty-open-failed'],
    fixes: ['dev.mount-devpts'],
    summary: /ptmxmode=000/,
  },
  {
    name: "devpts uid=0: the pty is root's",
    target: {
      probes: [look({ filesystems: [fs('/dev/pts', DEVPTS)], nodes: [PTMX], pty: pty({ slave: { uid: 0, gid: 5, mode: 0o620 } }) })],
    },
    status: 'fail',
    codes: ['pty-not-owned'],
    fixes: ['dev.mount-devpts'],
  },
  {
    name: "devpts gid= is not the guest's tty group",
    target: {
      files: { '/etc/group': 'root:x:0:\ntty:x:5:\n' },
      mounts: [
        {
          id: 1,
          parentId: 0,
          major: 0,
          minor: 1,
          root: '/',
          mountPoint: '/dev/pts',
          mountOptions: ['rw'],
          optionalFields: [],
          shared: null,
          master: null,
          propagateFrom: null,
          unbindable: false,
          fsType: 'devpts',
          source: 'devpts',
          superOptions: ['rw', 'gid=7', 'mode=620'],
        },
      ],
      probes: [look({ filesystems: [fs('/dev/pts', DEVPTS)], nodes: [PTMX], pty: pty({}) })],
    },
    status: 'warn',
    codes: ['devpts-gid'],
  },
]);

checkTester(devShm, [
  {
    name: 'a 1777 tmpfs with room',
    target: { probes: [look({ filesystems: [fs('/dev/shm', TMPFS, { mode: 0o1777 })], shm: { stage: 'done', errno: null } })] },
    status: 'pass',
    codes: ['shm-ok'],
  },
  {
    name: "root-owned 0755 and 1 MiB: Python's error, and its size said",
    target: {
      probes: [
        look({
          filesystems: [fs('/dev/shm', TMPFS, { mode: 0o755, blocks: 256, bavail: 256 })],
          shm: { stage: 'create', errno: 'EACCES' },
        }),
      ],
    },
    status: 'fail',
    codes: ['shm-mode', 'shm-small'],
    fixes: ['dev.mount-shm'],
    assert: (o) => {
      expect(o.summary).toContain('PermissionError: [Errno 13] Permission denied');
      expect(o.findings.find((f) => f.code === 'shm-small')?.message).toContain('1.0 MiB free of 1.0 MiB');
    },
  },
  {
    name: 'missing in a chroot: the safe fix mounts through the engine',
    target: { probes: [look({ filesystems: [fs('/dev/shm', null)], shm: { stage: 'create', errno: 'ENOENT' } })] },
    status: 'fail',
    codes: ['shm-missing'],
    fixes: ['dev.make-shm', 'dev.mount-shm'],
    assert: (o) => expect(o.fixes[0]!.steps.map((s) => s.kind)).toEqual(['mkdir', 'mount']),
  },
  {
    name: 'missing in an nspawn guest: no engine mount, the guest replaced it',
    target: {
      kind: 'nspawn',
      nspawn: { machine: 'box', nspawnPid: 1, argv: [] },
      probes: [look({ filesystems: [fs('/dev/shm', null)], shm: { stage: 'create', errno: 'ENOENT' } })],
    },
    status: 'fail',
    codes: ['shm-missing'],
    fixes: ['dev.mount-shm'],
  },
  {
    name: 'not a tmpfs: named',
    target: { probes: [look({ filesystems: [fs('/dev/shm', 0xef53, { mode: 0o1777 })], shm: { stage: 'done', errno: null } })] },
    status: 'warn',
    codes: ['shm-not-tmpfs'],
    fixes: ['dev.mount-shm'],
    summary: /is ext4, not a tmpfs/,
  },
  {
    name: 'a /run/shm link followed',
    target: {
      probes: [look({ filesystems: [fs('/dev/shm', TMPFS, { mode: 0o1777, resolved: '/run/shm' })], shm: { stage: 'done', errno: null } })],
    },
    status: 'pass',
    codes: ['shm-ok'],
    summary: /^\/run\/shm: /,
  },
  {
    name: 'full: the write fails',
    target: { probes: [look({ filesystems: [fs('/dev/shm', TMPFS, { mode: 0o1777 })], shm: { stage: 'write', errno: 'ENOSPC' } })] },
    status: 'fail',
    codes: ['shm-write-failed'],
    fixes: ['dev.mount-shm'],
  },
  {
    name: "schroot: uncomment the stock profile's /dev/shm line",
    target: {
      kind: 'schroot',
      schroot: { chroot: 'jammy', session: 's1' },
      probes: [look({ filesystems: [fs('/dev/shm', TMPFS, { mode: 0o755 })], shm: { stage: 'create', errno: 'EACCES' } })],
    },
    host: {
      files: {
        '/etc/schroot/chroot.d/jammy.conf': '[jammy]\ntype=directory\ndirectory=/srv/jammy\n',
        '/etc/schroot/default/fstab':
          '/proc /proc none rw,bind 0 0\n/dev /dev none rw,bind 0 0\n#/dev/shm       /dev/shm        none    rw,bind         0       0\n',
      },
    },
    status: 'fail',
    codes: ['shm-mode'],
    fixes: ['dev.mount-shm'],
    assert: (o) => expect(o.fixes[0]!.steps[0]!.description).toContain('/etc/schroot/default/fstab, uncomment line 3'),
  },
]);

const sys = (argv: string[], stdout: string, exitCode = 0): FakeCommand => ({ argv, result: { stdout, exitCode } });
const booted = { kind: 'nspawn' as const, pid: 4242, nspawn: { machine: 'box', nspawnPid: 4241, argv: [] } };
const bootHost = {
  files: {
    '/proc/4242/comm': 'systemd\n',
    '/proc/4242/stat': '4242 (systemd) S 4241 ' + Array(17).fill('0').join(' ') + ' 1000 0\n',
    '/proc/uptime': '300.00 100.00\n',
  },
};
checkTester(nspawnBoot, [
  {
    name: 'running',
    target: { ...booted, commands: [sys(['systemctl', 'is-system-running'], 'running\n')] },
    host: bootHost,
    status: 'pass',
    codes: ['boot-running'],
  },
  {
    name: 'degraded by a container-hostile unit: named, marked, its log quoted, masked',
    target: {
      ...booted,
      commands: [
        sys(['systemctl', 'is-system-running'], 'degraded\n', 1),
        sys(
          ['systemctl', 'list-units', '--state=failed', '--no-legend', '--plain', '--full'],
          'systemd-modules-load.service loaded failed failed Load Kernel Modules\n',
        ),
        sys(
          ['systemctl', 'show', '-p', 'Result', '-p', 'ExecMainStatus', 'systemd-modules-load.service'],
          'Result=exit-code\nExecMainStatus=1\n',
        ),
        sys(
          ['journalctl', '_SYSTEMD_UNIT=systemd-modules-load.service', '-n', '3', '--no-pager', '-o', 'cat'],
          "Failed to insert module 'foo': Operation not permitted\n",
        ),
        sys(['journalctl', '-u', 'systemd-modules-load.service', '-n', '3', '--no-pager', '-o', 'cat'], ''),
      ],
    },
    host: bootHost,
    status: 'warn',
    codes: ['boot-degraded'],
    fixes: ['nspawn.mask-failed-units', 'nspawn.boot-advice'],
    assert: (o) => {
      expect(o.summary).toContain('systemd-modules-load.service (exit-code, status 1: a container has no CAP_SYS_MODULE)');
      expect(o.summary).toContain('Operation not permitted');
      expect(o.fixes[0]!.safety).toBe('unsafe');
      expect(o.fixes[0]!.steps[0]).toMatchObject({
        kind: 'symlink',
        path: '/etc/systemd/system/systemd-modules-load.service',
        target: '/dev/null',
      });
    },
  },
  {
    name: 'still starting after 5 minutes: stuck, its jobs named',
    target: {
      ...booted,
      commands: [
        sys(['systemctl', 'is-system-running'], 'starting\n', 1),
        sys(['systemctl', 'list-jobs', '--no-legend', '--plain'], '12 systemd-networkd-wait-online.service start running\n'),
        sys(['systemctl', 'list-units', '--state=failed', '--no-legend', '--plain', '--full'], ''),
      ],
    },
    host: bootHost,
    status: 'warn',
    codes: ['boot-stuck'],
    summary: /"starting" for 290 s, waiting on systemd-networkd-wait-online\.service/,
  },
  { name: 'not booted: skip', target: booted, host: { files: { '/proc/4242/comm': 'bash\n' } }, status: 'skip', codes: [] },
  { name: 'a chroot: not applicable', target: { kind: 'chroot' }, status: 'skip', codes: [] },
]);

const maps = (uid: string, gid: string, groups = '') => ({
  '/proc/77/uid_map': uid,
  '/proc/77/gid_map': gid,
  '/proc/77/status': `Name:\tsleep\nGroups:\t${groups}\nNStgid:\t77\n`,
  '/proc/sys/kernel/overflowuid': '65534\n',
  '/proc/sys/kernel/overflowgid': '65534\n',
});
checkTester(usernsIdmap, [
  {
    name: 'no user namespace',
    target: { pid: 77 },
    host: { files: maps('         0          0 4294967295\n', '         0          0 4294967295\n') },
    status: 'pass',
    codes: ['userns-none'],
  },
  {
    name: 'root only mapped: the user is not there, groups show as nogroup',
    target: { pid: 77 },
    host: { files: maps('0 0 1\n', '0 0 1\n', '0 27') },
    status: 'fail',
    codes: ['user-unmapped', 'groups-unmapped'],
    fixes: ['userns.map-user'],
    assert: (o) => expect(o.findings.find((f) => f.code === 'groups-unmapped')?.message).toContain('groups 27 are not mapped'),
  },
  {
    name: 'the user mapped to a high range: passes',
    target: { pid: 77 },
    host: { files: maps('0 100000 65536\n', '0 100000 65536\n') },
    status: 'pass',
    codes: ['userns-mapped'],
  },
  {
    name: 'nspawn --private-users: the nspawn advice',
    target: { pid: 77, kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 76, argv: [] } },
    host: { files: maps('0 0 1\n', '0 0 1\n') },
    status: 'fail',
    codes: ['user-unmapped'],
    fixes: ['userns.map-user'],
    assert: (o) => expect(snippets(o).join('\n')).toContain('--private-users=identity'),
  },
  { name: 'no process: not applicable', target: { kind: 'chroot' }, status: 'skip', codes: [] },
]);
