/**
 * audio.pipewire against a real pipewire + pipewire-pulse run as uid 1000, with chroot guests
 * (whole-root overlays) entered by a session process of uid 1000. The tool sees a host
 * /run/user/1000 holding that PipeWire (bound over /run/user in its own private mount
 * namespace; the machine's /run/user is untouched). Cases: the socket missing in the guest
 * (no bind), then bound in as the fix says; a stale socket; pulse is pipewire-pulse; ALSA with
 * no route. Where a real client exists in the guest (pw-cli, pactl), its words are checked too.
 */
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { startNspawnUserProcess } from '../harness/desktop-session.js';
import { bootNspawn } from '../harness/nspawn-guest.js';
import { startPipewire, type PipewireHandle } from '../harness/pipewire.js';
import { must } from '../harness/proc.js';
import { makeStaleSocket } from '../harness/pulse.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Fix, Report } from '../../src/core/types.js';

describeIntegration('audio.pipewire on a real PipeWire', () => {
  let w: World;
  let pw: PipewireHandle;
  let hostRunUser: string;
  const roots: Record<string, string> = {};
  const pids: Record<string, number> = {};
  let user: { uid: number; gid: number; name: string; home: string };

  async function pipewireCheck(key: string, root: string, target = `chroot:${root}`): Promise<{ check: CheckResult; fixes: Fix[] }> {
    const r = await runTool(['check', target, '--only', 'audio.pipewire', '--json', '--timeout', '4000', '--env-from', String(pids[key])], {
      netns: w.net.guestNsPath,
      hostDirs: { '/run/user': hostRunUser },
    });
    await validateReport(r.json);
    const check = (r.json as Report).results.find((c) => c.id === 'audio.pipewire')!;
    return { check, fixes: check.fixes };
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code).sort();
  /** A PipeWire client in the guest, as the user (host binaries through the overlay). */
  const inGuest = (root: string, env: string[], argv: string[]) =>
    w.net.exec('guest', [
      'chroot',
      `--userspec=${user.uid}:${user.gid}`,
      root,
      'env',
      '-i',
      'PATH=/usr/bin:/bin',
      `HOME=${user.home}`,
      ...env,
      'timeout',
      '10',
      ...argv,
    ]);
  const bindRunUser = async (root: string) => {
    const at = join(root, `run/user/${user.uid}`);
    mkdirSync(at, { recursive: true });
    await must(['mount', '--bind', join(hostRunUser, String(user.uid)), at]);
    w.cleanup.defer(`umount ${at}`, () => must(['umount', at]).then(() => undefined));
  };

  beforeAll(async () => {
    w = await createWorld();
    hostRunUser = join(w.base, 'host-run-user');
    mkdirSync(hostRunUser, { mode: 0o755 });
    const [a, b] = await Promise.all([w.guestRoot('pw-guest'), w.guestRoot('pw-noalsa')]);
    roots.guest = a.root;
    roots.noalsa = b.root;
    user = a.user;
    pw = await startPipewire(join(hostRunUser, String(user.uid)), w.cleanup, { uid: user.uid, gid: user.gid });
    // A runtime dir in the guest with a socket nothing listens on.
    const staleDir = join(roots.guest, 'run/pw-stale');
    mkdirSync(staleDir, { recursive: true });
    await makeStaleSocket(join(staleDir, 'pipewire-0'));
    chownSync(staleDir, user.uid, user.gid);
    chownSync(join(staleDir, 'pipewire-0'), user.uid, user.gid);
    // The ALSA route the host's packages give every overlay guest (pulseaudio's 99-pulse.conf), removed in one.
    rmSync(join(roots.noalsa, 'etc/alsa/conf.d/99-pulse.conf'));
    await bindRunUser(roots.noalsa);
    const start = async (key: string, root: string, extra: Record<string, string>) => {
      const env = { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, ...extra };
      pids[key] = (await startChrootProcess(w.net, root, { uid: user.uid, gid: user.gid, env }, w.cleanup)).pid;
    };
    const rt = { XDG_RUNTIME_DIR: `/run/user/${user.uid}` };
    await Promise.all([
      start('guest', roots.guest, rt),
      start('stale', roots.guest, { ...rt, PIPEWIRE_RUNTIME_DIR: '/run/pw-stale' }),
      start('noalsa', roots.noalsa, rt),
    ]);
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('the socket is not in the guest (no bind): "Host is down", and the bind of /run/user/1000 is offered', async () => {
    const client = await inGuest(roots.guest!, [`XDG_RUNTIME_DIR=/run/user/${user.uid}`], ['pw-cli', 'info', '0']);
    expect(client.stdout + client.stderr).toContain('Host is down');
    const { check, fixes } = await pipewireCheck('guest', roots.guest!);
    expect(check.status, JSON.stringify(check.findings)).toBe('fail');
    expect(codes(check)).toContain('pipewire-socket-missing');
    expect(check.findings.find((f) => f.code === 'pipewire-socket-missing')?.message).toContain(
      `the host has /run/user/${user.uid}/pipewire-0, bind it in`,
    );
    expect(fixes.map((f) => f.id)).toEqual(['audio.chroot-bind-pipewire-runtime-dir']);
    const snippets = fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? s.snippet : '')));
    expect(snippets.some((s) => s?.includes(`mount --bind /run/user/${user.uid} `))).toBe(true);
  });

  test('bound in as the fix says: the core answers Hello as the user, and pulse is pipewire-pulse', async () => {
    await bindRunUser(roots.guest!);
    const { check } = await pipewireCheck('guest', roots.guest!);
    expect(check.status, JSON.stringify(check.findings)).toBe('pass');
    expect(codes(check)).toEqual(['alsa-route-pulse', 'pipewire-connected', 'pulse-is-pipewire']);
    const core = check.findings.find((f) => f.code === 'pipewire-connected')!;
    expect(core.evidence.core).toMatchObject({ name: 'pipewire-0', userName: user.name });
    // The version and the pulse server's name agree with what real clients in the guest print.
    const info = await inGuest(roots.guest!, [`XDG_RUNTIME_DIR=/run/user/${user.uid}`], ['pw-cli', 'info', '0']);
    const version = /version: "([^"]+)"/.exec(info.stdout)?.[1];
    expect(version).toBeTruthy();
    expect(core.evidence.core).toMatchObject({ version });
    const pactl = await inGuest(roots.guest!, [`XDG_RUNTIME_DIR=/run/user/${user.uid}`], ['pactl', 'info']);
    const serverName = /Server Name: (.*)/.exec(pactl.stdout)?.[1]?.trim();
    expect(serverName).toContain('on PipeWire');
    expect(check.findings.find((f) => f.code === 'pulse-is-pipewire')?.evidence).toMatchObject({ name: serverName });
    expect(check.summary).toContain('pulse is pipewire-pulse');
  });

  test('a stale socket (nothing listens): ECONNREFUSED, and the live host socket is offered instead', async () => {
    const { check, fixes } = await pipewireCheck('stale', roots.guest!);
    expect(codes(check)).toContain('pipewire-socket-stale');
    expect(check.findings.find((f) => f.code === 'pipewire-socket-stale')?.message).toContain(
      '/run/pw-stale/pipewire-0: Connection refused',
    );
    expect(fixes.map((f) => f.id)).toEqual(['audio.chroot-bind-pipewire-runtime-dir']);
  });

  test("ALSA with no route and no /dev/snd: a warning, and pipewire-alsa with the guest's apt-get", async () => {
    const { check, fixes } = await pipewireCheck('noalsa', roots.noalsa!);
    expect(check.status, JSON.stringify(check.findings)).toBe('warn');
    expect(codes(check)).toEqual(['alsa-no-route', 'pipewire-connected', 'pulse-is-pipewire']);
    expect(fixes.map((f) => f.id)).toEqual(['audio.install-pipewire-alsa']);
    expect(fixes[0]?.steps.map((s) => ('snippet' in s ? s.snippet : ''))).toEqual([
      'apt-get install --no-install-recommends pipewire-alsa',
    ]);
    // What a real ALSA program in that guest prints (alsa-utils' aplay through the overlay): the words the finding quotes.
    const aplay = await inGuest(
      roots.noalsa!,
      [`XDG_RUNTIME_DIR=/run/user/${user.uid}`],
      ['aplay', '-D', 'default', '-d', '1', '/dev/zero'],
    );
    expect(aplay.exitCode).not.toBe(0);
    expect(aplay.stderr).toContain("(parse_card) cannot find card '0'");
    expect(aplay.stderr).toContain('Unknown PCM default');
    expect(check.findings.find((f) => f.code === 'alsa-no-route')?.message).toContain(
      "ALSA lib confmisc.c:855:(parse_card) cannot find card '0'",
    );
  });

  test('a booted nspawn guest with --bind=/run/user/1000: the core answers inside the machine; a session looking elsewhere gets PIPEWIRE_REMOTE', async () => {
    const g = await w.guestRoot('pw-nspawn');
    const n = await bootNspawn(w.net, g.root, w.name('pwn'), w.cleanup, {
      binds: [`${join(hostRunUser, String(user.uid))}:/run/user/${user.uid}`],
    });
    const base = { PATH: '/usr/bin:/bin', HOME: '/', XDG_RUNTIME_DIR: `/run/user/${user.uid}` };
    pids.nspawn = await startNspawnUserProcess(n.leaderPid, user.uid, user.gid, base, w.cleanup);
    pids.elsewhere = await startNspawnUserProcess(
      n.leaderPid,
      user.uid,
      user.gid,
      { ...base, PIPEWIRE_RUNTIME_DIR: '/run/nothing' },
      w.cleanup,
    );
    const ok = await pipewireCheck('nspawn', g.root, `nspawn:${n.machine}`);
    expect(ok.check.status, JSON.stringify(ok.check.findings)).toBe('pass');
    expect(codes(ok.check)).toEqual(['alsa-route-pulse', 'pipewire-connected', 'pulse-is-pipewire']);
    const off = await pipewireCheck('elsewhere', g.root, `nspawn:${n.machine}`);
    expect(codes(off.check)).toContain('pipewire-socket-missing');
    expect(off.fixes.map((f) => f.id)).toEqual(['audio.set-pipewire-remote']);
    expect(off.fixes[0]?.steps[0]).toMatchObject({
      snippet: expect.stringContaining(`--setenv=PIPEWIRE_REMOTE=/run/user/${user.uid}/pipewire-0`) as string,
    });
  }, 120_000);

  test('PipeWire stopped: the host has no live socket and the guest none answering: the check skips, nothing left running', async () => {
    await pw.stop();
    rmSync(join(hostRunUser, String(user.uid), 'pipewire-0'), { force: true });
    const { check } = await pipewireCheck('noalsa', roots.noalsa!);
    expect(check.status, JSON.stringify(check)).toBe('skip');
    expect(check.summary).toContain(`the host runs no PipeWire for uid ${user.uid}`);
  });
});
