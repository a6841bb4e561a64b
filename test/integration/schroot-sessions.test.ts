/**
 * schroot.sessions (and the schroot side of mounts.*) against real sessions: an active
 * one with a process, a stale one after a simulated reboot, the recover-then-end plan
 * applied by the letter and by `fix --yes`, and a profile fstab that binds the host's /run (seen by
 * mounts.host-run in the session and by schroot.config in the profile).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Report } from '../../src/core/types.js';
import { applyFix, validateFixOutput } from '../harness/apply-plan.js';
import { hostOwnMounts } from '../harness/host-own-mounts.js';
import { beginSession, createSchroot, sessionListed, simulateReboot, startSessionProcess } from '../harness/schroot-guest.js';
import { describeFeature } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

describeFeature('schroot')('schroot sessions, active and stale', () => {
  let w: World;
  let before: string[];
  let name: string;
  beforeAll(async () => {
    w = await createWorld();
    before = hostOwnMounts();
    const g = await w.guestRoot('schroot sessions');
    name = w.name('ss');
    createSchroot(w.net, g.root, name, w.cleanup);
  });
  afterAll(async () => w?.dispose());

  const diagnose = async (args: string[]): Promise<Report> => {
    const r = await runTool([...args, '--json'], { netns: w.net.guestNsPath });
    if (r.json === undefined) throw new Error(`no JSON (rc ${r.exitCode}): ${r.stderr}`);
    await validateReport(r.json);
    return r.json as Report;
  };
  const result = (rep: Report, id: string) => rep.results.find((x) => x.id === id)!;
  const about = (rep: Report, id: string, session: string) => result(rep, id).findings.filter((f) => f.evidence.session === session);

  test('an active session passes; a rebooted one is stale, and recover + end removes it', async () => {
    const active = await beginSession(name, w.name('act'));
    const proc = await startSessionProcess(w.net, active, w.cleanup);
    const own = await diagnose(['check', `session:${active}`, '--only', 'schroot,mounts.leftover']);
    expect(result(own, 'schroot.sessions').status).toBe('pass');
    expect(about(own, 'schroot.sessions', active).map((f) => f.code)).toEqual(['session-active']);
    expect(about(own, 'schroot.sessions', active)[0]?.evidence.pids).toContain(proc.pid);
    expect(result(own, 'schroot.config').status).toBe('pass');
    // The session's own mounts are neither leftover nor someone else's.
    expect(result(own, 'mounts.leftover').status).toBe('pass');

    const stale = await beginSession(name, w.name('stale'));
    await simulateReboot(stale);
    expect(await sessionListed(stale)).toBe(true);

    const all = await diagnose(['check', 'self', '--only', 'schroot.sessions']);
    const res = result(all, 'schroot.sessions');
    expect(res.status).toBe('fail');
    const staleFinding = about(all, 'schroot.sessions', stale);
    expect(staleFinding.map((f) => f.code)).toEqual(['session-stale']);
    expect(staleFinding[0]?.evidence.listedBySchroot).toBe(true);
    const fix = res.fixes.find((f) => f.id === 'schroot.end-stale-session' && f.title.includes(stale));
    expect(fix?.safety).toBe('safe');
    expect(fix?.steps.map((s) => (s.kind === 'exec' ? s.argv.join(' ') : s.kind))).toEqual([
      `schroot --recover-session -c session:${stale}`,
      `schroot --end-session -c session:${stale}`,
    ]);

    await applyFix(fix!, '/');
    expect(await sessionListed(stale)).toBe(false);
    expect(existsSync(`/var/lib/schroot/session/${stale}`)).toBe(false);
    // Applying it again changes nothing (every step has an `unless`).
    await applyFix(fix!, '/');
    expect(await sessionListed(active)).toBe(true);
    expect(hostOwnMounts()).toEqual(before);
  });

  // schroot:NAME runs the check again on the chroot; session:ID is gone afterwards, so it runs again from the host.
  test.each([
    ['schroot:NAME', 'fixyes', (_sid: string) => `schroot:${name}`],
    ['session:ID', 'fixsid', (sid: string) => `session:${sid}`],
  ] as const)('ctr-doctor fix --yes %s ends a stale session and the check passes again', async (_form, suffix, targetOf) => {
    const stale = await beginSession(name, w.name(suffix));
    await simulateReboot(stale);
    const r = await runTool(['fix', targetOf(stale), '--only', 'schroot.sessions', '--yes', '--json'], { netns: w.net.guestNsPath });
    if (r.json === undefined) throw new Error(`fix printed no JSON (rc ${r.exitCode}): ${r.stderr.slice(-800)}`);
    await validateFixOutput(r.json, validateReport);
    expect(await sessionListed(stale)).toBe(false);
    const after = (r.json as { after: Report | null }).after;
    expect(after?.results.find((x) => x.id === 'schroot.sessions')?.status).toBe('pass');
    // The unsafe fallback stays declined, but the check it would have helped now passes: exit 0.
    expect(r.exitCode).toBe(0);
    expect(hostOwnMounts()).toEqual(before);
  });

  test("a profile fstab that binds the host's /run: found in the session and in the config, with the exact line to replace", async () => {
    const g = await w.guestRoot('schroot run');
    const runName = w.name('run');
    // A plain bind (not rbind): schroot makes only the top mount private, so an rbind would carry
    // the host's shared /run/netns into the session and its unmount back to the host.
    const c = createSchroot(w.net, g.root, runName, w.cleanup, {
      fstabLines: ['/proc /proc none rw,bind 0 0', '/run            /run            none    rw,bind         0       0'],
    });
    const sid = await beginSession(runName, w.name('run1'));
    const rep = await diagnose(['check', `session:${sid}`, '--only', 'mounts.host-run,schroot.config']);
    // schroot.config reads the same line from the profile, so it is found before any session starts too.
    const config = result(rep, 'schroot.config');
    expect(config.status).toBe('fail');
    expect(config.findings.find((f) => f.code === 'fstab-binds-host-run')?.evidence).toMatchObject({
      file: `${c.profileDir}/fstab`,
      line: 2,
      hostDir: '/run',
    });
    expect(config.fixes.find((f) => f.id === 'mounts.schroot-private-run')?.title).toContain(`${c.profileDir}/fstab, replace line 2`);
    const res = result(rep, 'mounts.host-run');
    expect(res.status).toBe('fail');
    expect(res.findings.map((f) => f.code)).toEqual(['host-run-mounted']);
    const fstabFix = res.fixes.find((f) => f.id === 'mounts.schroot-private-run');
    expect(fstabFix?.title).toContain(`${c.profileDir}/fstab, replace line 2`);
    expect(fstabFix?.steps[0]).toMatchObject({
      kind: 'manual',
      snippet: '/run            /run            none    rw,bind         0       0',
    });
    expect(res.fixes.find((f) => f.id === 'mounts.private-run')?.steps[0]).toMatchObject({
      kind: 'umount',
      path: `/run/schroot/mount/${sid}/run`,
    });
  });
});
