/**
 * A booted genuine Debian 12 guest with nobody logged in (only system daemons run, dbus as
 * messagebus), then with the desktop user logged in for real through PAM and logind.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootRealGuest, loginSession, type RealGuest } from '../harness/real-guest.js';
import { realRootSkipReason, unpackRealRoot } from '../harness/real-root.js';
import { diagnose, scenarioArgs } from '../harness/real-scenario.js';
import { describeFeature } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING real session tests: ${reason}`);
const SCENARIO = 'session';

describeFeature('nspawn').skipIf(reason !== null)('session user on a booted Debian 12 guest', () => {
  let w: World;
  let guest: RealGuest;
  const args = (): string[] => scenarioArgs(w, `nspawn:${guest.machine}`);

  beforeAll(async () => {
    w = await createWorld({ uplink: 'dhcp', dns: true });
    const real = await unpackRealRoot(w.base, 'desk', 'bookworm', w.cleanup);
    guest = await bootRealGuest(w, real, w.name('se'), w.cleanup);
  }, 600_000);
  afterAll(async () => w?.dispose());

  test('nobody logged in: no system account is taken; the only regular user in passwd is', async () => {
    const d = await diagnose(w, SCENARIO, 'check, nobody logged in', [...args(), '--only', 'session,dconf,audio,x11']);
    // dbus runs as messagebus (uid 100 here): a system account, never the desktop user.
    expect(JSON.stringify(d.report.results), JSON.stringify(d.report.results.map((r) => [r.id, r.status, r.summary]))).not.toMatch(
      /uid 100\b|messagebus|\/run\/user\/100\b/,
    );
    expect(d.text.stdout).toMatch(/session: desk \(uid 1000, the default\)/);
    expect(d.by('dconf.runtime-dir').summary).toContain('/run/user/1000 does not exist');
  });

  test('two regular users and nobody logged in: no desktop session, and the desktop checks skip saying so', async () => {
    expect((await guest.exec(['useradd', '-m', '-u', '1001', '-s', '/bin/bash', 'other'])).exitCode).toBe(0);
    try {
      const d = await diagnose(w, SCENARIO, 'check, two regular users, nobody logged in', [...args(), '--only', 'session,dconf,audio,x11']);
      for (const id of ['dconf.runtime-dir', 'audio.pulse', 'x11.display']) {
        expect(d.by(id).status, `${id}: ${d.by(id).summary}`).toBe('skip');
        expect(d.by(id).summary).toMatch(/session/);
      }
      expect(JSON.stringify(d.report.results)).not.toMatch(/messagebus|\/run\/user\/100\b/);
    } finally {
      await guest.exec(['userdel', '-r', 'other']);
    }
  });

  test('a real login: the desktop user is found, with the runtime directory logind made', async () => {
    const login = await loginSession(guest, guest.real.user, w.cleanup);
    const d = await diagnose(w, SCENARIO, 'check, desk logged in', [...args(), '--only', 'session,dconf,audio,x11']);
    expect(d.by('session.user').summary).toContain('desk');
    expect(d.text.stdout).toMatch(/session: desk \(uid 1000, owner of the session process\)/);
    expect(d.by('dconf.runtime-dir').status).toBe('pass');
    await login.stop();
  });
});
