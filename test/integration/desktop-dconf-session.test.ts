/**
 * dconf.runtime-dir as uid 1000 with the real dconf in a chroot (missing, root-owned,
 * working), and session.user on a `sudo chroot`-style root session.
 */
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

const SECURE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describeIntegration('dconf and session checks on a real chroot', () => {
  let w: World;
  let root: string;
  let runUser: string;
  let user: { uid: number; gid: number; name: string; home: string };
  const pids: Record<string, number> = {};

  async function check(only: string, envFrom: number | undefined): Promise<CheckResult> {
    if (envFrom === undefined) throw new Error('no session process');
    const r = await runTool(['check', `chroot:${root}`, '--only', only, '--json', '--timeout', '4000', '--env-from', String(envFrom)], {
      netns: w.net.guestNsPath,
    });
    await validateReport(r.json);
    return (r.json as Report).results.find((c) => c.id === only)!;
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    const g = await w.guestRoot('dconf');
    root = g.root;
    user = g.user;
    runUser = join(root, `run/user/${user.uid}`);
    rmSync(runUser, { recursive: true, force: true });
    const home = join(root, user.home);
    mkdirSync(home, { recursive: true });
    chownSync(home, user.uid, user.gid);
    pids.user = (
      await startChrootProcess(
        w.net,
        root,
        {
          uid: user.uid,
          gid: user.gid,
          env: { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, DISPLAY: ':0', XDG_RUNTIME_DIR: `/run/user/${user.uid}` },
        },
        w.cleanup,
      )
    ).pid;
    pids.sudo = (
      await startChrootProcess(
        w.net,
        root,
        {
          uid: 0,
          env: {
            PATH: SECURE_PATH,
            HOME: '/root',
            USER: 'root',
            SUDO_USER: user.name,
            SUDO_UID: String(user.uid),
            SUDO_GID: String(user.gid),
            SUDO_COMMAND: `/usr/sbin/chroot ${root}`,
          },
        },
        w.cleanup,
      )
    ).pid;
  });
  afterAll(async () => w?.dispose());

  test('/run/user/1000 missing: fails and quotes the real dconf error', async () => {
    const c = await check('dconf.runtime-dir', pids.user);
    expect(c.status).toBe('fail');
    const missing = c.findings.find((f) => f.code === 'runtime-dir-missing')!;
    expect(missing.message).toContain(
      `unable to create directory '/run/user/${user.uid}/dconf': Permission denied.  dconf will not work properly.`,
    );
    expect(String(missing.evidence.dconfStderr)).toContain('dconf-CRITICAL');
    const fix = c.fixes.find((f) => f.id === 'dconf.make-runtime-dir')!;
    expect(fix.safety).toBe('safe');
    expect(fix.steps[0]).toMatchObject({
      kind: 'mkdir',
      where: 'guest',
      path: `/run/user/${user.uid}`,
      mode: 0o700,
      uid: user.uid,
      gid: user.gid,
    });
  });

  test('/run/user/1000 owned by root: wrong owner, not writable by uid 1000', async () => {
    mkdirSync(runUser, { recursive: true, mode: 0o700 });
    chownSync(runUser, 0, 0);
    chmodSync(runUser, 0o700);
    const c = await check('dconf.runtime-dir', pids.user);
    expect(c.status).toBe('fail');
    expect(codes(c)).toEqual(expect.arrayContaining(['runtime-dir-wrong-owner', 'runtime-dir-not-writable']));
    // The guest's own /run/user/1000 (not a host mount), root's, in a root-owned /run/user: giving it to the user is safe (H2).
    expect(c.fixes.find((f) => f.id === 'dconf.chown-runtime-dir')?.safety).toBe('safe');
  });

  test('/run/user/1000 owned by the user, 0700: passes, and the write test leaves nothing behind', async () => {
    chownSync(runUser, user.uid, user.gid);
    const c = await check('dconf.runtime-dir', pids.user);
    expect(c.status, JSON.stringify(c.findings)).toBe('pass');
    expect(codes(c)).toContain('runtime-dir-ok');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(runUser).filter((n) => n.startsWith('.ctr-doctor-'))).toEqual([]);
  });

  test('session.user: a root session entered through sudo with the environment reset', async () => {
    const c = await check('session.user', pids.sudo);
    expect(c.status).toBe('warn');
    expect(codes(c)).toEqual(['session-root-via-sudo', 'path-secure-path', 'home-is-root', 'display-lost']);
    const step = c.fixes[0]!.steps[0]!;
    expect('snippet' in step ? step.snippet : '').toContain(`sudo -E "PATH=$PATH" chroot --userspec=${user.uid}:${user.gid}`);
  });

  test("session.user: the desktop user's own session passes", async () => {
    const c = await check('session.user', pids.user);
    expect(c.status).toBe('pass');
    expect(codes(c)).toEqual(['session-user']);
  });
});
