/**
 * wayland.socket against a real headless Weston, as uid 1000 in a chroot guest: the user's
 * compositor in the guest's runtime dir, an absolute WAYLAND_DISPLAY, a missing socket, a stale
 * one, root's compositor (EACCES), and a name without XDG_RUNTIME_DIR.
 */
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { makeStaleSocket } from '../harness/pulse.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { startWeston } from '../harness/weston.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

describeIntegration('wayland.socket on a real Weston', () => {
  let w: World;
  let root: string;
  let user: { uid: number; gid: number; name: string; home: string };
  const pids: Record<string, number> = {};

  async function waylandCheck(key: string): Promise<CheckResult> {
    const r = await runTool(
      ['check', `chroot:${root}`, '--only', 'wayland.socket', '--json', '--timeout', '4000', '--env-from', String(pids[key])],
      { netns: w.net.guestNsPath },
    );
    await validateReport(r.json);
    return (r.json as Report).results.find((c) => c.id === 'wayland.socket')!;
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    const g = await w.guestRoot('wayland');
    root = g.root;
    user = g.user;
    const runUser = join(root, `run/user/${user.uid}`);
    await Promise.all([
      startWeston(runUser, 'wayland-1', w.cleanup, { uid: user.uid, gid: user.gid }),
      startWeston(join(root, 'run/wl-root'), 'wayland-9', w.cleanup),
    ]);
    await makeStaleSocket(join(runUser, 'wayland-3'));
    chmodSync(join(runUser, 'wayland-3'), 0o777);
    chownSync(join(runUser, 'wayland-3'), user.uid, user.gid);
    mkdirSync(join(root, 'run/user'), { recursive: true });
    const start = async (key: string, extra: Record<string, string>) => {
      const env = { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, ...extra };
      pids[key] = (await startChrootProcess(w.net, root, { uid: user.uid, gid: user.gid, env }, w.cleanup)).pid;
    };
    const rt = { XDG_RUNTIME_DIR: `/run/user/${user.uid}` };
    await Promise.all([
      start('working', { ...rt, WAYLAND_DISPLAY: 'wayland-1' }),
      start('absolute', { WAYLAND_DISPLAY: `/run/user/${user.uid}/wayland-1` }),
      start('missing', { ...rt, WAYLAND_DISPLAY: 'wayland-5' }),
      start('stale', { ...rt, WAYLAND_DISPLAY: 'wayland-3' }),
      start('denied', { ...rt, WAYLAND_DISPLAY: '/run/wl-root/wayland-9' }),
      start('no-runtime-dir', { WAYLAND_DISPLAY: 'wayland-1' }),
    ]);
  });
  afterAll(async () => w?.dispose());

  test("the user's compositor: a registry round trip lists wl_compositor", async () => {
    const c = await waylandCheck('working');
    expect(c.status, JSON.stringify(c.findings)).toBe('pass');
    expect(c.findings[0]?.evidence.globals).toContain('wl_compositor');
  });

  test('an absolute WAYLAND_DISPLAY needs no runtime dir', async () => {
    const c = await waylandCheck('absolute');
    expect(c.status, JSON.stringify(c.findings)).toBe('pass');
  });

  test('a socket the guest lacks: ENOENT', async () => {
    const c = await waylandCheck('missing');
    expect(codes(c)).toEqual(['wayland-socket-missing']);
  });

  test('a stale socket: ECONNREFUSED', async () => {
    const c = await waylandCheck('stale');
    expect(codes(c)).toEqual(['wayland-socket-stale']);
  });

  test("root's compositor behind a 0700 directory: EACCES for uid 1000", async () => {
    const c = await waylandCheck('denied');
    expect(codes(c)).toEqual(['wayland-socket-permission']);
  });

  test("a name without XDG_RUNTIME_DIR: libwayland's words", async () => {
    const c = await waylandCheck('no-runtime-dir');
    expect(codes(c)).toEqual(['wayland-no-runtime-dir']);
  });
});
