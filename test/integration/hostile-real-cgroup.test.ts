/**
 * The hostile-guest suite on a booted genuine Debian 12 (issue 13): a guest command ctr-doctor runs
 * for an nspawn machine is a member of the machine's cgroups (audit C2): it is under the guest's
 * limits and is killed with it, and it cannot use the cgroup it came from (ours) to outlive it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootRealGuest, type RealGuest } from '../harness/real-guest.js';
import { realRootSkipReason, unpackRealRoot } from '../harness/real-root.js';
import { describeFeature } from '../harness/skip.js';
import { waitFor } from '../harness/proc.js';
import { createWorld, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import type { Target } from '../../src/core/target.js';

const reason = realRootSkipReason('bookworm');
if (reason) console.warn(`SKIPPING hostile cgroup tests: ${reason}`);

/** The unified-hierarchy line (`0::/…`) of a /proc/PID/cgroup text. */
const unified = (text: string): string => text.split('\n').find((l) => l.startsWith('0::')) ?? '';

describeFeature('nspawn').skipIf(reason !== null)("hostile guests on a booted Debian 12: guest commands in the guest's cgroups", () => {
  let w: World;
  let guest: RealGuest;
  let target: Target;

  beforeAll(async () => {
    w = await createWorld();
    const real = await unpackRealRoot(w.base, 'cg', 'bookworm', w.cleanup);
    guest = await bootRealGuest(w, real, w.name('cg'), w.cleanup);
    target = (await openTarget(`nspawn:${guest.machine}`, { host: new HostContext({ invokingEnv: {} }) })).target;
  }, 600_000);
  afterAll(async () => w?.dispose());

  test("C2: a guest command runs in the cgroups of the machine's leader, never in ours", async () => {
    const leader = readFileSync(`/proc/${guest.boot.leaderPid}/cgroup`, 'utf8');
    for (const user of [undefined, { uid: 1000, gid: 1000, groups: [] }]) {
      // Seen from inside (the guest's cgroup namespace): the same cgroups as the guest's PID 1, nothing above its root.
      const r = await target.exec(['sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'], { user, timeoutMs: 15_000 });
      expect(r.exitCode, r.stderr + (r.spawnError ?? '')).toBe(0);
      const [self, init] = r.stdout.split('---\n');
      expect(self, `as ${user ? 'the user' : 'root'}`).not.toContain('/..');
      expect(unified(self!)).toBe(unified(init!));
    }
    // Seen from the host: a running guest command is in the leader's unified cgroup, not in the tool's.
    const running = target.exec(['sleep', '5'], { timeoutMs: 15_000 });
    const cgroupOf = (pid: number): string => {
      try {
        return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      } catch {
        return '';
      }
    };
    const sleeper = await waitFor(
      'the guest sleep',
      () => {
        const procs = readFileSync(`/sys/fs/cgroup/unified${unified(leader).slice(3)}/cgroup.procs`, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number);
        return procs.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00005\u0000');
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    expect(unified(cgroupOf(sleeper))).toBe(unified(leader));
    expect(unified(cgroupOf(sleeper))).not.toBe(unified(readFileSync('/proc/self/cgroup', 'utf8')));
    await running;
  });
});
