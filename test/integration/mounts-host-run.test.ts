/**
 * mounts.host-run against a real rbind of the host's /run into a chroot: detected by
 * device and root, the live fix (make-rslave + umount, tmpfs, private /run/user/UID)
 * applied by the letter, and the host's own mounts unchanged afterwards.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Report } from '../../src/core/types.js';
import { applyFix, fixCommandAvailable, validateFixOutput } from '../harness/apply-plan.js';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { hostOwnMounts } from '../harness/host-own-mounts.js';
import { run } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

describeIntegration('mounts.host-run with a real /run rbind', () => {
  let w: World;
  let before: string[];
  beforeAll(async () => {
    w = await createWorld();
    before = hostOwnMounts();
  });
  afterAll(async () => w?.dispose());

  const check = async (target: string): Promise<Report['results'][number]> => {
    const r = await runTool(['check', target, '--only', 'mounts.host-run', '--json'], { netns: w.net.guestNsPath });
    if (r.json === undefined) throw new Error(`no JSON (rc ${r.exitCode}): ${r.stderr}`);
    await validateReport(r.json);
    return (r.json as Report).results[0]!;
  };
  const fsTypeAt = (p: string): string | undefined =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4]?.replace(/\\040/g, ' ') === p)
      .map((f) => f[f.indexOf('-') + 1])
      .pop();

  test("an rbind of /run is the host's /run: poweroff warning; unsafe live fix while a process runs", async () => {
    const g = await w.guestRoot('run bound');
    await mountChrootApi(g.root, w.cleanup, { run: true });
    const p = await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
    const res = await check(`chroot:${g.root}`);
    expect(res.status).toBe('fail');
    expect(res.findings.map((f) => f.code)).toEqual(['host-run-mounted']);
    expect(res.findings[0]?.message).toContain('poweroff');
    expect(res.fixes.map((f) => [f.id, f.safety])).toEqual([
      ['mounts.private-run', 'unsafe'],
      ['mounts.private-run-setup', 'manual'],
    ]);
    await p.stop();
  });

  test('the live fix, applied step by step, gives the guest its own /run and leaves the host as it was', async () => {
    const g = await w.guestRoot('run fixed');
    await mountChrootApi(g.root, w.cleanup, { run: true });
    const res = await check(`chroot:${g.root}`);
    const fix = res.fixes.find((f) => f.id === 'mounts.private-run');
    expect(fix?.safety).toBe('safe');
    expect(fix?.steps[0]).toMatchObject({ kind: 'umount', path: join(g.root, 'run'), recursive: true, makeRslave: true });
    await applyFix(fix!, g.root);
    expect(fsTypeAt(join(g.root, 'run'))).toBe('tmpfs');
    expect(fsTypeAt(join(g.root, 'run/user/1000'))).toBe('tmpfs');
    const owner = await run(['stat', '-c', '%u %a', join(g.root, 'run/user/1000')]);
    expect(owner.stdout.trim()).toBe('1000 700');
    expect((await check(`chroot:${g.root}`)).status).toBe('pass');
    expect(hostOwnMounts()).toEqual(before);
  });

  test('ctr-doctor fix --yes replaces the /run rbind', async () => {
    if (!(await fixCommandAvailable())) {
      console.warn('SKIPPING fix --yes test: the `fix` command (src/fixes/engine.ts) is not built yet');
      return;
    }
    const g = await w.guestRoot('run fix yes');
    await mountChrootApi(g.root, w.cleanup, { run: true });
    const r = await runTool(['fix', `chroot:${g.root}`, '--only', 'mounts.host-run', '--yes', '--json'], { netns: w.net.guestNsPath });
    await validateFixOutput(r.json, validateReport);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fsTypeAt(join(g.root, 'run'))).toBe('tmpfs');
    expect(hostOwnMounts()).toEqual(before);
  });
});
