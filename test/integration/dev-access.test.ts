/**
 * dev.access on real device nodes. This machine has no /dev/dri and no /dev/snd, so each test
 * makes its host's nodes by mknod in a tmpfs of its own (renderD128 as c 226:128, which has no
 * driver here: ENXIO; controlC0 and seq with /dev/fuse's numbers, 10:229, which open), and the tool
 * sees them as /dev/dri and /dev/snd through an overlay on /dev in its private mount namespace
 * (runTool hostDev): the machine's devtmpfs is never written. The guests are whole-root overlays
 * whose /dev is a tmpfs of the test's, with the host's directories bound in (or not). Every fault is
 * staged for real: the guest's /etc/group, an ACL set with setfacl, a cgroup v1 device cgroup the
 * session process is moved into, a user namespace that does not map the node's gid, an nspawn
 * machine with and without --bind=, a schroot profile without the bind; each is shown to do what
 * users see before the tool looks.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { bootNspawn } from '../harness/nspawn-guest.js';
import { beginSession, createSchroot } from '../harness/schroot-guest.js';
import { hostDevNamespace, hostDevNodes, type DevNodeSpec } from '../harness/host-dev.js';
import { commOf, must, run, spawnDaemon, waitFor } from '../harness/proc.js';
import { umountTree, type GuestRoot } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

const AUDIO = 29;
const VIDEO = 44;
/** The host's nodes of most tests: a GPU render node, a sound control node that opens (/dev/fuse's numbers), a PCM node with no driver behind it. */
const DESKTOP: DevNodeSpec[] = [
  { rel: 'dri/renderD128', major: 226, minor: 128, mode: 0o660, gid: VIDEO },
  { rel: 'snd/controlC0', major: 10, minor: 229, mode: 0o660, gid: AUDIO },
  { rel: 'snd/pcmC0D0p', major: 116, minor: 16, mode: 0o666, gid: AUDIO },
];

const USER = 1000;
const SECOND_USER = 1001;

const CGROUP_V1 = '/sys/fs/cgroup/devices';

/** uid 1000's name: the guests are overlays of this host, so its passwd is theirs. */
const NAME = /^([^:]+):[^:]*:1000:/m.exec(readFileSync('/etc/passwd', 'utf8'))?.[1] ?? 'user';

