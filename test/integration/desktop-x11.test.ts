/**
 * x11.display and x11.socket against real Xvfb servers, seen from chroot, schroot and
 * booted nspawn guests in the world's guest network namespace.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { guestHome, mergeXauthority, startNspawnUserProcess, writeXauthority } from '../harness/desktop-session.js';
import { bootNspawn, type NspawnGuest } from '../harness/nspawn-guest.js';
import { makeStaleSocket } from '../harness/pulse.js';
import { run } from '../harness/proc.js';
import { beginSession, createSchroot, startSessionProcess } from '../harness/schroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { allocDisplay, type XvfbHandle } from '../harness/xvfb.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

describeIntegration('x11 checks on real guests', () => {
  let w: World;
  let x: XvfbHandle; // -nolisten local: path socket only
  let xSameNs: XvfbHandle; // abstract socket in the guest netns too
  let xOtherNs: XvfbHandle; // abstract socket in a private netns
  let stale: number;
  let bound: string; // chroot with /tmp/.X11-unix bound
  let unbound: string; // chroot without it
  let user: { uid: number; gid: number; name: string; home: string };
  const pids: Record<string, number> = {};
  let nspawn: NspawnGuest;
  let nsXauth: string;
  let schrootName: string;

  async function check(target: string, envFrom?: number): Promise<(id: string) => CheckResult> {
    const args = ['check', target, '--only', 'x11', '--json', '--timeout', '4000', ...(envFrom ? ['--env-from', String(envFrom)] : [])];
    const r = await runTool(args, { netns: w.net.guestNsPath });
    await validateReport(r.json);
    const report = r.json as Report;
    return (id) => report.results.find((c) => c.id === id)!;
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    [x, xSameNs, xOtherNs] = await Promise.all([
      w.xvfb(),
      w.xvfb({ listenLocal: true, netns: w.net.guestNsPath }),
      w.xvfb({ listenLocal: true }),
    ]);
    stale = allocDisplay();
    const stalePath = `/tmp/.X11-unix/X${stale}`;
    w.cleanup.defer(`rm ${stalePath}`, () => rmSync(stalePath, { force: true }));
    await makeStaleSocket(stalePath);
    // X servers make their sockets 0777; anything tighter would read as EACCES instead.
    chmodSync(stalePath, 0o777);

    const [a, b] = await Promise.all([w.guestRoot('x11-bound'), w.guestRoot('x11-unbound')]);
    bound = a.root;
    unbound = b.root;
    user = a.user;
    await mountChrootApi(bound, w.cleanup, { x11: true });
    for (const root of [bound, unbound]) guestHome(root, user.home, user.uid, user.gid);
    // The overlay shows the host's /tmp/.X11-unix entries, which are dead copies of sockets: start empty, like a fresh guest.
    rmSync(join(unbound, 'tmp/.X11-unix'), { recursive: true, force: true });
    mkdirSync(join(unbound, 'tmp/.X11-unix'), { mode: 0o1777 });
    // The unbound guest's user has cookies for all three servers.
    const merged = join(unbound, user.home, '.Xauthority');
    for (const s of [x, xSameNs, xOtherNs]) await mergeXauthority(merged, s.authFile);
    chownSync(merged, user.uid, user.gid);

    const env = (display?: number) => ({
      PATH: '/usr/bin:/bin',
      HOME: user.home,
      USER: user.name,
      ...(display !== undefined ? { DISPLAY: `:${display}` } : {}),
    });
    const start = async (key: string, root: string, display?: number) => {
      pids[key] = (await startChrootProcess(w.net, root, { uid: user.uid, gid: user.gid, env: env(display) }, w.cleanup)).pid;
    };
    await Promise.all([
      start('bound', bound, x.display),
      start('stale', bound, stale),
      start('unset', bound),
      start('unbound', unbound, x.display),
      start('sameNs', unbound, xSameNs.display),
      start('otherNs', unbound, xOtherNs.display),
    ]);
  });
  afterAll(async () => w?.dispose());

  const boundXauth = () => join(bound, user.home, '.Xauthority');
  const installCookie = async (hex: string | null) => {
    rmSync(boundXauth(), { force: true });
    if (hex === null) return;
    await writeXauthority(boundXauth(), x.display, hex);
    chownSync(boundXauth(), user.uid, user.gid);
  };

  test('chroot, right cookie: the setup succeeds on the path socket, with vendor and screen size', async () => {
    await installCookie(x.cookieHex);
    const r = await check(`chroot:${bound}`, pids.bound);
    expect(r('x11.display').status).toBe('pass');
    const s = r('x11.socket');
    expect(s.status, s.summary).toBe('pass');
    const ok = s.findings.find((f) => f.code === 'x11-connected')!;
    expect(ok.evidence.via).toBe('path');
    expect(ok.message).toContain('1024x768');
    expect(String(ok.evidence.vendor)).toMatch(/X\.Org/);
  });

  test('chroot, wrong cookie: "Invalid MIT-MAGIC-COOKIE-1 key", like xdpyinfo says', async () => {
    await installCookie('0'.repeat(32));
    const real = await w.net.exec('guest', [
      'chroot',
      `--userspec=${user.uid}:${user.gid}`,
      bound,
      'env',
      `HOME=${user.home}`,
      'xdpyinfo',
      '-display',
      `:${x.display}`,
    ]);
    expect(real.stderr).toContain('Invalid MIT-MAGIC-COOKIE-1 key');
    const s = (await check(`chroot:${bound}`, pids.bound))('x11.socket');
    expect(s.status).toBe('fail');
    expect(codes(s)).toContain('x11-cookie-invalid');
    expect(s.fixes.map((f) => f.id)).toContain('x11.xhost-localuser');
  });

  test('chroot, no Xauthority: the server wants a cookie and gets none', async () => {
    await installCookie(null);
    const s = (await check(`chroot:${bound}`, pids.bound))('x11.socket');
    expect(s.status, JSON.stringify(s.findings)).toBe('fail');
    expect(codes(s)).toEqual(expect.arrayContaining(['xauthority-missing', 'x11-no-cookie']));
  });

  test('chroot, stale socket: connection refused', async () => {
    const s = (await check(`chroot:${bound}`, pids.stale))('x11.socket');
    expect(s.status, JSON.stringify(s.findings)).toBe('fail');
    expect(codes(s)).toContain('x11-socket-stale');
  });

  test("chroot, DISPLAY unset: firefox's error, and the live host display is suggested", async () => {
    const d = (await check(`chroot:${bound}`, pids.unset))('x11.display');
    expect(d.status).toBe('fail');
    const unset = d.findings.find((f) => f.code === 'display-unset')!;
    expect(unset.message).toContain('Error: no DISPLAY environment variable specified');
    expect(unset.evidence.liveDisplays).toContain(`:${x.display}`);
    expect(unset.evidence.liveDisplays).not.toContain(`:${stale}`);
  });

  test('chroot without the bind, server with -nolisten local: the socket is missing', async () => {
    const r = await check(`chroot:${unbound}`, pids.unbound);
    expect(r('x11.display').status).toBe('warn');
    expect(codes(r('x11.display'))).toContain('display-socket-not-in-guest');
    const s = r('x11.socket');
    expect(s.status).toBe('fail');
    expect(codes(s)).toContain('x11-socket-missing');
    expect(s.fixes.map((f) => f.id)).toContain('x11.chroot-bind-socket');
  });

  test('chroot without the bind, server in the SAME netns: only the abstract socket works', async () => {
    // A real client gets through: libxcb tries the abstract socket first.
    const real = await w.net.exec('guest', [
      'chroot',
      `--userspec=${user.uid}:${user.gid}`,
      unbound,
      'env',
      `HOME=${user.home}`,
      'xdpyinfo',
      '-display',
      `:${xSameNs.display}`,
    ]);
    expect(real.exitCode, real.stderr).toBe(0);
    const s = (await check(`chroot:${unbound}`, pids.sameNs))('x11.socket');
    expect(s.status, s.summary).toBe('warn');
    expect(codes(s)).toEqual(['x11-abstract-only']);
    expect(s.findings[0]!.evidence.abstract).toMatchObject({ listening: true });
    expect(s.fixes.map((f) => f.id)).toContain('x11.chroot-bind-socket');
  });

  test('chroot without the bind, server in ANOTHER netns: its abstract socket is out of reach', async () => {
    const s = (await check(`chroot:${unbound}`, pids.otherNs))('x11.socket');
    expect(s.status).toBe('fail');
    expect(codes(s)).toContain('x11-socket-missing');
    expect(s.findings[0]!.evidence.abstract).toMatchObject({ stage: 'connect', listening: false });
  });

  test('schroot session with the fstab bind and preserve-environment: the setup succeeds', async () => {
    const g = await w.guestRoot('x11-schroot');
    guestHome(g.root, user.home, user.uid, user.gid);
    const file = join(g.root, user.home, '.Xauthority');
    copyFileSync(x.authFile, file);
    chownSync(file, user.uid, user.gid);
    schrootName = w.name('x11');
    createSchroot(w.net, g.root, schrootName, w.cleanup, {
      fstabLines: ['/proc /proc none rw,bind 0 0', '/dev /dev none rw,bind 0 0', '/tmp/.X11-unix /tmp/.X11-unix none rw,bind 0 0'],
      preserveEnvironment: true,
    });
    const sid = await beginSession(schrootName, w.name('x11s'));
    await startSessionProcess(w.net, sid, w.cleanup, {
      user: user.name,
      preserveEnvironment: true,
      env: { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, DISPLAY: `:${x.display}` },
    });
    const results = await check(`session:${sid}`);
    const s = results('x11.socket');
    expect(s.status, s.summary).toBe('pass');
    // A schroot session shares the host's IPC namespace: the server attaches the session's segment.
    const m = results('x11.mitshm');
    expect(
      m.findings.map((f) => f.code),
      JSON.stringify(m.findings),
    ).toEqual(['mitshm-ok']);
    expect(m.status).toBe('pass');
  });

  test("nspawn with --bind-ro=/tmp/.X11-unix: a cookie made for the host's name is not sent; a wildcard cookie works", async () => {
    const g = await w.guestRoot('x11-nspawn');
    // A machine with a hostname of its own (a copy of the host keeps the host's name, and its cookies match).
    writeFileSync(join(g.root, 'etc/hostname'), 'ctd-guestbox\n');
    const dir = join(w.stateDir, 'nspawn-xauth');
    mkdirSync(dir, { recursive: true });
    nsXauth = join(dir, 'Xauthority');
    copyFileSync(x.authFile, nsXauth);
    // The desktop user's own file, in a directory of theirs (xauth rewrites it by rename).
    chownSync(dir, user.uid, user.gid);
    chownSync(nsXauth, user.uid, user.gid);
    nspawn = await bootNspawn(w.net, g.root, w.name('x11n'), w.cleanup, { bindRo: ['/tmp/.X11-unix', `${dir}:/run/ctd-xauth`] });
    const env = { PATH: '/usr/bin:/bin', HOME: '/', DISPLAY: `:${x.display}`, XAUTHORITY: '/run/ctd-xauth/Xauthority' };
    await startNspawnUserProcess(nspawn.leaderPid, user.uid, user.gid, env, w.cleanup);
    // What a real client in the machine sees: its hostname is the machine name, so no cookie matches.
    const real = await nspawn.exec([
      'setpriv',
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      'env',
      '-i',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      'xdpyinfo',
    ]);
    expect(real.stderr).toMatch(/Authorization required|No protocol specified/);

    let s = (await check(`nspawn:${nspawn.machine}`))('x11.socket');
    expect(s.status).toBe('fail');
    expect(codes(s)).toEqual(expect.arrayContaining(['xauth-hostname-mismatch', 'x11-no-cookie']));
    const wildcard = s.fixes.find((f) => f.id === 'x11.wildcard-cookie')!;
    const step = wildcard.steps[0]!;
    // Apply the offered fix as printed (the file as the host reaches it through the machine's root).
    const snippet = ('snippet' in step ? step.snippet! : '').replaceAll(`/proc/${nspawn.leaderPid}/root/run/ctd-xauth/Xauthority`, nsXauth);
    expect(snippet).toContain(nsXauth);
    const applied = await run([
      'unshare',
      '--net',
      'setpriv',
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      'sh',
      '-c',
      snippet,
    ]);
    expect(applied.exitCode, applied.stderr).toBe(0);

    const last = await check(`nspawn:${nspawn.machine}`);
    s = last('x11.socket');
    expect(s.status, s.summary).toBe('pass');
    expect(s.findings.find((f) => f.code === 'x11-connected')!.evidence.cookieFamily).toBe('Wild');
    // x11.mitshm: a machine always has an IPC namespace of its own, so the server cannot attach its segments.
    const m = last('x11.mitshm');
    expect(
      m.findings.map((f) => f.code),
      JSON.stringify(m.findings),
    ).toEqual(['mitshm-ipc-namespace']);
    expect(m.findings[0]?.evidence.server).toMatchObject({ pid: x.pid, comm: 'Xvfb', via: 'path' });
    expect(m.fixes.map((f) => f.id)).toEqual(['x11.nspawn-no-mitshm']);
    expect(m.fixes[0]?.steps.map((st) => ('snippet' in st ? st.snippet : ''))).toContain(
      `systemd-nspawn --setenv=QT_X11_NO_MITSHM=1 -b -D … -M ${nspawn.machine}`,
    );
  });
});
