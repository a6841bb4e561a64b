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

  test('a real login: the desktop user is found, with the runtime directory logind made', async () => {
    const login = await loginSession(guest, guest.real.user, w.cleanup);
    const d = await diagnose(w, SCENARIO, 'check, desk logged in', [...args(), '--only', 'session,dconf,audio,x11']);
    expect(d.by('session.user').summary).toContain('desk');
    expect(d.by('dconf.runtime-dir').status).toBe('pass');
    await login.stop();
  });
});
