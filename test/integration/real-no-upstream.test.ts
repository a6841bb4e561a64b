/**
 * A genuine Debian 12 guest whose systemd-resolved has no upstream server (networkd disabled,
 * as debootstrap leaves it): 127.0.0.53 answers every query with REFUSED. ctr-doctor names the
 * missing upstream, from resolved's own list, and offers to let networkd take the uplink.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootRealGuest, startDhcp, type RealGuest } from '../harness/real-guest.js';
import { realRootSkipReason, unpackRealRoot } from '../harness/real-root.js';
import { diagnose, scenarioArgs } from '../harness/real-scenario.js';
import { describeFeature } from '../harness/skip.js';
import { waitFor } from '../harness/proc.js';
import { createWorld, type World } from '../harness/world.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING real no-upstream tests: ${reason}`);
const SCENARIO = 'no-upstream';

describeFeature('nspawn').skipIf(reason !== null)('Debian 12 guest whose resolved has no upstream', () => {
  let w: World;
  let guest: RealGuest;
  const args = (): string[] => scenarioArgs(w, `nspawn:${guest.machine}`);

  beforeAll(async () => {
    w = await createWorld({ uplink: 'dhcp', dns: true });
    await startDhcp(w, `${w.stateDir}/leases`, w.cleanup);
    const real = await unpackRealRoot(w.base, 'bare', 'bookworm', w.cleanup);
    guest = await bootRealGuest(w, real, w.name('nu'), w.cleanup);
    await waitFor(
      'resolved to run',
      async () => (await guest.exec(['systemctl', 'is-active', 'systemd-resolved'])).stdout.trim() === 'active',
      { timeoutMs: 20_000 },
    );
  }, 600_000);
  afterAll(async () => w?.dispose());

  test('REFUSED is explained by the missing upstream, and the fix is offered', async () => {
    expect((await guest.exec(['getent', 'hosts', 'example.test'])).exitCode).toBe(2);
    const d = await diagnose(w, SCENARIO, 'check, as booted', args());
    const stub = d.by('dns.stub');
    const noUpstream = stub.findings.find((f) => f.code === 'resolved-no-upstream');
    expect(noUpstream?.message, JSON.stringify(stub.findings)).toContain('No DNS servers known');
    expect(noUpstream?.severity).toBe('fail');
    // The REFUSED answer itself is not blamed on "this client".
    expect(JSON.stringify(d.by('dns.resolve').findings)).not.toContain('does not resolve for this client');
    expect(d.codes('dns.resolve')[0]).toBe('stub-no-upstream');
    const fix = stub.fixes.find((f) => f.id === 'dns.enable-guest-networkd');
    expect(fix?.safety).toBe('unsafe');
  });

  test('fix --yes --unsafe: networkd leases host0 and resolved answers', async () => {
    const d = await diagnose(w, SCENARIO, 'fix --yes --unsafe', args(), ['--yes', '--unsafe']);
    expect(d.text.stdout).toMatch(/FIXED\s+dns\.enable-guest-networkd/);
    await waitFor('getent in the guest', async () => (await guest.exec(['getent', 'hosts', 'example.test'])).exitCode === 0, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    expect(d.by('dns.stub').status).toBe('pass');
    expect(d.by('dns.resolve').status).toBe('pass');
  });
});
