/**
 * The seed's Juno story on two genuine Debian 12 systems sharing one network namespace, each
 * with its own systemd-resolved. The one booted later turns its stub off (the other's holds
 * 127.0.0.53) and its glibc asks its own resolved through nss-resolve, which has no upstream:
 * `getent hosts` fails there. Diagnosed, fixed by `fix`, still resolving after a reboot, and
 * the other system is left alone.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootRealGuest, setUnits, startDhcp, type RealGuest } from '../harness/real-guest.js';
import { realRootSkipReason, unpackRealRoot } from '../harness/real-root.js';
import { diagnose, scenarioArgs } from '../harness/real-scenario.js';
import { describeFeature } from '../harness/skip.js';
import { waitFor } from '../harness/proc.js';
import { createWorld, type World } from '../harness/world.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING real Juno tests: ${reason}`);
const SCENARIO = 'juno';

describeFeature('nspawn').skipIf(reason !== null)('Juno: two Debian 12 systems with resolved in one network namespace', () => {
  let w: World;
  /** The first system: networkd leases host0, its resolved holds 127.0.0.53 (the seed's host). */
  let first: RealGuest;
  /** The later guest, whose DNS breaks. */
  let later: RealGuest;
  const args = (): string[] => scenarioArgs(w, `nspawn:${later.machine}`);
  const getent = async (g: RealGuest): Promise<number> => (await g.exec(['getent', 'hosts', 'example.test'])).exitCode;

  beforeAll(async () => {
    w = await createWorld({ uplink: 'dhcp', dns: true });
    await startDhcp(w, `${w.stateDir}/leases`, w.cleanup);
    const [a, b] = await Promise.all([
      unpackRealRoot(w.base, 'juno-first', 'bookworm', w.cleanup),
      unpackRealRoot(w.base, 'juno-later', 'bookworm', w.cleanup),
    ]);
    await setUnits(a.root, 'enable', ['systemd-networkd']);
    first = await bootRealGuest(w, a, w.name('ja'), w.cleanup);
    await waitFor('the first system resolves', async () => (await getent(first)) === 0, { timeoutMs: 30_000, intervalMs: 250 });
    later = await bootRealGuest(w, b, w.name('jb'), w.cleanup);
    await waitFor(
      "the later guest's resolved gives up its stub",
      async () =>
        /Turning off local DNS stub support/.test((await later.exec(['journalctl', '-b', '-u', 'systemd-resolved', '--no-pager'])).stdout),
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  }, 600_000);
  afterAll(async () => w?.dispose());

  test('as booted: the later guest cannot resolve, and ctr-doctor says why', async () => {
    expect(await getent(later)).toBe(2);
    expect(await getent(first)).toBe(0);
    const d = await diagnose(w, SCENARIO, 'check the later guest, as booted', args());
    const dns = ['dns.resolv-conf', 'dns.resolve', 'dns.stub'].map((id) => d.by(id));
    expect(
      dns.some((r) => r.status === 'fail'),
      JSON.stringify(dns.map((r) => [r.id, r.status, r.summary])),
    ).toBe(true);
    expect(d.codes('dns.resolve')).toContain('glibc-fails');
    const stub = d.by('dns.stub');
    expect(stub.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining(['stub-owned-elsewhere', 'resolved-stub-off', 'resolved-no-upstream']),
    );
    expect(stub.fixes.find((f) => f.id === 'dns.disable-guest-resolved')?.safety).toBe('safe');
  });

  test('fix --yes: the later guest resolves, the first system is untouched', async () => {
    const before = (await first.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'systemd-resolved'])).stdout.trim();
    const d = await diagnose(w, SCENARIO, 'fix --yes the later guest', args(), ['--yes']);
    // The fix worked, but the guest has no desktop session (x11.*, audio.pulse still fail): DESIGN's exit 1 for what still fails.
    expect(d.text.exitCode, d.text.stdout + d.text.stderr).toBe(1);
    expect(d.text.stdout).not.toMatch(/STILL FAILING|FAILED /);
    expect(d.text.stdout).toMatch(/FIXED\s+dns\.disable-guest-resolved/);
    expect(await getent(later)).toBe(0);
    expect(await getent(first)).toBe(0);
    expect((await first.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'systemd-resolved'])).stdout.trim()).toBe(before);
    expect(['dns.resolv-conf', 'dns.resolve', 'dns.stub'].map((id) => d.by(id).status)).toEqual(['pass', 'pass', 'pass']);
  });

  test('the later guest reboots and still resolves; nothing dangles', async () => {
    await later.reboot();
    await waitFor('getent after the reboot', async () => (await getent(later)) === 0, { timeoutMs: 30_000, intervalMs: 250 });
    expect(await getent(first)).toBe(0);
    const d = await diagnose(w, SCENARIO, 'check the later guest, after a reboot', args());
    expect(['dns.resolv-conf', 'dns.resolve', 'dns.stub'].map((id) => d.by(id).status)).toEqual(['pass', 'pass', 'pass']);
  });
});
