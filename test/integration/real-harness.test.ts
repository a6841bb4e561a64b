/**
 * The real-guest harness itself: a cached debootstrap root unpacked fresh, booted by nspawn
 * with a host0 uplink that the guest's own networkd leases over DHCP, DNS from the world's
 * "internet", a real login through PAM and logind, a reboot onto the same files, and nothing
 * left on the host afterwards.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootRealGuest, DHCP_RANGE, loginSession, setUnits, startDhcp, type RealGuest } from '../harness/real-guest.js';
import { realRootSkipReason, realRootTarball, unpackRealRoot } from '../harness/real-root.js';
import { describeFeature } from '../harness/skip.js';
import { waitFor } from '../harness/proc.js';
import { createWorld, diffSnapshots, hostSnapshot, type HostSnapshot, type World } from '../harness/world.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING real-guest harness tests: ${reason}`);

describeFeature('nspawn').skipIf(reason !== null)('real-guest harness', () => {
  let w: World;
  let guest: RealGuest;
  let before: HostSnapshot;

  beforeAll(async () => {
    before = await hostSnapshot();
    w = await createWorld({ uplink: 'dhcp', dns: true });
    await startDhcp(w, `${w.stateDir}/leases`, w.cleanup);
    const real = await unpackRealRoot(w.base, 'smoke', 'bookworm', w.cleanup);
    await setUnits(real.root, 'enable', ['systemd-networkd']);
    guest = await bootRealGuest(w, real, w.name('rh'), w.cleanup);
  }, 600_000);
  afterAll(async () => w?.dispose());

  test('a genuine Debian 12 with its own resolved, uid 1000 and an empty machine id', () => {
    expect(existsSync(realRootTarball('bookworm'))).toBe(true);
    expect(guest.real.user).toMatchObject({ name: 'desk', uid: 1000 });
    expect(guest.boot.state).toBe('running');
  });

  test("networkd leases host0 from the world's DHCP, and the guest resolves through its resolved", async () => {
    const address = await waitFor('a lease on host0', () => guest.host0Address(), { timeoutMs: 20_000, intervalMs: 200 });
    const last = Number(address.split('.')[3]);
    expect(last).toBeGreaterThanOrEqual(Number(DHCP_RANGE.first.split('.')[3]));
    expect(last).toBeLessThanOrEqual(Number(DHCP_RANGE.last.split('.')[3]));
    await waitFor(
      'getent in the guest',
      async () => (await guest.exec(['getent', 'hosts', 'example.test'])).stdout.includes('203.0.113.10'),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect((await guest.exec(['cat', '/run/systemd/resolve/resolv.conf'])).stdout).toContain('nameserver 203.0.113.53');
  });

  test('a real login makes /run/user/1000 through logind', async () => {
    const login = await loginSession(guest, guest.real.user, w.cleanup);
    const ls = await guest.exec(['stat', '-c', '%U %a', '/run/user/1000']);
    expect(ls.stdout.trim()).toBe('desk 700');
    await login.stop();
  });

  test('a reboot boots the same files again', async () => {
    await guest.exec(['touch', '/var/tmp/survives-reboot']);
    const old = guest.boot.leaderPid;
    await guest.reboot();
    expect(guest.boot.leaderPid).not.toBe(old);
    expect((await guest.exec(['test', '-e', '/var/tmp/survives-reboot'])).exitCode).toBe(0);
  }, 120_000);

  test('dispose leaves the host as it was', async () => {
    await w.dispose();
    const diff = diffSnapshots(before, await hostSnapshot()).filter((l) => l.includes(w.id));
    expect(diff).toEqual([]);
  });
});
