/**
 * The system-plumbing checks on real chroot guests, each fault staged for real and each with its
 * healthy counterpart: whole-root overlays of this host (test-targets.md §2) and a genuine
 * debootstrapped Debian 12 root (real-guests.md) for the locale and nsswitch cases. ctr-doctor
 * runs in the world's guest namespace, where the world's dnsmasq answers.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { beginSession, createSchroot } from '../harness/schroot-guest.js';
import { commOf, must, rootOf, run, spawnDaemon, waitFor } from '../harness/proc.js';
import { unpackRealRoot, realRootSkipReason } from '../harness/real-root.js';
import { umountTree, type GuestRoot } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

const TIMEOUT = ['--timeout', '4000'];

describeIntegration('system checks on chroot guests', () => {
  let w: World;
  let n = 0;
  const tool = (args: string[]) => runTool([...args, ...TIMEOUT], { netns: w.net.guestNsPath, timeoutMs: 90_000 });
  /** The results of `ids` for `spec`, from a schema-valid report. */
  async function check(spec: string, ids: string, extra: string[] = []): Promise<(id: string) => CheckResult> {
    const r = await tool(['check', spec, '--only', ids, '--user', '1000', '--json', ...extra]);
    await validateReport(r.json);
    const results = (r.json as Report).results;
    return (id) => {
      const found = results.find((x) => x.id === id);
      if (!found) throw new Error(`no result for ${id}: ${r.stderr}`);
      return found;
    };
  }
  const codes = (r: CheckResult) => r.findings.map((f) => f.code);
  const fresh = (opts?: Parameters<World['guestRoot']>[1]): Promise<GuestRoot> => w.guestRoot(`sys${++n}`, opts);
  /** Runs `argv` chrooted into `root` as uid:gid in the guest namespace, like the user's programs. */
  const inGuest = (root: string, argv: string[], uid = 1000, env: Record<string, string> = {}) =>
    run([
      'nsenter',
      `--net=${w.net.guestNsPath}`,
      'chroot',
      `--userspec=${uid}:${uid}`,
      root,
      '/usr/bin/env',
      '-i',
      'PATH=/usr/bin:/bin',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ]);
  /** Mounts `what` at `root/rel` (a fault), undone by the world's cleanup. */
  async function mountAt(root: string, rel: string, argv: string[]): Promise<string> {
    const at = join(root, rel);
    mkdirSync(at, { recursive: true });
    await must(['mount', ...argv, at]);
    w.cleanup.defer(`umount ${at}`, () => umountTree(at));
    return at;
  }

  beforeAll(async () => {
    w = await createWorld();
    await w.dns();
  }, 60_000);
  afterAll(async () => w?.dispose());

  test('ctr-doctor demo shows the empty machine-id and the missing API mounts; demo --fix writes an id and checks it again', async () => {
    const demo = (args: string[]) => runTool(['demo', ...args], { netns: w.net.offNsPath, timeoutMs: 120_000 });
    const r = await demo(['--json']);
    await validateReport(r.json);
    const st = (id: string) => (r.json as Report).results.find((x) => x.id === id);
    expect(st('dbus.machine-id')?.status).toBe('fail');
    expect(st('dbus.machine-id')?.summary).toContain('not length 0');
    expect(st('fs.api')?.status).toBe('fail');
    expect(r.stderr).toContain('an empty /etc/machine-id');
    const fixed = await demo(['--fix', '--json']);
    const out = fixed.json as { applied: { fixId: string; status: string }[]; after: Report | null };
    expect(out.applied.find((a) => a.fixId === 'dbus.write-machine-id')?.status, fixed.stderr).toBe('fixed');
    expect(out.after?.results.find((x) => x.id === 'dbus.machine-id')?.status).toBe('pass');
  }, 240_000);

  describe('healthy guests as the other suites build them', () => {
    const ALL = 'fs.api,dev.pts,dev.shm,dbus.machine-id,hosts.hostname,locale.lang,nss.hosts,nspawn.boot,userns.idmap';
    const noneBad = (by: (id: string) => CheckResult) => {
      for (const id of ALL.split(',')) expect(['pass', 'skip'], `${id}: ${by(id).summary}`).toContain(by(id).status);
    };

    test("a chroot with the usual API mounts and a desktop user's process: all nine pass or skip", async () => {
      const g = await fresh();
      await mountChrootApi(g.root, w.cleanup, { x11: true });
      const d = await startChrootProcess(
        w,
        g.root,
        { uid: 1000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: g.user.home } },
        w.cleanup,
      );
      const by = await check(`pid:${d.pid}`, ALL);
      noneBad(by);
      expect(by('nspawn.boot').status).toBe('skip');
      expect(by('fs.api').status).toBe('pass');
    });

    test('a schroot session of the harness profile: all nine pass or skip', async () => {
      const g = await fresh();
      const name = w.name('sys');
      createSchroot(w.net, g.root, name, w.cleanup, {});
      const session = await beginSession(name, w.name('sys1'));
      const by = await check(`session:${session}`, ALL);
      noneBad(by);
      expect(by('dev.shm').status).toBe('pass');
    });

    test('the stock schroot profile (its /dev/shm line commented out): dev.shm fails and names the line to uncomment', async () => {
      const g = await fresh();
      const name = w.name('stock');
      const stock = [
        '/proc /proc none rw,bind 0 0',
        '/sys /sys none rw,bind 0 0',
        '/dev /dev none rw,bind 0 0',
        '/dev/pts /dev/pts none rw,bind 0 0',
        '#/dev/shm       /dev/shm        none    rw,bind         0       0',
      ];
      const chroot = createSchroot(w.net, g.root, name, w.cleanup, { fstabLines: stock });
      const session = await beginSession(name, w.name('stock1'));
      const r = (await check(`session:${session}`, 'dev.shm'))('dev.shm');
      expect(r.status).toBe('fail');
      expect(codes(r)).toContain('shm-mode');
      const step = r.fixes.find((f) => f.id === 'dev.mount-shm')!.steps[0]!;
      expect(step.description).toContain(`${chroot.profileDir}/fstab, uncomment line 5`);
      expect('snippet' in step && step.snippet).toBe('/dev/shm       /dev/shm        none    rw,bind         0       0');
    });
  });

  describe('fs.api, dev.pts, dev.shm', () => {
    test('a chroot entered before /proc and /dev were mounted fails all three; after the usual mounts all pass', async () => {
      const g = await fresh();
      const ps = await inGuest(g.root, ['ps'], 0);
      expect(ps.stdout + ps.stderr).toContain('Error, do this: mount -t proc proc /proc');
      const before = await check(`chroot:${g.root}`, 'fs.api,dev.pts,dev.shm');
      expect(before('fs.api').status).toBe('fail');
      expect(codes(before('fs.api'))).toEqual(expect.arrayContaining(['proc-not-mounted', 'sys-not-mounted', 'dev-node-missing']));
      expect(before('fs.api').summary).toContain('mount -t proc proc /proc');
      const mountFix = before('fs.api').fixes.find((f) => f.id === 'fs.mount-api');
      const snippet = mountFix?.steps.map((s) => ('snippet' in s ? s.snippet : '')).join('\n') ?? '';
      expect(snippet).toContain(`mount -t proc proc ${g.root}/proc`);
      expect(snippet).toMatch(/mount --rbind \/dev \S+\/dev && mount --make-rslave \S+\/dev/);
      expect(before('dev.pts').status).toBe('fail');
      expect(codes(before('dev.pts'))).toEqual(expect.arrayContaining(['pts-not-devpts', 'ptmx-missing']));
      expect(before('dev.shm').status).toBe('fail');

      await mountChrootApi(g.root, w.cleanup);
      const after = await check(`chroot:${g.root}`, 'fs.api,dev.pts,dev.shm');
      for (const id of ['fs.api', 'dev.pts', 'dev.shm']) expect(after(id).status, JSON.stringify(after(id).findings)).toBe('pass');
      expect(codes(after('dev.shm'))).toEqual(['shm-ok']);
    });

    test("a /dev/null clobbered into a regular file: the user's shell cannot write to it, and fs.api says so", async () => {
      const g = await fresh();
      await mountAt(g.root, 'dev', ['-t', 'tmpfs', '-o', 'mode=755', 'ctrtest-dev']);
      await must(['chroot', g.root, 'sh', '-c', 'echo >/dev/null']);
      const sh = await inGuest(g.root, ['sh', '-c', 'echo >/dev/null']);
      expect(sh.stderr).toContain('cannot create /dev/null: Permission denied');
      const r = (await check(`chroot:${g.root}`, 'fs.api'))('fs.api');
      expect(r.status).toBe('fail');
      const clobbered = r.findings.find((f) => f.code === 'dev-node-clobbered');
      expect(clobbered?.message).toContain('/dev/null is a regular file of 1 byte(s)');
      expect(clobbered?.message).toContain('cannot create /dev/null: Permission denied');
      expect(r.fixes.map((f) => f.id)).toEqual(expect.arrayContaining(['fs.mount-api', 'fs.recreate-nodes']));
    });

    test('device nodes on a nodev mount: Permission denied even with mode 0666', async () => {
      const g = await fresh();
      const dev = await mountAt(g.root, 'dev', ['-t', 'tmpfs', '-o', 'mode=755,nodev', 'ctrtest-nodev']);
      for (const [name, minor] of [
        ['null', 3],
        ['zero', 5],
        ['full', 7],
        ['random', 8],
        ['urandom', 9],
      ] as const)
        await must(['mknod', '-m', '666', join(dev, name), 'c', '1', String(minor)]);
      await must(['mknod', '-m', '666', join(dev, 'tty'), 'c', '5', '0']);
      const sh = await inGuest(g.root, ['sh', '-c', 'echo >/dev/null']);
      expect(sh.stderr).toContain('/dev/null: Permission denied');
      const r = (await check(`chroot:${g.root}`, 'fs.api'))('fs.api');
      expect(r.status).toBe('fail');
      expect(new Set(codes(r))).toEqual(new Set(['proc-not-mounted', 'sys-not-mounted', 'dev-nodev']));
      expect(r.findings.find((f) => f.code === 'dev-nodev')?.message).toContain('mounted nodev');
    });

    test('a devpts-less /dev (non-recursive bind): script gets ENODEV, dev.pts names it', async () => {
      const g = await fresh();
      await mountChrootApi(g.root, w.cleanup);
      // Replace the rbind by a plain bind, made rslave at once: /dev/pts is then an empty directory.
      await umountTree(join(g.root, 'dev'));
      const dev = await mountAt(g.root, 'dev', ['--bind', '/dev']);
      await must(['mount', '--make-rslave', dev]);
      const script = await inGuest(g.root, ['script', '-qc', 'true', '/dev/null']);
      expect(script.stderr).toContain('failed to create pseudo-terminal: No such device');
      const r = (await check(`chroot:${g.root}`, 'dev.pts'))('dev.pts');
      expect(r.status).toBe('fail');
      expect(codes(r)).toContain('pts-not-devpts');
      expect(r.summary).toContain('Is /dev/pts mounted?');
      expect(r.summary).toContain('No such device');
      const snippet = r.fixes[0]?.steps.map((s) => ('snippet' in s ? s.snippet : '')).join('\n') ?? '';
      // Never a symlink written through a /dev that may be the host's, and rslave before mounting under it.
      expect(snippet).not.toContain('ln -s');
      expect(snippet.indexOf('--make-rslave')).toBeLessThan(snippet.indexOf('-t devpts'));
    });

    test('devpts with ptmxmode=000: the user gets Permission denied on /dev/ptmx', async () => {
      const g = await fresh();
      const dev = await mountAt(g.root, 'dev', ['-t', 'tmpfs', '-o', 'mode=755', 'ctrtest-dev']);
      await mountAt(g.root, 'dev/pts', ['-t', 'devpts', '-o', 'newinstance,ptmxmode=000', 'devpts']);
      symlinkSync('pts/ptmx', join(dev, 'ptmx'));
      const r = (await check(`chroot:${g.root}`, 'dev.pts'))('dev.pts');
      expect(r.status).toBe('fail');
      expect(codes(r)).toEqual(['pty-open-failed']);
      expect(r.summary).toContain('ptmxmode=000');
    });

    test("a root-owned 0755 /dev/shm: Python's multiprocessing fails and dev.shm fails; a 1777 tmpfs passes", async () => {
      const g = await fresh();
      await mountChrootApi(g.root, w.cleanup);
      const shm = await mountAt(g.root, 'dev/shm', ['-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'ctrtest-shm']);
      const py = await inGuest(g.root, ['python3', '-c', 'import multiprocessing as m; m.Lock()']);
      expect(py.stderr).toContain('PermissionError: [Errno 13] Permission denied');
      const r = (await check(`chroot:${g.root}`, 'dev.shm'))('dev.shm');
      expect(r.status).toBe('fail');
      expect(new Set(codes(r))).toEqual(new Set(['shm-mode', 'shm-small']));
      expect(r.summary).toContain('mode 0755 and owner 0');
      expect(r.findings.find((f) => f.code === 'shm-small')?.message).toContain('1.0 MiB free');
      await umountTree(shm);
      expect((await check(`chroot:${g.root}`, 'dev.shm'))('dev.shm').status).toBe('pass');
    });

    test("no /dev/shm in a chroot: fix --yes makes it a 1777 tmpfs through the directory's descriptor, then pass", async () => {
      const g = await fresh();
      rmSync(join(g.root, 'dev/shm'), { recursive: true, force: true });
      const before = (await check(`chroot:${g.root}`, 'dev.shm'))('dev.shm');
      expect(codes(before)).toEqual(['shm-missing']);
      expect(before.fixes.find((f) => f.id === 'dev.make-shm')?.safety).toBe('safe');
      w.cleanup.defer('umount the fixed /dev/shm', () => umountTree(join(g.root, 'dev/shm')));
      const fixed = await tool(['fix', `chroot:${g.root}`, '--only', 'dev.shm', '--user', '1000', '--yes', '--json']);
      expect(fixed.exitCode, fixed.stderr + fixed.stdout).toBe(0);
      const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .find((l) => l.split(' ')[4] === join(g.root, 'dev/shm'));
      expect(mountinfo).toMatch(/ - tmpfs /);
      const py = await inGuest(g.root, ['python3', '-c', 'import multiprocessing as m; m.Lock(); print("ok")']);
      expect(py.stdout.trim()).toBe('ok');
      expect((await check(`chroot:${g.root}`, 'dev.shm'))('dev.shm').status).toBe('pass');
    });
  });

  describe('dbus.machine-id', () => {
    test("an empty machine-id: libdbus's own complaint, fix --yes writes one, undo puts the empty file back", async () => {
      const g = await fresh({ machineId: '' });
      rmSync(join(g.root, 'var/lib/dbus/machine-id'), { force: true });
      const uuidgen = await inGuest(g.root, ['dbus-uuidgen', '--get'], 0);
      expect(uuidgen.stderr).toContain('should contain a hex string of length 32, not length 0');
      const before = (await check(`chroot:${g.root}`, 'dbus.machine-id'))('dbus.machine-id');
      expect(before.status).toBe('fail');
      expect(codes(before)).toEqual(['machine-id-broken']);
      expect(before.summary).toContain(
        `UUID file '/etc/machine-id' should contain a hex string of length 32, not length 0, with no other text`,
      );
      expect(before.summary).toContain('Failed to open "/var/lib/dbus/machine-id": No such file or directory');
      const fixed = await tool(['fix', `chroot:${g.root}`, '--only', 'dbus.machine-id', '--yes', '--json']);
      expect(fixed.exitCode, fixed.stderr).toBe(0);
      const id = readFileSync(join(g.root, 'etc/machine-id'), 'utf8');
      expect(id).toMatch(/^[0-9a-f]{32}\n$/);
      expect((await inGuest(g.root, ['dbus-uuidgen', '--get'], 0)).stdout.trim()).toBe(id.trim());
      expect((await check(`chroot:${g.root}`, 'dbus.machine-id'))('dbus.machine-id').status).toBe('pass');
      const undo = await runTool(['undo', `chroot:${g.root}`], { netns: w.net.guestNsPath });
      expect(undo.exitCode, undo.stderr).toBe(0);
      expect(readFileSync(join(g.root, 'etc/machine-id'), 'utf8')).toBe('');
    });

    test('"uninitialized" is broken too (length 13); the harness\'s own guests pass', async () => {
      const g = await fresh({ machineId: 'uninitialized\n' });
      rmSync(join(g.root, 'var/lib/dbus/machine-id'), { force: true });
      expect((await inGuest(g.root, ['dbus-uuidgen', '--get'], 0)).stderr).toContain('not length 13');
      const r = (await check(`chroot:${g.root}`, 'dbus.machine-id'))('dbus.machine-id');
      expect(r.status).toBe('fail');
      expect(r.summary).toContain('is uninitialized');
      expect(r.summary).toContain('not length 13');
      const healthy = await fresh();
      expect((await check(`chroot:${healthy.root}`, 'dbus.machine-id'))('dbus.machine-id').status).toBe('pass');
    });
  });

  describe('hosts.hostname', () => {
    test('a guest whose UTS hostname /etc/hosts lacks: getent fails, sudo would warn; fix --yes adds 127.0.1.1, then pass', async () => {
      const g = await fresh();
      await mountChrootApi(g.root, w.cleanup);
      // Its own UTS namespace and hostname, as `unshare --uts` or a container runtime gives it; every step execs.
      const d = spawnDaemon(
        'chroot in its own UTS namespace',
        [
          'nsenter',
          `--net=${w.net.guestNsPath}`,
          'unshare',
          '--uts',
          'sh',
          '-c',
          'hostname guestbox && exec chroot --userspec=1000:1000 "$0" /usr/bin/env -i PATH=/usr/bin:/bin sleep 100000',
          g.root,
        ],
        w.cleanup,
      );
      await waitFor('the guest process', () => commOf(d.pid) === 'sleep' && rootOf(d.pid) === g.root, { timeoutMs: 5000, intervalMs: 20 });
      const getent = await run(['nsenter', '-t', String(d.pid), '-u', '-n', 'chroot', g.root, 'getent', 'hosts', 'guestbox']);
      expect(getent.exitCode).toBe(2);
      const spec = `pid:${d.pid}`;
      const before = (await check(spec, 'hosts.hostname'))('hosts.hostname');
      expect(before.status).toBe('warn');
      expect(codes(before)).toEqual(['hostname-unresolvable']);
      expect(before.summary).toContain('sudo: unable to resolve host guestbox');
      expect(before.summary).toContain('/etc/hosts does not list guestbox');
      const fixed = await tool(['fix', spec, '--only', 'hosts.hostname', '--yes', '--json']);
      expect(fixed.exitCode, fixed.stderr).toBe(0);
      expect(readFileSync(join(g.root, 'etc/hosts'), 'utf8')).toMatch(/\n127\.0\.1\.1\tguestbox\n$/);
      const after = (await check(spec, 'hosts.hostname'))('hosts.hostname');
      expect(after.status).toBe('pass');
      expect(after.summary).toContain('127.0.1.1');
    });

    test('an empty /etc/hosts: localhost does not resolve; the fix adds it back', async () => {
      const g = await fresh();
      writeFileSync(join(g.root, 'etc/hosts'), '');
      const before = (await check(`chroot:${g.root}`, 'hosts.hostname'))('hosts.hostname');
      expect(before.status).toBe('fail');
      expect(codes(before)).toContain('localhost-unresolvable');
      const fixed = await tool(['fix', `chroot:${g.root}`, '--only', 'hosts.hostname', '--yes', '--json']);
      expect(fixed.exitCode, fixed.stderr).toBe(0);
      expect(readFileSync(join(g.root, 'etc/hosts'), 'utf8')).toContain('127.0.0.1\tlocalhost\n');
      expect((await check(`chroot:${g.root}`, 'hosts.hostname'))('hosts.hostname').status).toBe('pass');
    });
  });

  describe.skipIf(realRootSkipReason('bookworm') !== null)('on a genuine Debian 12 root', () => {
    let real: string;
    beforeAll(async () => {
      real = (await unpackRealRoot(w.base, 'bookworm-sys', 'bookworm', w.cleanup)).root;
      // resolved's stub link leads nowhere in a root that is not booted: point it at the world's DNS.
      rmSync(join(real, 'etc/resolv.conf'), { force: true });
      writeFileSync(join(real, 'etc/resolv.conf'), 'nameserver 203.0.113.53\n');
    }, 180_000);

    test('locale.lang: a LANG the guest lacks makes perl warn and the check warn; C.UTF-8, which it has, passes', async () => {
      const perl = await inGuest(real, ['perl', '-e', '1'], 1000, { LANG: 'de_DE.UTF-8' });
      expect(perl.stderr).toContain('perl: warning: Setting locale failed.');
      const start = (env: Record<string, string>) => {
        const d = spawnDaemon(
          'a session process',
          [
            'nsenter',
            `--net=${w.net.guestNsPath}`,
            'chroot',
            '--userspec=1000:1000',
            real,
            '/usr/bin/env',
            '-i',
            'PATH=/usr/bin:/bin',
            ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
            'sleep',
            '100000',
          ],
          w.cleanup,
        );
        return waitFor('the session process', () => (commOf(d.pid) === 'sleep' ? d : undefined), { timeoutMs: 5000, intervalMs: 20 });
      };
      const broken = await start({ LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' });
      const r = (await check(`pid:${broken.pid}`, 'locale.lang'))('locale.lang');
      expect(r.status).toBe('warn');
      expect(codes(r)).toEqual(['locale-missing', 'locale-missing']);
      expect(r.findings.map((f) => f.message).join('\n')).toContain('bash: warning: setlocale: LC_ALL: cannot change locale (de_DE.UTF-8)');
      // Read from the guest's own files now (issue 14): the same list, named by where it came from.
      expect(r.summary).toContain('/usr/lib/locale lists C, C.utf8, POSIX');
      const snippet = r.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : ''))).join('\n');
      expect(snippet).toContain('env LANG=C.UTF-8 LC_ALL= chroot');
      expect(snippet).toContain('apt-get install -y locales');
      await broken.stop();
      const good = await start({ LANG: 'C.UTF-8' });
      expect((await check(`pid:${good.pid}`, 'locale.lang'))('locale.lang').status).toBe('pass');
      await good.stop();
    });

    test('nss.hosts: `resolve` with no resolved and no dns after it breaks getent while DNS answers; the unsafe fix repairs the line', async () => {
      const nss = join(real, 'etc/nsswitch.conf');
      const stock = readFileSync(nss, 'utf8');
      expect(stock).toMatch(/^hosts:.*\bresolve\b/m);
      const stockCheck = (await check(`chroot:${real}`, 'nss.hosts', ['--dns-name', 'example.test']))('nss.hosts');
      expect(stockCheck.status).toBe('pass');
      writeFileSync(nss, stock.replace(/^hosts:.*$/m, 'hosts:          files resolve myhostname'));
      const dig = await run(['nsenter', `--net=${w.net.guestNsPath}`, 'dig', '+short', '+time=2', '@203.0.113.53', 'example.test']);
      expect(dig.stdout.trim()).toBe('203.0.113.10');
      const getent = await run(['nsenter', `--net=${w.net.guestNsPath}`, 'chroot', real, 'getent', 'ahosts', 'example.test']);
      expect(getent.exitCode).toBe(2);
      const r = (await check(`chroot:${real}`, 'nss.hosts', ['--dns-name', 'example.test']))('nss.hosts');
      expect(r.status).toBe('fail');
      // This root has no libnss-myhostname: the line names a module glibc will skip.
      expect(new Set(codes(r))).toEqual(new Set(['hosts-no-resolver', 'hosts-module-missing']));
      expect(r.findings.find((f) => f.code === 'hosts-module-missing')?.message).toContain('libnss_myhostname.so.2 is not in the guest');
      expect(r.summary).toContain('resolve is not reachable');
      expect(r.summary).toContain('getent ahosts example.test exits 2');
      const fixed = await tool([
        'fix',
        `chroot:${real}`,
        '--only',
        'nss.hosts',
        '--dns-name',
        'example.test',
        '--yes',
        '--unsafe',
        '--json',
      ]);
      expect(fixed.exitCode, fixed.stderr).toBe(0);
      expect(readFileSync(nss, 'utf8')).toMatch(/^hosts: files resolve \[!UNAVAIL=return\] dns$/m);
      const again = await run(['nsenter', `--net=${w.net.guestNsPath}`, 'chroot', real, 'getent', 'ahosts', 'example.test']);
      expect(again.stdout).toContain('203.0.113.10');
    });
  });
});
