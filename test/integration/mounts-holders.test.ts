/**
 * mounts.leftover names who keeps a leftover mount busy by MOUNT ID (issue 14, busy hosts): a real
 * process with an open file on one mount and another whose cwd is on a second are found by the
 * host's holder scan (a shared scan off the main thread, on a budget of its own) and named with the
 * ids /proc/self/mountinfo gives those mounts. With a tiny budget (CTR_DOCTOR_HOLDERS_BUDGET_MS) the
 * check says how far the scan got (holders-unknown), never `error`; `fix` then still names the
 * holder when umount answers "target is busy". Mounts live below the world's temp dir only.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Report } from '../../src/core/types.js';
import { mountChrootApi } from '../harness/chroot-guest.js';
import { must, spawnDaemon, type Daemon } from '../harness/proc.js';
import { umountTree } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

/** The id /proc/self/mountinfo gives the newest mount at `point` (kernel escapes decoded). */
function mountIdAt(point: string): number {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
  const ids = lines
    .map((l) => l.split(' '))
    .filter((f) => f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === point)
    .map((f) => Number(f[0]));
  if (ids.length === 0) throw new Error(`no mount at ${point}`);
  return Math.max(...ids);
}

/** A chroot root left behind with its API mounts, a tmpfs at /run and one at /mnt/data. */
async function leftoverRoot(w: World, name: string): Promise<{ root: string; run: string; data: string }> {
  const g = await w.guestRoot(name);
  await mountChrootApi(g.root, w.cleanup);
  const run = join(g.root, 'run');
  const data = join(g.root, 'mnt/data');
  for (const [p, label] of [
    [run, 'ctd-holders-run'],
    [data, 'ctd-holders-data'],
  ] as const) {
    mkdirSync(p, { recursive: true });
    await must(['mount', '-t', 'tmpfs', label, p]);
    w.cleanup.defer(`umount ${p}`, () => umountTree(p));
  }
  return { root: g.root, run, data };
}

type Holder = { pid: number; how: string; mountId: number; mountPoint: string };

async function leftoverResult(w: World, root: string, env: Record<string, string> = {}) {
  const r = await runTool(['check', `chroot:${root}`, '--only', 'mounts.leftover', '--json'], { netns: w.net.guestNsPath, env });
  if (r.json === undefined) throw new Error(`no JSON (rc ${r.exitCode}): ${r.stderr}${r.stdout}`);
  await validateReport(r.json);
  const rep = r.json as Report;
  return { rep, res: rep.results.find((x) => x.id === 'mounts.leftover')! };
}

describeIntegration('mounts.leftover: holders by mount id, on a budget of their own', () => {
  let w: World;
  let fdHolder: Daemon;
  let cwdHolder: Daemon;
  let at: { root: string; run: string; data: string };
  beforeAll(async () => {
    w = await createWorld();
    at = await leftoverRoot(w, 'held');
    const file = join(at.data, 'open-file');
    writeFileSync(file, 'x');
    mkdirSync(join(at.run, 'work'));
    // One holds a file on /mnt/data open (fd 3, inherited by sleep); the other sits in /run/work.
    fdHolder = spawnDaemon('fd holder', ['/bin/sh', '-c', 'exec 3<"$1"; exec sleep 1000', 'sh', file], w.cleanup);
    cwdHolder = spawnDaemon('cwd holder', ['sleep', '1000'], w.cleanup, { cwd: join(at.run, 'work') });
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => w?.dispose());

  test('a real open file and a real cwd on two leftover mounts are named, each by its mount id', async () => {
    // A budget no loaded test machine runs out of: this test is about what is found, not how fast.
    const { rep, res } = await leftoverResult(w, at.root, { CTR_DOCTOR_HOLDERS_BUDGET_MS: '20000' });
    expect(res.status).toBe('warn');
    const holders = res.findings.filter((f) => f.code === 'leftover-mount-busy').flatMap((f) => f.evidence.holders as Holder[]);
    expect(holders).toContainEqual(
      expect.objectContaining({ pid: fdHolder.pid, how: 'fd', mountId: mountIdAt(at.data), mountPoint: at.data }),
    );
    expect(holders).toContainEqual(
      expect.objectContaining({ pid: cwdHolder.pid, how: 'cwd', mountId: mountIdAt(at.run), mountPoint: at.run }),
    );
    expect(res.findings.map((f) => f.code)).not.toContain('holders-unknown');
    // The busy trees stay out of the safe plan.
    const safe = res.fixes.find((f) => f.id === 'mounts.unmount-leftovers');
    expect(safe?.steps.map((s) => (s as { path: string }).path)).not.toContain(at.data);
    // The report shows the scan, finished within its budget.
    expect(rep.hostScans).toContainEqual(expect.objectContaining({ name: 'mount holders', complete: true, budgetMs: 20000 }));
    expect(rep.hostScans).toContainEqual(expect.objectContaining({ name: 'processes', complete: true }));
    // One holder scan: the one opening the target started (nobody runs in the root) is the one the check asked for.
    expect(rep.hostScans?.filter((s) => s.name === 'mount holders')).toHaveLength(1);
  });

  test('without mounts.leftover among the checks, opening the root starts no holder scan', async () => {
    const r = await runTool(['check', `chroot:${at.root}`, '--only', 'fs.api', '--json'], { netns: w.net.guestNsPath });
    const rep = r.json as Report;
    expect(rep.results.map((x) => x.id)).toEqual(['fs.api']);
    expect(rep.hostScans?.map((s) => s.name)).not.toContain('mount holders');
  });

  test('a tiny holder budget: the check says how far the scan got (holders-unknown), never error', async () => {
    const { rep, res } = await leftoverResult(w, at.root, { CTR_DOCTOR_HOLDERS_BUDGET_MS: '0.001' });
    expect(res.status).toBe('warn');
    const unknown = res.findings.find((f) => f.code === 'holders-unknown');
    expect(unknown?.message).toMatch(
      /^who holds the mounts below .* is known only in part: the host scan read \d+ of \d+ processes within its budget of 0\.001 ms/,
    );
    expect(unknown?.evidence.read as number).toBeLessThan(unknown?.evidence.total as number);
    expect(rep.hostScans).toContainEqual(expect.objectContaining({ name: 'mount holders', complete: false, budgetMs: 0.001 }));
  });

  test('fix after a partial diagnosis: umount answers "target is busy" and the holder is named then', async () => {
    const fix = async () => {
      const r = await runTool(['fix', `chroot:${at.root}`, '--only', 'mounts.leftover', '--yes', '--json'], {
        netns: w.net.guestNsPath,
        env: { CTR_DOCTOR_HOLDERS_BUDGET_MS: '0.001' },
      });
      type Applied = { applied: { steps: { status: string; message: string }[] }[] };
      return { r, failed: (r.json as Applied).applied.flatMap((a) => a.steps).filter((st) => st.status === 'failed') };
    };
    // The diagnosis named nobody, so the busy mounts were in the safe plan: the first umount failed and said who.
    const first = await fix();
    expect(first.r.exitCode).not.toBe(0);
    expect(first.failed.map((st) => st.message)).toEqual([`umount: ${at.data}: target is busy; held by ${fdHolder.pid} (sleep)`]);
    // With that one gone, the next busy mount is named by its holder's cwd.
    await fdHolder.stop();
    const second = await fix();
    expect(second.failed.map((st) => st.message)).toEqual([`umount: ${at.run}: target is busy; held by ${cwdHolder.pid} (sleep)`]);
  });
});
