/**
 * Nothing is left behind. Integration files run one at a time, so when this file runs every
 * file before it has torn its worlds down: the host must look as it did before the suite
 * (the picture taken by test/harness/suite-guard.ts, the integration project's globalSetup).
 * The guard's own teardown repeats the comparison after the very last file, whatever the order.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { describeIntegration } from '../harness/skip.js';
import { judgeDiff, checkAgainst, SUITE_ENV, suiteWorldIds, type SuiteBefore } from '../harness/suite-guard.js';
import { diffSnapshots, type HostSnapshot } from '../harness/snapshot.js';

function emptySnapshot(): HostSnapshot {
  return { mounts: [], netns: [], sessions: [], schrootConfigs: [], cgroups: [], x11: [], processes: [] };
}

describeIntegration('clean state after the integration suite', () => {
  test('the guard judges a world of ours as a leftover and a foreign one as noise', () => {
    const before = emptySnapshot();
    const after = {
      ...emptySnapshot(),
      netns: ['ctd-aaaaaa-guest', 'ctd-bbbbbb-guest'],
      mounts: ['/tmp/ctrtest-aaaaaa tmpfs ctrtest_base', '/mnt/x tmpfs none'],
    };
    const diff = diffSnapshots(before, after);
    const busy = judgeDiff(diff, ['aaaaaa'], true);
    expect(busy.ours).toEqual(['+ mounts: /tmp/ctrtest-aaaaaa tmpfs ctrtest_base', '+ netns: ctd-aaaaaa-guest']);
    expect(busy.foreign).toEqual(['+ mounts: /mnt/x tmpfs none', '+ netns: ctd-bbbbbb-guest']);
    // On a quiet machine a change that names no world is ours.
    expect(judgeDiff(diff, ['aaaaaa'], false).ours).toContain('+ mounts: /mnt/x tmpfs none');
  });

  test('state podman makes for itself on its first run is not a leftover; a cgroup of ours is', () => {
    const after = {
      ...emptySnapshot(),
      cgroups: ['systemd/libpod_parent', 'unified/libpod_parent', 'unified/ctd-aaaaaa-n', 'unified/stray'],
    };
    const judged = judgeDiff(diffSnapshots(emptySnapshot(), after), ['aaaaaa'], false);
    expect(judged.ours).toEqual(['+ cgroups: unified/ctd-aaaaaa-n', '+ cgroups: unified/stray']);
    expect(judged.foreign).toEqual([
      '+ cgroups: systemd/libpod_parent (state of podman (made on its first run, kept for later ones))',
      '+ cgroups: unified/libpod_parent (state of podman (made on its first run, kept for later ones))',
    ]);
  });

  test('mounts, namespaces, schroot sessions and processes are as before the suite', async () => {
    const file = process.env[SUITE_ENV.before];
    expect(file, 'run through the integration project, whose globalSetup is test/harness/suite-guard.ts').toBeTruthy();
    const before = JSON.parse(readFileSync(file!, 'utf8')) as SuiteBefore;
    // Only this worker: the vitest processes themselves are excluded by the guard.
    const { leftovers, notes } = await checkAgainst(before, new Set([process.pid, process.ppid]));
    if (notes.length) console.warn(`[zz-clean-state] ignoring changes by other runs:\n${notes.join('\n')}`);
    console.log(`[zz-clean-state] ${suiteWorldIds().length} world(s) created by this suite were checked`);
    expect(leftovers).toEqual([]);
  });
});
