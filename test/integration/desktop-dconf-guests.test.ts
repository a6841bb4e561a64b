/**
 * dconf.runtime-dir on the other guest kinds: a real schroot session and a booted nspawn
 * machine, each with a uid 1000 process, from "missing" through `fix --yes` to "pass".
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startNspawnUserProcess } from '../harness/desktop-session.js';
import { bootNspawn, type NspawnGuest } from '../harness/nspawn-guest.js';
import { beginSession, createSchroot, sessionMountLocation, startSessionProcess } from '../harness/schroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

describeIntegration('dconf.runtime-dir on schroot and nspawn guests', () => {
  let w: World;
  let uid: number;
  let sessionId: string;
  let nspawn: NspawnGuest;
  const tool = (args: string[]) => runTool([...args, '--timeout', '4000'], { netns: w.net.offNsPath });
  const dconf = async (target: string): Promise<CheckResult> => {
    const r = await tool(['check', target, '--only', 'dconf.runtime-dir', '--json']);
    await validateReport(r.json);
    return (r.json as Report).results[0]!;
  };

  beforeAll(async () => {
    w = await createWorld();
    const s = await w.guestRoot('dconf-schroot');
    uid = s.user.uid;
    rmSync(join(s.root, `run/user/${uid}`), { recursive: true, force: true });
    const name = w.name('ds');
    createSchroot(w.net, s.root, name, w.cleanup, {});
    sessionId = await beginSession(name, w.name('ds1'));
    await startSessionProcess(w.net, sessionId, w.cleanup, {
      user: s.user.name,
      env: { XDG_RUNTIME_DIR: `/run/user/${uid}` },
      preserveEnvironment: true,
    });

    const n = await w.guestRoot('dconf-nspawn');
    nspawn = await bootNspawn(w.net, n.root, w.name('dn'), w.cleanup, {});
    await startNspawnUserProcess(
      nspawn.leaderPid,
      n.user.uid,
      n.user.gid,
      { PATH: '/usr/bin:/bin', HOME: '/', XDG_RUNTIME_DIR: `/run/user/${n.user.uid}` },
      w.cleanup,
    );
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('schroot session: missing, then fix --yes creates it 0700 for the user, then pass', async () => {
    const before = await dconf(`session:${sessionId}`);
    expect(before.status).toBe('fail');
    expect(before.findings.map((f) => f.code)).toContain('runtime-dir-missing');
    const fixed = await tool(['fix', `session:${sessionId}`, '--only', 'dconf.runtime-dir', '--yes', '--json']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    const made = statSync(join(sessionMountLocation(sessionId), `run/user/${uid}`));
    expect({ mode: made.mode & 0o7777, uid: made.uid }).toEqual({ mode: 0o700, uid });
    expect((await dconf(`session:${sessionId}`)).status).toBe('pass');
  });

  test("booted nspawn guest: missing in its own /run, then fix --yes, then pass; the host's /run/user is untouched", async () => {
    const hostHad = existsSync(`/run/user/${uid}`);
    const before = await dconf(`nspawn:${nspawn.machine}`);
    expect(before.status).toBe('fail');
    expect(before.findings.map((f) => f.code)).toContain('runtime-dir-missing');
    const fixed = await tool(['fix', `nspawn:${nspawn.machine}`, '--only', 'dconf.runtime-dir', '--yes', '--json']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect((await dconf(`nspawn:${nspawn.machine}`)).status).toBe('pass');
    const inGuest = await nspawn.exec(['stat', '-c', '%a %u', `/run/user/${uid}`]);
    expect(inGuest.stdout.trim()).toBe(`700 ${uid}`);
    expect(existsSync(`/run/user/${uid}`)).toBe(hostHad);
  });
});
