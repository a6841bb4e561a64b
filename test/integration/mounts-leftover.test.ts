/**
 * mounts.leftover against real mounts: a chroot whose path has a space, with proc,
 * rbinds of /sys and /dev left behind, plus an rbind still sharing propagation with
 * a "host" tree of our own; a process keeping a mount busy; the unmount plan applied
 * by the letter (and by `ctr-doctor fix --yes`), leaving the host's mounts unchanged.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Fix, Report, UmountStep } from '../../src/core/types.js';
import { applyFix, fixCommandAvailable } from '../harness/apply-plan.js';
import { mountChrootApi } from '../harness/chroot-guest.js';
import { must, run, spawnDaemon } from '../harness/proc.js';
import { umountTree } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import { hostOwnMounts } from '../harness/host-own-mounts.js';

/** Mount points at or below `dir`, from the live mount table (kernel escapes decoded). */
function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** A tmpfs tree standing in for the host's /dev (with pts and shm below it), made shared. */
async function sharedTree(w: World, name: string): Promise<string> {
  const top = join(w.base, name);
  mkdirSync(top, { recursive: true });
  await must(['mount', '-t', 'tmpfs', name, top]);
  w.cleanup.defer(`umount ${top}`, () => umountTree(top));
  for (const sub of ['pts', 'shm']) {
    mkdirSync(join(top, sub));
    await must(['mount', '-t', 'tmpfs', `${name}-${sub}`, join(top, sub)]);
  }
  await must(['mount', '--make-rshared', top]);
  return top;
}

/** A chroot left behind: proc, rslave rbinds of /sys and /dev, and an rbind of `shared` that stays shared. */
async function leftoverChroot(w: World, name: string, shared: string): Promise<string> {
  const g = await w.guestRoot(name);
  await mountChrootApi(g.root, w.cleanup);
  const at = join(g.root, 'srv/hostdev');
  mkdirSync(at, { recursive: true });
  await must(['mount', '--rbind', shared, at]);
  w.cleanup.defer(`umount ${at}`, () => umountTree(at));
  return g.root;
}

async function diagnose(w: World, args: string[]): Promise<Report> {
  const r = await runTool([...args, '--json'], { netns: w.net.guestNsPath });
  if (r.json === undefined) throw new Error(`ctr-doctor ${args.join(' ')} (rc ${r.exitCode}) printed no JSON: ${r.stderr}${r.stdout}`);
  await validateReport(r.json);
  return r.json as Report;
}

const result = (rep: Report, id: string) => rep.results.find((x) => x.id === id)!;