describeIntegration('dev.access on real device nodes', () => {
  let w: World;
  let n = 0;

  beforeAll(async () => {
    w = await createWorld();
  }, 60_000);
  afterAll(async () => w?.dispose());

  /** The stand-in host /dev of one test. */
  const hostDev = (nodes: DevNodeSpec[]): Promise<string> => hostDevNodes(join(w.base, `hostdev${++n}`), nodes, w.cleanup);

  /** A guest whose /dev is a tmpfs of its own, with `bind` (dri, snd) of the host's stand-in bound in, and `group` as its /etc/group. */
  async function guest(dev: string, bind: string[], group?: (text: string) => string): Promise<GuestRoot> {
    const g = await w.guestRoot(`da${++n}`);
    const gdev = join(g.root, 'dev');
    await must(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=1m', 'ctd_guestdev', gdev]);
    w.cleanup.defer(`umount ${gdev}`, () => umountTree(gdev));
    for (const d of bind) {
      mkdirSync(join(gdev, d));
      await must(['mount', '--bind', join(dev, d), join(gdev, d)]);
    }
    if (group) writeFileSync(join(g.root, 'etc/group'), group(readFileSync(join(g.root, 'etc/group'), 'utf8')));
    return g;
  }

  /** Opens `node` read-write chrooted into `root` as the user with `groups`: what the user's programs get. */
  const openAs = async (root: string, node: string, groups: number[], cgroup?: string) => {
    const enter = cgroup ? ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup] : [];
    const r = await run([
      ...enter,
      'nsenter',
      `--net=${w.net.offNsPath}`,
      'chroot',
      `--userspec=${USER}:${USER}`,
      `--groups=${groups.length > 0 ? groups.join(',') : String(USER)}`,
      root,
      '/bin/sh',
      '-c',
      `exec 3<>${node} && echo opened`,
    ]);
    return `${r.stdout}${r.stderr}`.trim();
  };

  /** dev.access on the chroot at `root`, the tool in mount namespace `mountNs` (where /dev shows the stand-ins). */
  async function devAccess(root: string, mountNs: string, extra: string[] = ['--user', String(USER)]): Promise<CheckResult> {
    const r = await runTool(['check', `chroot:${root}`, '--only', 'dev.access', '--json', '--timeout', '5000', ...extra], {
      netns: w.net.offNsPath,
      mountNs,
      timeoutMs: 90_000,
    });
    await validateReport(r.json);
    const result = (r.json as Report).results.find((x) => x.id === 'dev.access');
    if (!result) throw new Error(`no dev.access result: ${r.stderr}`);
    return result;
  }
  /** dev.access on any target spec, the tool in `mountNs`. */
  async function devAccessOf(spec: string, mountNs: string): Promise<CheckResult> {
    const r = await runTool(['check', spec, '--only', 'dev.access', '--user', String(USER), '--json', '--timeout', '5000'], {
      netns: w.net.offNsPath,
      mountNs,
      timeoutMs: 90_000,
    });
    await validateReport(r.json);
    const result = (r.json as Report).results.find((x) => x.id === 'dev.access');
    if (!result) throw new Error(`no dev.access result: ${r.stderr}`);
    return result;
  }
  const codes = (r: CheckResult) => r.findings.map((f) => f.code).sort();
  const text = (r: CheckResult) => r.findings.map((f) => f.message).join('\n');
  const snippets = (r: CheckResult) => r.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : ''))).join('\n');
  const member = (gid: number, name: string) => (text: string) =>
    text.replace(
      new RegExp(`^([^:]+:[^:]*:${gid}:)(.*)$`, 'm'),
      (_, head: string, rest: string) => `${head}${rest ? `${rest},` : ''}${name}`,
    );

  test("the host's nodes bound in and the user in their groups: pass; the PCM node without a driver is only info", async () => {
    const dev = await hostDev(DESKTOP);
    const g = await guest(dev, ['dri', 'snd'], (t) => member(VIDEO, NAME)(member(AUDIO, NAME)(t)));
    const ns = await hostDevNamespace(dev, w.cleanup);
    expect(await openAs(g.root, '/dev/snd/controlC0', [AUDIO, VIDEO])).toBe('opened');
    expect(await openAs(g.root, '/dev/snd/pcmC0D0p', [])).toContain('No such device');
    const r = await devAccess(g.root, ns);
    expect(r.status, r.summary).toBe('pass');
    expect(codes(r)).toEqual(['devices-ok', 'no-driver']);
    expect(text(r)).toContain('/dev/snd/pcmC0D0p: open as');
    expect(text(r)).toContain('ENXIO (No such device or address)');
    // The probe is not given gids the host's account lacks (audit M2): said, not hidden.
    expect(text(r)).toContain("by its mode and gid 44, which the guest's /etc/group gives");
    expect(r.summary).toContain("opens the host's 3 device nodes");
  }, 120_000);

  test('a chroot without /dev/dri and /dev/snd: missing, and the mount --bind lines under its root', async () => {
    const dev = await hostDev(DESKTOP);
    const g = await guest(dev, []);
    const ns = await hostDevNamespace(dev, w.cleanup);
    expect(existsSync(join(g.root, 'dev/snd'))).toBe(false);
    const r = await devAccess(g.root, ns);
    expect(r.status).toBe('warn');
    expect(codes(r)).toEqual(['devices-missing']);
    expect(text(r)).toContain('/dev/dri/renderD128, /dev/snd/controlC0, /dev/snd/pcmC0D0p are on the host but not in the guest');
    expect(r.fixes.map((f) => f.id)).toEqual(['dev.bind-devices-chroot']);
    const lines = snippets(r);
    expect(lines).toContain(`mkdir -p ${g.root}/dev/dri && mount --bind /dev/dri ${g.root}/dev/dri`);
    expect(lines).toContain(`mkdir -p ${g.root}/dev/snd && mount --bind /dev/snd ${g.root}/dev/snd`);
  }, 120_000);

  test("the guest has no group with the host's audio gid: gid-unnamed, groupadd -g 29 in the guest", async () => {
    const dev = await hostDev([DESKTOP[1]!]);
    const g = await guest(dev, ['snd'], (t) => t.replace(/^audio:.*\n/m, ''));
    const ns = await hostDevNamespace(dev, w.cleanup);
    expect(await openAs(g.root, '/dev/snd/controlC0', [])).toContain('Permission denied');
    const r = await devAccess(g.root, ns);
    expect(r.status).toBe('fail');
    expect(codes(r)).toEqual(['gid-unnamed']);
    expect(text(r)).toContain(
      `${NAME} cannot open /dev/snd/controlC0 (Permission denied): it belongs to gid 29 (audio on the host), which has no name in the guest's /etc/group`,
    );
    expect(snippets(r)).toContain(`groupadd -g 29 host-audio\nusermod -aG host-audio ${NAME}`);
  }, 120_000);

  test("the host's video gid is another group in the guest (as render is systemd-resolve in intuneme#33): gid-other-name; the printed fix, run in the guest, makes it pass", async () => {
    const dev = await hostDev([{ rel: 'dri/renderD128', major: 10, minor: 229, mode: 0o660, gid: VIDEO }]);
    const g = await guest(dev, ['dri'], (t) => t.replace(/^video:x:44:.*$/m, 'systemd-resolve:x:44:\nvideo:x:107:'));
    const ns = await hostDevNamespace(dev, w.cleanup);
    const r = await devAccess(g.root, ns);
    expect(codes(r)).toEqual(['gid-other-name']);
    expect(text(r)).toContain("gid 44, video on the host but systemd-resolve in the guest (the guest's video is gid 107)");
    const lines = snippets(r)
      .split('\n')
      .filter((l) => l.startsWith('groupadd') || l.startsWith('usermod'));
    expect(lines).toEqual(['groupadd -o -g 44 host-video', `usermod -aG host-video ${NAME}`]);
    for (const l of lines) await must(['chroot', g.root, '/bin/sh', '-c', l]);
    expect(await openAs(g.root, '/dev/dri/renderD128', [VIDEO])).toBe('opened');
    const after = await devAccess(g.root, ns);
    expect(after.status, after.summary).toBe('pass');
  }, 120_000);

  test('same group name and gid, the user not a member: not-in-group, usermod -aG audio', async () => {
    const dev = await hostDev([DESKTOP[1]!]);
    const g = await guest(dev, ['snd']);
    const ns = await hostDevNamespace(dev, w.cleanup);
    const r = await devAccess(g.root, ns);
    expect(codes(r)).toEqual(['not-in-group']);
    expect(snippets(r)).toContain(`usermod -aG audio ${NAME}`);
  }, 120_000);

  test("a node granted by ACL to another uid only (logind's uaccess): no-acl, and the printed setfacl line makes it open", async () => {
    const dev = await hostDev([{ rel: 'snd/seq', major: 10, minor: 229, mode: 0o600, gid: 0, acl: `u:${SECOND_USER}:rw` }]);
    const g = await guest(dev, ['snd']);
    const ns = await hostDevNamespace(dev, w.cleanup);
    expect(await openAs(g.root, '/dev/snd/seq', [])).toContain('Permission denied');
    const r = await devAccess(g.root, ns);
    expect(codes(r)).toEqual(['no-acl']);
    expect(text(r)).toContain(`its ACL grants only uid ${SECOND_USER} (logind's uaccess`);
    expect(snippets(r)).toBe(`setfacl -m u:${USER}:rw -- /dev/snd/seq`);
    await must(['setfacl', '-m', `u:${USER}:rw`, join(dev, 'snd/seq')]);
    expect(await openAs(g.root, '/dev/snd/seq', [])).toBe('opened');
    expect((await devAccess(g.root, ns)).status).toBe('pass');
  }, 120_000);

  test('the session process in a cgroup v1 device cgroup that allows only /dev/null: EPERM for it, cgroup-denies with the devices.allow line', async () => {
    if (!existsSync(join(CGROUP_V1, 'devices.list'))) {
      console.warn(
        'SKIPPED: no cgroup v1 devices hierarchy on this machine (the cgroup v2 DeviceAllow reading is covered by the unit tests)',
      );
      return;
    }
    const dev = await hostDev([DESKTOP[1]!]);
    const g = await guest(dev, ['snd'], member(AUDIO, NAME));
    const ns = await hostDevNamespace(dev, w.cleanup);
    const cg = join(CGROUP_V1, w.name('devaccess'));
    mkdirSync(cg);
    // Registered before the session process, so it runs after the process is stopped and the cgroup is empty.
    w.cleanup.defer(`rmdir ${cg}`, () => rmdirSync(cg));
    writeFileSync(join(cg, 'devices.deny'), 'a');
    writeFileSync(join(cg, 'devices.allow'), 'c 1:3 rwm');
    const session = await startChrootProcess(w, g.root, { uid: USER, gid: USER, netns: w.net.offNsPath, mountNs: ns }, w.cleanup);
    writeFileSync(join(cg, 'cgroup.procs'), String(session.pid));
    expect(await openAs(g.root, '/dev/snd/controlC0', [AUDIO], cg)).toContain('Operation not permitted');
    const r = await devAccess(g.root, ns);
    expect(codes(r)).toEqual(['cgroup-denies']);
    expect(text(r)).toContain(`the guest's device cgroup (cgroup v1 devices:/${w.name('devaccess')}) does not allow c 10:229 rw`);
    expect(snippets(r)).toBe(`echo 'c 10:* rw' > ${cg}/devices.allow`);
    writeFileSync(join(cg, 'devices.allow'), 'c 10:* rw');
    expect((await devAccess(g.root, ns)).status).toBe('pass');
    await session.stop();
  }, 120_000);

  test('a session process that started before the user joined audio: session-lacks-group', async () => {
    const dev = await hostDev([DESKTOP[1]!]);
    const g = await guest(dev, ['snd']);
    const ns = await hostDevNamespace(dev, w.cleanup);
    // Logged in first (initgroups read an /etc/group without the user in audio), usermod after.
    const session = await startChrootProcess(w, g.root, { uid: USER, gid: USER, netns: w.net.offNsPath, mountNs: ns }, w.cleanup);
    writeFileSync(join(g.root, 'etc/group'), member(AUDIO, NAME)(readFileSync(join(g.root, 'etc/group'), 'utf8')));
    expect(readFileSync(`/proc/${session.pid}/status`, 'utf8')).not.toMatch(/^Groups:.*\b29\b/m);
    const r = await devAccess(g.root, ns);
    expect(codes(r)).toEqual(['session-lacks-group']);
    expect(text(r)).toContain(`but the session process ${session.pid} does not have it`);
    await session.stop();
  }, 120_000);

  test('nspawn: the machine makes its own /dev, so /dev/snd is missing: --bind= with DeviceAllow=; bound with --bind=, the user in audio: pass', async () => {
    const dev = await hostDev([DESKTOP[1]!]);
    const [bare, bound] = await Promise.all([w.guestRoot(`da${++n}`), w.guestRoot(`da${++n}`)]);
    writeFileSync(join(bound.root, 'etc/group'), member(AUDIO, NAME)(readFileSync(join(bound.root, 'etc/group'), 'utf8')));
    const [m1, m2] = await Promise.all([
      bootNspawn(w.net, bare.root, w.name('dab'), w.cleanup, { bootTimeoutMs: 60_000 }),
      bootNspawn(w.net, bound.root, w.name('das'), w.cleanup, { bootTimeoutMs: 60_000, binds: [`${join(dev, 'snd')}:/dev/snd`] }),
    ]);
    const ns = await hostDevNamespace(dev, w.cleanup);
    expect((await m1.exec(['test', '-e', '/dev/snd'])).exitCode).not.toBe(0);
    expect(
      (
        await m2.exec([
          'setpriv',
          `--reuid=${USER}`,
          `--regid=${USER}`,
          `--groups=${AUDIO}`,
          'sh',
          '-c',
          'exec 3<>/dev/snd/controlC0 && echo opened',
        ])
      ).stdout.trim(),
    ).toBe('opened');
    const missing = await devAccessOf(`nspawn:${m1.machine}`, ns);
    expect(codes(missing)).toEqual(['devices-missing']);
    expect(missing.fixes.map((f) => f.id)).toEqual(['dev.bind-devices-nspawn']);
    // /dev/fuse's major 10 is "misc" in /proc/devices: the class comes from the host, not a table.
    expect(snippets(missing)).toContain("--bind=/dev/snd --property='DeviceAllow=char-misc rw'");
    expect(JSON.stringify(missing.fixes)).toContain(`/etc/systemd/nspawn/${m1.machine}.nspawn`);
    const ok = await devAccessOf(`nspawn:${m2.machine}`, ns);
    expect(ok.status, ok.summary).toBe('pass');
    expect(codes(ok)).toEqual(['devices-ok']);
  }, 180_000);

  test("a session in a user namespace that maps gid 1000 only: the audio node's gid 29 is 65534 there, unmapped-group", async () => {
    const dev = await hostDev([DESKTOP[1]!]);
    const g = await guest(dev, ['snd'], member(AUDIO, NAME));
    const ns = await hostDevNamespace(dev, w.cleanup);
    // unshare(CLONE_NEWUSER) is refused inside a chroot, and --map-users needs newuidmap: the test writes the maps
    // (uids 0..1000 as they are, gid 1000 only), then the process chroots and drops to the user, with exec all along.
    const wait =
      'while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.02; done; exec chroot "$0" setpriv --reuid=1000 --regid=1000 --clear-groups sleep 100000';
    const d = spawnDaemon(
      `userns sleep in ${g.root}`,
      ['nsenter', `--mount=${ns}`, `--net=${w.net.offNsPath}`, 'unshare', '--user', '--mount', 'sh', '-c', wait, g.root],
      w.cleanup,
    );
    await waitFor(
      'the new user namespace',
      () => {
        if (d.child.exitCode !== null) throw new Error(`exited: ${d.output()}`);
        return (
          readFileSync(`/proc/${d.pid}/status`, 'utf8').match(/^NSpid/m) !== null &&
          readlinkSync(`/proc/${d.pid}/ns/user`) !== readlinkSync('/proc/self/ns/user')
        );
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    writeFileSync(`/proc/${d.pid}/uid_map`, '0 0 1001\n');
    writeFileSync(`/proc/${d.pid}/gid_map`, `${USER} ${USER} 1\n`);
    const pid = await waitFor(
      'the sleep in its user namespace',
      () => {
        if (d.child.exitCode !== null) throw new Error(`exited: ${d.output()}`);
        return commOf(d.pid) === 'sleep' ? d.pid : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect(readFileSync(`/proc/${pid}/gid_map`, 'utf8').trim().split(/\s+/)).toEqual([String(USER), String(USER), '1']);
    // Inside, the node's group shows as the overflow gid.
    const inside = await run([
      'nsenter',
      '-t',
      String(pid),
      '-U',
      '--preserve-credentials',
      'stat',
      '-c',
      '%g',
      join(`/proc/${pid}/root`, 'dev/snd/controlC0'),
    ]);
    expect(inside.stdout.trim(), inside.stderr).toBe('65534');
    const r = await devAccessOf(`pid:${pid}`, ns);
    expect(codes(r)).toContain('unmapped-group');
    expect(text(r)).toContain("does not map the host's gid 29 (audio)");
  }, 120_000);

  test("schroot: the profile binds /dev without /dev/snd: the fstab line, naming the profile's file", async () => {
    const dev = await hostDev([DESKTOP[1]!]);
    const g = await w.guestRoot(`da${++n}`);
    const name = w.name('das');
    createSchroot(w.net, g.root, name, w.cleanup, {});
    const session = await beginSession(name, w.name('das1'));
    // The holder copies the session's mounts, so it starts after the session.
    const ns = await hostDevNamespace(dev, w.cleanup);
    const r = await devAccessOf(`session:${session}`, ns);
    expect(codes(r)).toEqual(['devices-missing']);
    expect(r.fixes.map((f) => f.id)).toEqual(['dev.bind-devices-schroot']);
    expect(snippets(r)).toBe('/dev/snd /dev/snd none rw,bind 0 0');
    expect(JSON.stringify(r.fixes)).toContain(`/etc/schroot/${name}/fstab`);
  }, 120_000);
});
