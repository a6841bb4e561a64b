/**
 * A genuine Debian 12 root entered with plain chroot, never booted: its /etc/resolv.conf is
 * systemd-resolved's link into /run/systemd/resolve/, which nothing fills. ctr-doctor names
 * the dangling resolved link, and offers no unverified nameserver as `safe`.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { realRootSkipReason, unpackRealRoot, type RealRoot } from '../harness/real-root.js';
import { diagnose, scenarioArgs } from '../harness/real-scenario.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING real chroot tests: ${reason}`);
const SCENARIO = 'chroot';

describeIntegration.skipIf(reason !== null)('a genuine Debian 12 root under plain chroot', () => {
  let w: World;
  let real: RealRoot;

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    real = await unpackRealRoot(w.base, 'plain', 'bookworm', w.cleanup);
    await startChrootProcess(w, real.root, {}, w.cleanup);
  }, 600_000);
  afterAll(async () => w?.dispose());

  test('the dangling link into /run/systemd/resolve is named, with who fills it', async () => {
    const d = await diagnose(w, SCENARIO, 'check', scenarioArgs(w, `chroot:${real.root}`));
    const conf = d.by('dns.resolv-conf');
    expect(conf.status).toBe('fail');
    const dangling = conf.findings.find((f) => f.code === 'resolv-conf-runtime-link-dangling');
    expect(dangling?.message).toContain('/run/systemd/resolve/stub-resolv.conf');
    expect(dangling?.message).toContain('systemd-resolved');
    // Whatever nameserver is proposed was asked from the guest's namespace first.
    for (const f of conf.fixes.filter((x) => x.id === 'dns.write-resolv-conf')) expect(f.safety).toBe('manual');
  });
});