describeIntegration('mounts.leftover on real mounts', () => {
  let w: World;
  let before: string[];
  let shared: string;
  beforeAll(async () => {
    w = await createWorld();
    before = hostOwnMounts();
    shared = await sharedTree(w, 'fake host dev');
  });
  afterAll(async () => w?.dispose());

  test('control: without --make-rslave, umount -R of a shared rbind unmounts the host side too', async () => {
    const other = await sharedTree(w, 'control host dev');
    const at = join(w.base, 'control guest dev');
    mkdirSync(at);
    await must(['mount', '--rbind', other, at]);
    await must(['umount', '-R', at]);
    // The unmount of the guest's pts and shm propagated to their peers on the "host".
    expect(mountsBelow(other)).toEqual([other]);
  });

  test('finds the leftover rbinds below a chroot path with a space, names a busy mount, and unmounts the rest safely', async () => {
    const root = await leftoverChroot(w, 'left over', shared);
    expect(root).toContain(' ');
    const sharedBefore = mountsBelow(shared);

    // A shell that cd'ed into the chroot's /dev/shm keeps it busy.
    const holder = spawnDaemon('busy sleep', ['sleep', '1000'], w.cleanup, { cwd: join(root, 'dev/shm') });
    const busyRun = await run(['umount', join(root, 'dev/shm')]);
    expect(busyRun.stderr).toContain('target is busy');

    const rep = await diagnose(w, ['check', `chroot:${root}`, '--only', 'mounts.leftover']);
    const res = result(rep, 'mounts.leftover');
    expect(res.status).toBe('warn');
    const left = res.findings.find((f) => f.code === 'leftover-mounts');
    expect(left?.evidence.root).toBe(root);
    const points = (left?.evidence.mounts as { mountPoint: string }[]).map((m) => m.mountPoint);
    for (const p of ['proc', 'sys', 'dev', 'dev/shm', 'srv/hostdev', 'srv/hostdev/pts']) expect(points).toContain(join(root, p));
    const sharedFinding = res.findings.find((f) => f.code === 'leftover-mounts-shared');
    expect(sharedFinding?.message).toContain(join(root, 'srv/hostdev'));
    expect(sharedFinding?.message).toContain(join(shared, 'pts'));
    const busy = res.findings.find((f) => f.code === 'leftover-mount-busy');
    expect(busy?.evidence.pids).toContain(holder.pid);
    expect(busy?.message).toContain(`${holder.pid} (sleep`);
    expect(res.fixes.map((f) => [f.id, f.safety])).toEqual([
      ['mounts.unmount-leftovers', 'safe'],
      ['mounts.stop-holders', 'manual'],
      ['mounts.lazy-unmount', 'unsafe'],
    ]);
    const safe = res.fixes[0] as Fix;
    const steps = safe.steps as UmountStep[];
    expect(steps.every((s) => s.kind === 'umount' && s.makeRslave)).toBe(true);
    expect(steps.map((s) => s.path)).not.toContain(join(root, 'dev'));
    // Deepest first.
    const depths = steps.map((s) => s.path.split('/').length);
    expect([...depths].sort((a, b) => b - a)).toEqual(depths);

    await applyFix(safe, root);
    expect(mountsBelow(shared)).toEqual(sharedBefore);
    expect(mountsBelow(join(root, 'srv/hostdev'))).toEqual([]);

    // With the holder gone, the rest goes too.
    await holder.stop();
    const again = result(await diagnose(w, ['check', `chroot:${root}`, '--only', 'mounts.leftover']), 'mounts.leftover');
    // (An info finding may note processes whose open files cannot be read, such as a protected PID 1.)
    expect(again.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual(['leftover-mounts']);
    await applyFix(again.fixes[0]!, root);
    expect(mountsBelow(root)).toEqual([root]);
    const after = result(await diagnose(w, ['check', `chroot:${root}`, '--only', 'mounts.leftover']), 'mounts.leftover');
    expect(after.status).toBe('pass');

    expect(mountsBelow(shared)).toEqual(sharedBefore);
    expect(hostOwnMounts()).toEqual(before);
  });

  test('host-wide (no guest chosen): the leftover root is among the candidates; a running chroot is not leftover', async () => {
    const root = await leftoverChroot(w, 'host wide', shared);
    const busy = await w.guestRoot('running one');
    await mountChrootApi(busy.root, w.cleanup);
    const p = spawnDaemon('chrooted sleep', ['chroot', busy.root, 'sleep', '1000'], w.cleanup);
    await new Promise((r) => setTimeout(r, 300));
    const rep = await diagnose(w, ['check', 'self', '--only', 'mounts']);
    const res = result(rep, 'mounts.leftover');
    const roots = res.findings.filter((f) => f.code === 'leftover-mounts').map((f) => f.evidence.root);
    expect(roots).toContain(root);
    expect(roots).not.toContain(busy.root);
    expect(res.findings.some((f) => f.code === 'mounts-in-use' && f.evidence.root === busy.root)).toBe(true);
    await p.stop();
  });

  test("ctr-doctor fix --yes unmounts a leftover chroot and leaves the host's mounts as they were", async () => {
    if (!(await fixCommandAvailable())) {
      console.warn('SKIPPING fix --yes test: the `fix` command (src/fixes/engine.ts) is not built yet');
      return;
    }
    const root = await leftoverChroot(w, 'fix yes', shared);
    const sharedBefore = mountsBelow(shared);
    const r = await runTool(['fix', `chroot:${root}`, '--only', 'mounts.leftover', '--yes', '--json'], { netns: w.net.guestNsPath });
    // `fix --json` writes {before, plan, applied, after}: the two reports follow the report schema.
    const out = r.json as { before: unknown; after: unknown };
    await validateReport(out.before);
    await validateReport(out.after);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(mountsBelow(root)).toEqual([root]);
    expect(mountsBelow(shared)).toEqual(sharedBefore);
    expect(hostOwnMounts()).toEqual(before);
  });
});
