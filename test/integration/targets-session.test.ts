/**
 * Issue 12 items 2 and 3 on a genuine booted Debian 12 guest: its sandboxed services (own mount
 * namespaces, e.g. its systemd-resolved) are the guest's, the session user is never a system
 * account (messagebus), and a real `runuser -l` login is found.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootRealGuest, loginSession, type RealGuest } from '../harness/real-guest.js';
import { realRootSkipReason, unpackRealRoot } from '../harness/real-root.js';
import { describeFeature } from '../harness/skip.js';
import { must, spawnDaemon, waitFor, descendantsOf, commOf } from '../harness/proc.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { readProcessSync } from '../../src/host/procfs.js';
import type { Report } from '../../src/core/types.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING real-guest target tests: ${reason}`);

const DESKTOP_CHECKS = ['x11.display', 'x11.socket', 'audio.pulse', 'dconf.runtime-dir', 'session.user'];

describeFeature('nspawn').skipIf(reason !== null)('targets on a booted Debian 12: membership and the session user', () => {
  let w: World;
  let guest: RealGuest;
  const open = async () => {
    const opened = await openTarget(`nspawn:${guest.machine}`, { host: new HostContext({ invokingEnv: {} }) });
    if (opened.kind !== 'guest') throw new Error('not a guest');
    return opened.target;
  };
  const check = async (extra: string[] = []) => {
    const r = await runTool([`nspawn:${guest.machine}`, '--json', '--only', 'x11,audio,dconf,session', '--timeout', '4000', ...extra], {
      netns: w.net.guestNsPath,
    });
    await validateReport(r.json);
    return r.json as Report;
  };

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    const real = await unpackRealRoot(w.base, 'members', 'bookworm', w.cleanup);
    // Two regular users: passwd alone does not say who the desktop user is.
    await must(['chroot', real.root, 'useradd', '-m', '-u', '1001', '-s', '/bin/bash', 'desk2']);
    guest = await bootRealGuest(w, real, w.name('tm'), w.cleanup);
  }, 600_000);
  afterAll(async () => w?.dispose());

  test("the guest's sandboxed services, with mount namespaces of their own, are its processes", async () => {
    const target = await open();
    const leader = readProcessSync(guest.boot.leaderPid)!;
    // A process of the guest's own, started in a mount namespace of its own (as systemd's sandboxing does).
    const own = spawnDaemon(
      'sleep in its own mount namespace',
      ['nsenter', '-t', String(guest.boot.leaderPid), '-a', 'unshare', '-m', '--propagation', 'private', 'sleep', '300'],
      w.cleanup,
    );
    const sleeper = await waitFor('the unshared sleep', () => descendantsOf(own.pid).find((p) => commOf(p) === 'sleep'), {
      timeoutMs: 5000,
    });
    expect(readProcessSync(sleeper)!.mntns).not.toBe(leader.mntns);
    const members = await (await open()).processes();
    expect(members.map((p) => p.pid)).toContain(sleeper);
    // And the guest's real ones: systemd's sandboxed services (resolved, logind…) in mount namespaces of their own.
    const sandboxed = (await target.processes()).filter((p) => readProcessSync(p.pid)?.mntns !== leader.mntns);
    console.log(`[targets-session] members with their own mount namespace: ${sandboxed.map((p) => `${p.pid} ${p.comm}`).join(', ')}`);
    expect(sandboxed.map((p) => p.comm)).toContain('systemd-resolve');
    await own.stop();
  });

  test('nobody logged in: no system account is the session user, and the desktop checks skip with one reason', async () => {
    const target = await open();
    expect(target.session).toBeNull();
    expect(target.noSessionReason).toMatch(
      /^no desktop session runs in .*: no process of a regular user \(uid 1000–60000 with a login shell\) and 2 regular users in its \/etc\/passwd \(desk, desk2\); name the desktop user with --user$/,
    );
    const report = await check();
    for (const id of DESKTOP_CHECKS) {
      const r = report.results.find((x) => x.id === id)!;
      expect(r.status, id).toBe('skip');
      expect(r.summary, id).toBe(target.noSessionReason);
    }
    // messagebus (uid 100) is nowhere.
    expect(JSON.stringify(report)).not.toMatch(/\/run\/user\/100\b|uid 100\b/);
  });

  test('--user names the desktop user: the desktop checks run for it', async () => {
    const report = await check(['--user', 'desk']);
    expect(report.results.find((x) => x.id === 'dconf.runtime-dir')!.status).not.toBe('skip');
  });

  test('a real login (runuser -l) is found: its process and its uid', async () => {
    const login = await loginSession(guest, guest.real.user, w.cleanup);
    const target = await open();
    // The login's own process, or an older one of the same login (its `systemd --user`, whose environment has the session bus).
    expect(target.session).toMatchObject({ uid: 1000, source: 'process' });
    const chosen = (await target.processes()).find((p) => p.pid === target.session!.pid)!;
    console.log(`[targets-session] session process after runuser -l: ${chosen.pid} ${chosen.comm} (the login's sleep is ${login.pid})`);
    expect(chosen.uid).toBe(1000);
    expect((await target.processes()).map((p) => p.pid)).toContain(login.pid);
    expect(target.user).toMatchObject({ name: 'desk', uid: 1000 });
    const report = await check();
    const user = report.results.find((x) => x.id === 'session.user')!;
    expect(user.status).toBe('pass');
    expect(user.findings.map((f) => f.code)).toEqual(['session-user']);
    await login.stop();
  });
});
