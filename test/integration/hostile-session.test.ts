/**
 * The hostile-guest suite, session side (issue 13): a guest session's environment and passwd
 * aimed at root. Each test names in its first line the audit item it covers.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { run } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { endProbeChildren } from '../../src/guest/probe-client.js';

interface ReportFix { id: string; steps: { kind: string; snippet?: string }[] }
interface Report { results: { id: string; status: string; findings: { code: string }[]; fixes: ReportFix[] }[] }

describeIntegration('hostile guests: the session environment and passwd', () => {
  let w: World;

  beforeAll(async () => {
    w = await createWorld();
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
      await startChrootProcess(w.net, g.root, {
        uid: g.user.uid, gid: g.user.gid,
        env: { PATH: '/usr/bin:/bin', HOME: g.user.home, PULSE_COOKIE: '/etc/ctd-root-only', PULSE_SERVER: 'unix:/tmp/ctd-p/native', DISPLAY: ':0' },
      }, w.cleanup);
      const r = await runTool(['check', `chroot:${g.root}`, '--only', 'audio.pulse', '--json', '--timeout', '3000'], { netns: w.net.guestNsPath });
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

  test('M2: a guest /etc/group listing the user in disk gives the user\'s probe child no host disk group', async () => {
    const g = await w.guestRoot('hostile-groups');
    // The host account of uid 1000 is not in disk, or this proves nothing.
    expect(readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('disk:'))?.split(':')[3]?.split(',') ?? []).not.toContain(g.user.name);
    const group = join(g.root, 'etc/group');
    writeFileSync(group, readFileSync(group, 'utf8').split('\n').map((l) => (l.startsWith('disk:') ? `${l}${l.endsWith(':') ? '' : ','}${g.user.name}` : l)).join('\n'));
    writeFileSync(join(g.root, 'etc/ctd-disk-only'), 'disk group only\n', { mode: 0o640 });
    chownSync(join(g.root, 'etc/ctd-disk-only'), 0, 6);
    await startChrootProcess(w.net, g.root, { uid: g.user.uid, gid: g.user.gid, env: { PATH: '/usr/bin:/bin', DISPLAY: ':0' } }, w.cleanup);
    const target = (await openTarget(`chroot:${g.root}`, { host: new HostContext({ invokingEnv: {} }) })).target;
    try {
      // The guest's files say disk (6)...
      expect(target.user.groups).toContain(6);
      // ...but the child that reads as the user has only the host account's groups.
      const read = await target.probe('read-file', { path: '/etc/ctd-disk-only', maxBytes: 100 }, { asUser: true, timeoutMs: 10_000 });
      expect(read).toMatchObject({ ok: false, reason: 'permission' });
      // And a guest command run as the user in this chroot (host mounts, host devices) has no gid 6 either.
      const id = await target.exec(['id', '-G'], { user: { uid: g.user.uid, gid: g.user.gid, groups: target.user.groups }, timeoutMs: 10_000 });
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
    writeFileSync(passwd, readFileSync(passwd, 'utf8').split('\n').map((l) => (l.split(':')[2] === String(g.user.uid) ? l.split(':').map((f, i) => (i === 5 ? home : f)).join(':') : l)).join('\n'));
    // No cookie in the guest: the server says "No protocol specified", which is what offers the cookie fixes.
    await startChrootProcess(w.net, g.root, {
      uid: g.user.uid, gid: g.user.gid,
      // sudo's traces (SUDO_USER, secure_path) make session.user offer its enter-as-the-user snippet, with the guest's home in it.
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', SUDO_USER: 'admin', HOME: home, DISPLAY: `x;${pwn('display')}/unix:${x.display}`, XDG_RUNTIME_DIR: '/tmp' },
    }, w.cleanup);
    const r = await runTool(['check', `chroot:${g.root}`, '--json', '--timeout', '4000'], { netns: w.net.guestNsPath });
    const report = r.json as Report;
    const snippets = report.results.flatMap((c) => c.fixes.flatMap((f) => f.steps.filter((s) => s.kind === 'manual' && s.snippet).map((s) => s.snippet!)));
    expect(snippets.length).toBeGreaterThan(3);

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
    const ran = await run(['unshare', '--mount', '--pid', '--fork', '--net', '--ipc', '--uts', '--', 'bash', '-c', script, 'sh', sandbox], { timeoutMs: 120_000 });
    expect(ran.exitCode, ran.stderr).toBe(0);
    const hits = ran.stdout.split('\n').filter((l) => l.includes(`ctd-pwn-${tag}`));
    expect(hits.length, ran.stdout).toBe(1);
    expect(hits[0]).toMatch(new RegExp(`ctd-pwn-${tag}-control$`));
    for (const dir of ['/tmp', '/root', process.cwd()]) expect(readdirSync(dir).filter((e) => e.includes(`ctd-pwn-${tag}`))).toEqual([]);
    rmSync(sandbox, { recursive: true, force: true });
    // The guest's strings did reach the plans, quoted: the sandbox run tested something.
    expect(snippets.join('\n')).toContain(`'HOME=${home}'`);
  });
});
