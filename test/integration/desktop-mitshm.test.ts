/**
 * x11.mitshm against real Xvfb servers, from a chroot guest (uid 1000, its /tmp/.X11-unix bound)
 * whose session process is in the host's IPC namespace, in one of its own (`unshare --ipc`, as
 * bwrap --unshare-ipc does), or in the X server's (the offered nsenter line); a pid target; and a
 * server running as another user. The probe's ShmAttach is the real one: BadAccess is the server's.
 */
import { chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { guestHome, mergeXauthority } from '../harness/desktop-session.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import type { XvfbHandle } from '../harness/xvfb.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

describeIntegration('x11.mitshm on real Xvfb servers', () => {
  let w: World;
  let root: string;
  let user: { uid: number; gid: number; name: string; home: string };
  let x: XvfbHandle; // root's server in the host's IPC namespace
  let xOwnIpc: XvfbHandle; // a server in an IPC namespace of its own
  let xOtherUser: XvfbHandle; // a server run by uid 1001
  const pids: Record<string, number> = {};

  async function mitshm(target: string, envFrom?: number): Promise<CheckResult> {
    const r = await runTool(
      ['check', target, '--only', 'x11.mitshm', '--json', '--timeout', '4000', ...(envFrom ? ['--env-from', String(envFrom)] : [])],
      { netns: w.net.guestNsPath },
    );
    await validateReport(r.json);
    return (r.json as Report).results.find((c) => c.id === 'x11.mitshm')!;
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code);
  const ev = (c: CheckResult) =>
    c.findings[0]?.evidence as Record<string, unknown> & {
      attempts: { attach: { ok: boolean; errorCode?: number } | null; attachedOurs: boolean | null; mode: string }[];
    };
  /** The segments left in the host's IPC namespace by ctr-doctor's user: none may outlive a run. */
  const leftSegments = async () =>
    (await import('node:fs'))
      .readFileSync('/proc/sysvipc/shm', 'utf8')
      .split('\n')
      .slice(1)
      .filter((l) => l.trim().split(/\s+/)[7] === String(user.uid));

  beforeAll(async () => {
    w = await createWorld();
    const g = await w.guestRoot('mitshm');
    root = g.root;
    user = g.user;
    [x, xOwnIpc, xOtherUser] = await Promise.all([w.xvfb(), w.xvfb({ ownIpc: true }), w.xvfb({ user: { uid: 1001, gid: 1001 } })]);
    await mountChrootApi(root, w.cleanup, { x11: true });
    const home = guestHome(root, user.home, user.uid, user.gid);
    for (const s of [x, xOwnIpc, xOtherUser]) await mergeXauthority(join(home, '.Xauthority'), s.authFile);
    chownSync(join(home, '.Xauthority'), user.uid, user.gid);
    const start = async (key: string, display: number, ipc?: string) => {
      const env = { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, DISPLAY: `:${display}` };
      pids[key] = (await startChrootProcess(w.net, root, { uid: user.uid, gid: user.gid, env, ...(ipc ? { ipc } : {}) }, w.cleanup)).pid;
    };
    await Promise.all([
      start('same', x.display),
      start('own', x.display, 'own'),
      start('toOwnIpcServer', xOwnIpc.display),
      start('otherUser', xOtherUser.display),
    ]);
  });
  afterAll(async () => w?.dispose());

  test('same IPC namespace as the server: the server attached the very segment made in the guest', async () => {
    const c = await mitshm(`chroot:${root}`, pids.same);
    expect(c.status, JSON.stringify(c.findings)).toBe('pass');
    expect(codes(c)).toEqual(['mitshm-ok']);
    expect(ev(c).server).toMatchObject({ pid: x.pid, comm: 'Xvfb', via: 'path' });
    expect(ev(c).attempts[0]).toMatchObject({ attach: { ok: true }, attachedOurs: true, mode: '0600' });
    expect(await leftSegments()).toEqual([]);
  });

  test('the session in an IPC namespace of its own (unshare --ipc): the server answers BadAccess, warn, with the fixes', async () => {
    const c = await mitshm(`chroot:${root}`, pids.own);
    expect(c.status, JSON.stringify(c.findings)).toBe('warn');
    expect(codes(c)).toEqual(['mitshm-ipc-namespace']);
    expect(ev(c).guestIpc).not.toEqual(ev(c).serverIpc);
    expect(ev(c).attempts).toHaveLength(1);
    // The real server's error: BadAccess (10) on MIT-SHM's X_ShmAttach (minor 1); or, on an id collision, an attach not on ours.
    const a = ev(c).attempts[0]!;
    expect(a.attach?.ok === false ? a.attach.errorCode : a.attachedOurs).toBe(a.attach?.ok === false ? 10 : false);
    expect(c.fixes.map((f) => f.id).sort()).toEqual(['x11.export-no-mitshm', 'x11.share-ipc-namespace']);
  });

  test('a pid target in its own IPC namespace: the same warning, the pid fixes', async () => {
    const c = await mitshm(`pid:${pids.own}`);
    expect(codes(c), JSON.stringify(c.findings)).toEqual(['mitshm-ipc-namespace']);
    expect(c.fixes.map((f) => f.id).sort()).toEqual(['x11.export-no-mitshm', 'x11.share-ipc-namespace']);
  });

  test('a server in its own IPC namespace: warn, and the offered nsenter line, followed, makes it pass', async () => {
    const before = await mitshm(`chroot:${root}`, pids.toOwnIpcServer);
    expect(codes(before), JSON.stringify(before.findings)).toEqual(['mitshm-ipc-namespace']);
    const snippet =
      before.fixes
        .find((f) => f.id === 'x11.share-ipc-namespace')
        ?.steps.flatMap((s) => ('snippet' in s && s.snippet ? [s.snippet] : []))[0] ?? '';
    expect(snippet).toBe(`nsenter --ipc=/proc/${xOwnIpc.pid}/ns/ipc -- chroot ${root} PROGRAM`);
    // Follow it: the session started inside the server's IPC namespace.
    const entered = (
      await startChrootProcess(
        w.net,
        root,
        {
          uid: user.uid,
          gid: user.gid,
          ipc: `/proc/${xOwnIpc.pid}/ns/ipc`,
          env: { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, DISPLAY: `:${xOwnIpc.display}` },
        },
        w.cleanup,
      )
    ).pid;
    const after = await mitshm(`chroot:${root}`, entered);
    expect(after.status, JSON.stringify(after.findings)).toBe('pass');
    expect(codes(after)).toEqual(['mitshm-ok']);
  });

  test('a server run by another user: 0600 segments refused, 0666 attached: warn', async () => {
    const c = await mitshm(`chroot:${root}`, pids.otherUser);
    expect(codes(c), JSON.stringify(c.findings)).toEqual(['mitshm-other-user']);
    expect(ev(c).attempts.map((a) => [a.mode, a.attach?.ok])).toEqual([
      ['0600', false],
      ['0666', true],
    ]);
    expect(c.findings[0]?.message).toContain('uid 1001');
    expect(await leftSegments()).toEqual([]);
  });
});
